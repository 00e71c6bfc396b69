#!/bin/bash
# Inside the nested host, with kvm_amd loaded by nested-run: see ../abi-kvm.sh.
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
abi_test=$1

"$abi_test" /dev/kvm || fail "abi_test failed on /dev/kvm"
expect_clean_kernel_log
echo "PASS: the same vCPU ABI checks pass on kvm-amd"
