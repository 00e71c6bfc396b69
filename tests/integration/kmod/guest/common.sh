# Sourced by the guest-side scripts (they run inside the nested host as root).
# shellcheck shell=bash disable=SC2034 # kagami_ko is for the scripts that source this
set -euo pipefail
kagami_ko=$1
shift

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# The kernel log must have no warning, BUG, oops, sleeping-in-atomic, RCU stall or lockdep report
# (kagami's taint notes are fine).
expect_clean_kernel_log() {
  local bad
  bad=$(dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace|general protection|kernel BUG|scheduling while atomic|rcu.*stall|possible circular locking|inconsistent lock state|soft lockup|hung_task' || true)
  [[ -z $bad ]] || fail "the kernel log has: $bad"
}

mount_debugfs() {
  mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
}

expect_no_live_objects() {
  mount_debugfs
  local live
  live=$(tr '\n' ' ' </sys/kernel/debug/kagami/live_objects)
  # Every count (vms, vcpus, pages, pinned, huge) must be 0.
  [[ $live =~ ^([a-z_]+\ 0\ )+$ && $live == "vms 0 vcpus 0 pages 0 pinned 0 huge 0 "* ]] ||
    fail "objects left alive: $live"
}

# EFER of CPU 0 through the msr driver.
efer() {
  modprobe msr
  dd if=/dev/cpu/0/msr bs=8 count=1 skip=$((0xc0000080)) iflag=skip_bytes status=none |
    od -An -tx8 | tr -d ' '
}
efer_svme() { (((0x$(efer) >> 12) & 1)); }
