#!/bin/bash
# Inside the nested host, with kagami.ko or kvm-amd loaded by nested-run: see stress.sh.
# Arguments: KAGAMI_KO STRESS MODULE SECONDS SEED [STRESS OPTIONS...].
# shellcheck source=../kmod/guest/common.sh
source "$(dirname "$0")/../kmod/guest/common.sh"
stress=$1 module=$2 seconds=$3 seed=$4

# Free memory and Slab in KiB, with the page cache and reclaimable slabs dropped first. Free
# memory is MemFree plus the pages on the per-CPU free lists (/proc/zoneinfo "count"), which
# MemFree leaves out: they alone move it by several MiB between two readings.
meminfo() {
  sync
  echo 3 >/proc/sys/vm/drop_caches
  local pcp
  pcp=$(awk '/^ +count:/ {n += $2} END {print n + 0}' /proc/zoneinfo)
  awk -v pcp="$pcp" '/^MemFree:/ {f = $2} /^Slab:/ {s = $2} END {print f + 4 * pcp, s}' \
    /proc/meminfo
}

# New kernel lines go to stderr as they come (with MemFree every few seconds): if the stress
# program wedges the kernel or eats its memory, the evidence still reaches the host.
skip=$(($(dmesg | wc -l) + 1))
{
  dmesg -w &
  echo $! >/tmp/dmesg.pid
  wait
} | tail -n +$skip | sed -u 's/^/kernel: /' >&2 &
while sleep 3; do echo "kernel: MemFree $(awk '/^MemFree:/ {print $2}' /proc/meminfo) KiB"; done >&2 &
memfree_watch=$!
trap 'kill $memfree_watch; sleep 1; kill "$(</tmp/dmesg.pid)"' EXIT

dev=/dev/kagami
[[ $module == kvm ]] && dev=/dev/kvm
read -r free_before slab_before < <(meminfo)
start=$(date +%s)
shift 4
"$stress" --dev "$dev" --seconds "$seconds" --seed "$seed" "$@" ||
  fail "the stress program failed with status $?"
echo "stress ran for $(($(date +%s) - start)) s"
! pgrep -x kmod_stress >/dev/null || fail "stress processes are left: $(pgrep -x kmod_stress)"

if [[ $module == kagami ]]; then
  expect_no_live_objects
  echo "live objects: $(tr '\n' ' ' </sys/kernel/debug/kagami/live_objects)"
  rmmod kagami || fail "rmmod kagami failed after the stress run"
else
  rmmod kvm_amd kvm || fail "rmmod kvm_amd kvm failed after the stress run"
fi
expect_clean_kernel_log
read -r free_after slab_after < <(meminfo)
echo "free memory: $free_before KiB before, $free_after KiB after the module left" \
  "($((free_after - free_before)) KiB)"
echo "Slab: $slab_before KiB before, $slab_after KiB after ($((slab_after - slab_before)) KiB)"
# Tolerances: what the kernel itself moves around (the stress binary's page tables, caches that
# drop_caches keeps); a leak of guest pages or vCPU structures under this load is far beyond them.
((free_after >= free_before - 8192)) ||
  fail "free memory is $((free_before - free_after)) KiB lower"
((slab_after <= slab_before + 4096)) || fail "Slab grew by $((slab_after - slab_before)) KiB"
echo "PASS: $module: stress for $seconds s (seed $seed), clean kernel log, module unloaded," \
  "memory back"
