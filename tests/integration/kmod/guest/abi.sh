#!/bin/bash
# Inside the nested host, with kagami.ko loaded by nested-run: see ../abi.sh.
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
abi_test=$1

"$abi_test" /dev/kagami || fail "abi_test failed on /dev/kagami"
expect_no_live_objects
expect_clean_kernel_log
rmmod kagami || fail "rmmod failed after abi_test"
echo "PASS: vCPU ABI on /dev/kagami, no object left, clean kernel log"
