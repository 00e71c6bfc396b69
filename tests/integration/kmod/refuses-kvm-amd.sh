#!/bin/bash
# kmod.refuses-kvm-amd: with kvm_amd loaded, insmod kagami.ko fails with one clear kernel log
# line; and a kvm_amd VM keeps kagami from enabling AMD-V (never fight over EFER.SVME).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
run_guest_script kvm refuses-kvm-amd.sh
expect_pass
