#!/bin/bash
# migration.mismatch: the destination was started with 128 MiB of RAM, the source has 64 MiB:
# the handshake refuses the migration before any RAM moves, kagami migrate fails with a message
# about the memory size, and the source runs on.
# Usage: mismatch.sh KAGAMI GUEST.elf PROXY
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_migration
use_two_hosts
make_key key
guest_cmdline="wss=8M rate=16"
start_source source "$ns_a" 64M key
start_destination destination "$ns_b" "$addr_b" 128M key
lines=$(log_lines destination)
migrate mismatch source --to "tcp:$addr_b:$port"
[[ $migrate_status -eq 1 ]] || fail "kagami migrate to a 128 MiB destination exited $migrate_status"
grep -qiE 'memory|ram' "$work/mismatch.out" ||
  fail "kagami migrate's message does not say that the memory size differs"
grep -qE '64|128|67108864|134217728' "$work/mismatch.out" ||
  fail "kagami migrate's message does not name the memory sizes"
expect_source_survived source
expect_destination_waits destination "$ns_b" "$lines"
quit_vm source
log "PASS"
