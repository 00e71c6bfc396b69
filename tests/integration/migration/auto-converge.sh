#!/bin/bash
# migration.auto-converge: the guest dirties pages faster than the bandwidth limit lets them
# go. Without auto-converge and with a time limit the migration gives up, and the source runs
# on as before; with auto-converge (the default) the vCPU is throttled (the status shows it)
# until the rest fits the downtime limit, and the migration completes to the same destination.
# Usage: auto-converge.sh KAGAMI GUEST.elf PROXY
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_migration
use_two_hosts
make_key key
# 64 MiB/s of page writes over 16 MiB, against an 8 MiB/s link: pre-copy alone never ends.
readonly bandwidth=8
guest_cmdline="wss=16M rate=64"
start_source source "$ns_a" 64M key
start_destination destination "$ns_b" "$addr_b" 64M key

log "without auto-converge, a 10 s time limit: must fail"
lines=$(log_lines destination)
migrate no-converge source --to "tcp:$addr_b:$port" --bandwidth "$bandwidth" \
  --no-auto-converge --time-limit 10
[[ $migrate_status -ne 0 ]] || fail "the migration completed without auto-converge"
[[ $migrate_status -eq 1 ]] || fail "kagami migrate exited $migrate_status, not 1"
expect_source_survived source
expect_destination_waits destination "$ns_b" "$lines"

log "with auto-converge: must complete, throttled"
run_in migrate "" "$kagami" migrate --api-socket "$work/source.sock" --to "tcp:$addr_b:$port" \
  --bandwidth "$bandwidth"
max_throttle=0
deadline=$((SECONDS + 150))
while alive migrate; do
  ((SECONDS < deadline)) || fail "the migration did not converge in 150 s"
  if json=$(migration_status "$work/source.sock" 2>/dev/null); then
    echo "$json" >>"$work/status-polls.json"
    while read -r t; do
      ((t <= max_throttle)) || max_throttle=$t
    done < <(grep -oE '"throttle[a-z_-]*":[0-9]+' <<<"$json" | cut -d: -f2)
  fi
  sleep 0.2
done
exit_status migrate 1
migrate_status=$exited
tr -d '\r' <"$work/migrate.console" | tail -n 15 | sed 's/^/  /'
((max_throttle > 0)) ||
  fail "the status never showed a throttle above 0 (the polls are in status-polls.json)"
log "the status showed the vCPUs throttled up to $max_throttle %"
cat "$work/migrate.log" >>"$work/migrate.console"
mv "$work/migrate.console" "$work/migrate.out"
expect_migrated source destination
quit_vm destination
log "PASS"
