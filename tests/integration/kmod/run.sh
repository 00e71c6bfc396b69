#!/bin/bash
# kmod.run: KVM_RUN on /dev/kagami: every exit kind of a tiny guest (IO, MMIO, HLT, triple fault
# -> SHUTDOWN), signals and immediate_exit; then a spinning guest's VMM killed with -9: nothing is
# left alive, the kernel log is clean and the module unloads.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
[[ -x $run_test ]] || fail "$run_test is missing: build it first"
run_guest_script kagami run.sh "$run_test"
expect_pass
