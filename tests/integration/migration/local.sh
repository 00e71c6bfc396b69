#!/bin/bash
# migration.local: the VMM is replaced on the same host: a new kagami process receives the
# guest's RAM as the memfd itself over a Unix socket (--local), only the state is copied. The
# source exits 0, the guest counts on in the new process with the same RAM, and kagami migrate
# reports the downtime.
# Usage: local.sh KAGAMI GUEST.elf PROXY
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_migration
guest_cmdline="wss=64M rate=64"
start_source source "" 256M "" --shared-memory
start_vm destination "" "$guest_cmdline" --memory 256M --incoming "unix:$work/incoming.sock" \
  --api-socket "$work/destination.sock"
wait_until 30 "the destination to listen on $work/incoming.sock" test -S "$work/incoming.sock"
migrate migrate source --to "unix:$work/incoming.sock" --local
expect_migrated source destination
downtime=$(reported_downtime migrate)
[[ -n $downtime ]] || fail "kagami migrate did not report the downtime"
log "reported: $downtime"
quit_vm destination
log "PASS"
