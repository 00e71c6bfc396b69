#!/bin/bash
# migration.truncated: a link that dies after 1 MiB (migration_proxy closes both ends, in the
# middle of the first pass): kagami migrate fails, the source runs on, the destination logs the
# failed attempt, discards it and listens again; then the same source migrates to the same
# destination directly, and the guest counts on there with the same RAM.
# Usage: truncated.sh KAGAMI GUEST.elf PROXY
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
start_vms_behind_proxy --truncate-after $((1 << 20))

lines=$(log_lines destination)
migrate truncated source --to "tcp:$addr_b:$proxy_port"
[[ $migrate_status -eq 1 ]] || fail "kagami migrate exited $migrate_status over a cut link, not 1"
exit_status proxy 30
log "$(tr -d '\r' <"$work/proxy.console" | tail -n 1)"
grep -q '(truncated)' "$work/proxy.console" ||
  fail "the proxy never cut the stream: the migration ended before 1 MiB"
expect_source_survived source
expect_destination_waits destination "$ns_b" "$lines"

log "straight to the destination: must succeed"
migrate migrate source --to "tcp:$addr_b:$port"
expect_migrated source destination
quit_vm destination
log "PASS"
