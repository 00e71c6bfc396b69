#!/bin/bash
# migration.corrupted: one byte of the source's stream is changed on the way, 3 MiB in (page
# data of the first pass): the destination must notice, log it, discard everything it received
# and listen again, and the source must run on; then a migration straight to the same
# destination succeeds with the same RAM on both sides. A destination that ran the corrupted
# guest would make the source exit, which fails the test.
# Usage: corrupted.sh KAGAMI GUEST.elf PROXY
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
readonly offset=$((3 * (1 << 20) + 1234))
start_vms_behind_proxy --flip-at "$offset"

lines=$(log_lines destination)
migrate corrupted source --to "tcp:$addr_b:$proxy_port"
exit_status proxy 30
log "$(tr -d '\r' <"$work/proxy.console" | tail -n 2 | tr '\n' ' ')"
grep -q 'flipped the byte' "$work/proxy.console" ||
  fail "the stream ended before offset $offset: nothing was corrupted"
alive source || fail "the source exited: the destination accepted a corrupted stream"
[[ $migrate_status -eq 1 ]] || fail "kagami migrate exited $migrate_status over a corrupted stream"
expect_source_survived source
expect_destination_waits destination "$ns_b" "$lines"

log "straight to the destination: must succeed"
migrate migrate source --to "tcp:$addr_b:$port"
expect_migrated source destination
quit_vm destination
log "PASS"
