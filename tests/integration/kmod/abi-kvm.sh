#!/bin/bash
# kmod.abi-kvm: the same abi_test on Debian's kvm-amd in the same nested host, the reference
# kagami's ABI must match (abi_test skips the few checks where kagami is deliberately stricter).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
[[ -x $abi_test ]] || fail "$abi_test is missing: build it first"
run_guest_script kvm abi-kvm.sh "$abi_test"
expect_pass
