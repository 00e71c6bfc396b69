#!/bin/bash
# Inside the nested host, with the module loaded by nested-run: see ../program.sh.
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
module=$1 program=$2
shift 2
name=$(basename "$program")

if [[ $module == kagami ]]; then
  # Programs read the module's live objects (its 2 MiB leaves) while they run.
  mount_debugfs
  "$program" /dev/kagami "$@" || fail "$name failed on /dev/kagami"
  expect_no_live_objects
  expect_clean_kernel_log
  rmmod kagami || fail "rmmod failed after $name"
  echo "PASS: $name on /dev/kagami, no object left, clean kernel log, module unloaded"
else
  "$program" /dev/kvm "$@" || fail "$name failed on /dev/kvm"
  expect_clean_kernel_log
  echo "PASS: $name on kvm-amd, clean kernel log"
fi
