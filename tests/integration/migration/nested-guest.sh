#!/bin/bash
# Inside the nested host (see nested.sh): the migrate_dirty guest moves between two kagami
# processes over loopback TCP on $KAGAMI_HYPERVISOR, with the checks of migration.tcp.
# Usage: nested-guest.sh KAGAMI GUEST.elf
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_migration
make_key key
readonly loopback=127.0.0.1
# TCG interprets the guest's ring-3 loop: 2 MiB written as fast as it goes (every page dirty
# in every pass), a line a second.
guest_cmdline="wss=2M interval_ms=1000"
start_source source "" 32M key
start_destination destination "" "$loopback" 32M key
migrate migrate source --to "tcp:$loopback:$port"
expect_migrated source destination
quit_vm destination
log "PASS"
