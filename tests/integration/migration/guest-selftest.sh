#!/bin/bash
# migration.guest-selftest: the migrate_dirty guest on its own, the proof that the other tests'
# checks can fail: with checks=3 it prints three ok lines with growing counters and passes; with
# selftest-corrupt it changes a word behind its checksum's back, and the next check must say
# MISMATCH and end the guest with failure (kagami's status 3). Needs /dev/kvm, not root.
# Usage: guest-selftest.sh KAGAMI GUEST.elf [PROXY]
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
require_kvm

start_vm good "" "wss=8M rate=16 checks=3" --memory 64M
exit_status good 60
[[ $exited -eq 1 ]] || fail "the guest exited $exited with checks=3, not 1 (its exit(0))"
counters=$(ok_counters good | tr '\n' ' ')
[[ $(ok_counters good | wc -l) -eq 3 ]] || fail "want 3 ok lines, got: $counters"
ok_counters good | sort -n -c || fail "the counters do not grow: $counters"
grep -q '^SUMMARY: 2 passed, 0 failed' <(tr -d '\r' <"$work/good.console") ||
  fail "no passing SUMMARY line"
log "checks=3: ok lines at counters $counters"

start_vm corrupt "" "wss=8M selftest-corrupt" --memory 64M
exit_status corrupt 60
[[ $exited -eq 3 ]] || fail "the guest exited $exited after the corruption, not 3"
grep -q 'MISMATCH' "$work/corrupt.console" || fail "the corruption was not detected"
log "selftest-corrupt: $(tr -d '\r' <"$work/corrupt.console" | grep MISMATCH)"
log "PASS"
