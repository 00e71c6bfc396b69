#!/bin/bash
# kmod.stress: the stress program (invalid and random ioctls, vCPU threads and VMMs killed
# mid-run, fds closed and slots deleted under running vCPUs, guests that triple-fault or spin) on
# /dev/kagami in the nested host; then a clean kernel log, no live object, rmmod, memory back.
# Usage: stress.sh NESTED_RUN KAGAMI_KO STRESS [kagami|kvm] [SECONDS] [SEED] [STRESS OPTIONS...]
# (for example --case sregs-run to replay one case with its seed)
# shellcheck source=../nested/lib.sh
source "$(dirname "$0")/../nested/lib.sh"
kagami_ko=${2:?usage: $0 NESTED_RUN KAGAMI_KO STRESS [kagami|kvm] [SECONDS] [SEED]}
stress=${3:?usage: $0 NESTED_RUN KAGAMI_KO STRESS [kagami|kvm] [SECONDS] [SEED]}
module=${4:-kagami} seconds=${5:-25} seed=${6:-$(date +%s)}
here=$(cd "$(dirname "$0")" && pwd)
[[ -f $kagami_ko || $module == kvm ]] || fail "$kagami_ko is missing: build it first"
[[ -x $stress ]] || fail "$stress is missing: build it first"

shares=()
for path in "$kagami_ko" "$stress"; do
  dir=$(dirname "$(readlink -f "$path")")
  [[ $dir == "$checkout"/* || ! -d $dir ]] || shares+=(--share "$dir")
done
# STRESS_NESTED_CPUS (default 1) nested-host CPUs. With 2 (vCPU threads and the VMM really side
# by side) QEMU's multi-threaded TCG wedged the whole nested host once in a CI run (seed 12345,
# run-threads-killed) after passing many times, and broke SMP Linux boots the same way; one CPU
# still interleaves every thread by preemption.
run_nested --module "$module" --kmod "$kagami_ko" "${shares[@]}" --cpus "${STRESS_NESTED_CPUS:-1}" \
  --timeout 280 -- \
  bash "$here/guest-stress.sh" "$kagami_ko" "$stress" "$module" "$seconds" "$seed" "${@:7}"
expect_status 0
cat "$work/stdout"
grep '^kernel: ' "$work/stderr" >&2 || true
