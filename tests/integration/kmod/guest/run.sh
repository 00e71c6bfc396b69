#!/bin/bash
# Inside the nested host, with kagami.ko loaded by nested-run: see ../run.sh.
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
run_test=$1
mount_debugfs
modprobe msr

"$run_test" || fail "run_test failed"
expect_no_live_objects

"$run_test" --spin /tmp/spinning &
spinner=$!
for _ in $(seq 100); do [[ -e /tmp/spinning ]] && break; sleep 0.1; done
[[ -e /tmp/spinning ]] || fail "run_test --spin did not start its guest"
sleep 1
kill -0 "$spinner" || fail "the spinning VMM died by itself"
kill -9 "$spinner"
{ wait "$spinner"; } 2>/dev/null || true
expect_no_live_objects
expect_clean_kernel_log
rmmod kagami || fail "rmmod failed after the VMM was killed"
echo "PASS: exits, signals, a VMM killed with -9 mid-run leaves nothing alive, clean kernel log"
