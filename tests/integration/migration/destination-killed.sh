#!/bin/bash
# migration.destination-killed: the destination dies (SIGKILL) while the first pass is on the
# wire: kagami migrate fails with status 1, the source runs on (state running, the guest still
# counting with its checks ok), and a later migration of the same source to a new destination
# succeeds (dirty logging and the throttle were left in a state that allows it).
# Usage: destination-killed.sh KAGAMI GUEST.elf PROXY
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_migration
use_two_hosts
make_key key
# 4 MiB/s for 16 MiB and more: the first pass lasts seconds, time to kill the destination.
guest_cmdline="wss=16M rate=8"
start_source source "$ns_a" 64M key
start_destination doomed "$ns_b" "$addr_b" 64M key

run_in migrate "" "$kagami" migrate --api-socket "$work/source.sock" --to "tcp:$addr_b:$port" \
  --bandwidth 4
# A pass is running once the migration is active and has put bytes on the wire.
pass_running() {
  local json bytes
  json=$(migration_status "$work/source.sock" 2>/dev/null) || return 1
  [[ $json =~ \"state\":\"active\" ]] || return 1
  bytes=$(grep -oE '"total[-_]bytes":[0-9]+' <<<"$json" | head -n 1 | cut -d: -f2)
  ((${bytes:-1} > 0))
}
wait_until 60 "the migration to be active with a pass running" pass_running
log "a pass is running: $(migration_status "$work/source.sock")"
kill -9 "${pid[doomed]}"
exit_status doomed 10
exit_status migrate 60
log "kagami migrate exited $exited: $(cat "$work/migrate.console" "$work/migrate.log" |
  tr -d '\r' | tail -n 2 | tr '\n' ' ')"
[[ $exited -eq 1 ]] || fail "kagami migrate exited $exited after the destination died, not 1"
expect_source_survived source

log "a new destination: the same source must migrate"
start_destination destination "$ns_b" "$addr_b" 64M key
migrate migrate-again source --to "tcp:$addr_b:$port"
expect_migrated source destination
quit_vm destination
log "PASS"
