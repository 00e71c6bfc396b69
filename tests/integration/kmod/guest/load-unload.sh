#!/bin/bash
# Inside the nested host, with kagami.ko loaded by nested-run: see ../load-unload.sh.
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
ioctl_test=$1

check_device() {
  [[ -c /dev/kagami ]] || fail "/dev/kagami is not a character device"
  local perms
  perms=$(stat -c '%a %U %G' /dev/kagami)
  [[ $perms == "600 root root" ]] || fail "/dev/kagami is '$perms', expected '600 root root'"
}

check_device
params=$(modinfo -F parm "$kagami_ko")
[[ -n $params ]] || fail "modinfo lists no parameters"
while IFS= read -r line; do
  [[ $line =~ ^[a-z_]+:.+\ \([a-z]+\)$ ]] || fail "parameter without a description: $line"
done <<<"$params"
echo "modinfo parameters: $params"

# EFER.SVME: off while idle, on while a VM exists, off again after (each CPU left as found).
! efer_svme || fail "EFER.SVME is set with no VM"
"$ioctl_test" --hold /tmp/vm-ready &
holder=$!
for _ in $(seq 100); do [[ -e /tmp/vm-ready ]] && break; sleep 0.1; done
[[ -e /tmp/vm-ready ]] || fail "ioctl_test --hold did not create a VM"
efer_svme || fail "EFER.SVME is clear while a VM exists"
kill "$holder"
wait "$holder" || true
! efer_svme || fail "EFER.SVME stays set after the last VM"
expect_no_live_objects

rmmod kagami || fail "rmmod kagami failed"
[[ ! -e /dev/kagami ]] || fail "/dev/kagami outlives the module"
for round in 1 2 3; do
  insmod "$kagami_ko" || fail "insmod (round $round) failed"
  check_device
  rmmod kagami || fail "rmmod (round $round) failed"
done
expect_clean_kernel_log
echo "PASS: loads, unloads three times, /dev/kagami is 0600 root, SVME only while VMs exist"
