#!/bin/bash
# kmod.load-unload: kagami.ko loads and unloads cleanly (three times), /dev/kagami is a root-only
# char device, modinfo documents every parameter, and AMD-V is on only while a VM exists.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
run_guest_script kagami load-unload.sh "$ioctl_test"
expect_pass
