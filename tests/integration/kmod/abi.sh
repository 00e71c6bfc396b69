#!/bin/bash
# kmod.abi: abi_test checks the vCPU state and event ioctls on /dev/kagami (MSRs, FPU/XSAVE/XCRS,
# KVM_INTERRUPT and the interrupt window, KVM_NMI, vCPU events, MP state, the signal mask); then
# nothing is left alive, the kernel log is clean and the module unloads.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
[[ -x $abi_test ]] || fail "$abi_test is missing: build it first"
run_guest_script kagami abi.sh "$abi_test"
expect_pass
