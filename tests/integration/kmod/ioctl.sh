#!/bin/bash
# kmod.ioctl: ioctl_test checks the KVM ioctls on /dev/kagami; rmmod is refused while a VM fd is
# open; afterwards nothing is left alive, the kernel log is clean and the module unloads.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
[[ -x $ioctl_test ]] || fail "$ioctl_test is missing: build it first"
run_guest_script kagami ioctl.sh "$ioctl_test"
expect_pass
