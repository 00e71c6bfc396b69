#!/bin/bash
# Inside the nested host, with kagami.ko loaded by nested-run: see ../ioctl.sh.
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
ioctl_test=$1

"$ioctl_test" || fail "ioctl_test failed"
expect_no_live_objects

"$ioctl_test" --hold /tmp/vm-ready &
holder=$!
for _ in $(seq 100); do [[ -e /tmp/vm-ready ]] && break; sleep 0.1; done
[[ -e /tmp/vm-ready ]] || fail "ioctl_test --hold did not create a VM"
if rmmod kagami 2>/tmp/rmmod.err; then
  fail "rmmod succeeded while a VM fd was open"
fi
grep -q 'in use' /tmp/rmmod.err || fail "rmmod failed, but not as 'in use': $(</tmp/rmmod.err)"
echo "rmmod with a VM open: $(</tmp/rmmod.err)"
kill "$holder"
wait "$holder" || true
expect_no_live_objects
expect_clean_kernel_log
rmmod kagami || fail "rmmod failed after the last fd closed"
echo "PASS: ioctls, rmmod refused while a VM is open, no object left, clean kernel log"
