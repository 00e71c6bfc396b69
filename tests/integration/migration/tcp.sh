#!/bin/bash
# migration.tcp: a running migrate_dirty guest moves from host A to host B (two network
# namespaces joined by a veth pair) over TCP: the source exits 0, the guest's counter goes on
# at the destination with every checksum check ok, both VMMs see the same guest RAM, and the
# destination then quits cleanly.
# Usage: tcp.sh KAGAMI GUEST.elf PROXY
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_migration
use_two_hosts
make_key key
# 16 MiB written at 32 MiB/s of pages: every pass finds pages dirty, at a rate the link beats.
guest_cmdline="wss=16M rate=32"
start_source source "$ns_a" 128M key
start_destination destination "$ns_b" "$addr_b" 128M key
migrate migrate source --to "tcp:$addr_b:$port"
expect_migrated source destination
downtime=$(reported_downtime migrate)
[[ -n $downtime ]] || fail "kagami migrate did not report the downtime"
log "reported: $downtime"
quit_vm destination
log "PASS"
