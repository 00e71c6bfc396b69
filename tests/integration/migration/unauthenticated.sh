#!/bin/bash
# migration.unauthenticated: senders without the key get nowhere. A second source whose key
# file holds another key is refused (kagami migrate fails, that source runs on), and so is a
# client that sends 64 KiB of garbage; the destination stays alive and listening through both,
# and then the real source, with the right key, migrates to it.
# Usage: unauthenticated.sh KAGAMI GUEST.elf PROXY
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_migration
require_proxy
use_two_hosts
make_key key
make_key other-key
guest_cmdline="wss=8M rate=16"
start_source source "$ns_a" 64M key
start_source intruder "$ns_a" 64M other-key
start_destination destination "$ns_b" "$addr_b" 64M key

log "a source with another key: must be refused"
lines=$(log_lines destination)
migrate wrong-key intruder --to "tcp:$addr_b:$port"
[[ $migrate_status -eq 1 ]] ||
  fail "kagami migrate with the wrong key exited $migrate_status, not 1"
grep -qiE 'auth|refused' "$work/wrong-key.out" ||
  fail "kagami migrate did not say that the destination refused the key"
expect_source_survived intruder
expect_destination_waits destination "$ns_b" "$lines"

log "64 KiB of garbage: must be refused"
lines=$(log_lines destination)
run_in garbage "$ns_a" "$proxy" --connect "$addr_b:$port" --garbage 65536
exit_status garbage 30
[[ $exited -eq 0 ]] || fail "the garbage client failed (status $exited)"
log "$(tr -d '\r' <"$work/garbage.console")"
expect_destination_waits destination "$ns_b" "$lines"
alive source || fail "the source exited"

log "the right key: must succeed"
migrate migrate source --to "tcp:$addr_b:$port"
expect_migrated source destination
quit_vm destination
expect_guest_running intruder
quit_vm intruder
log "PASS"
