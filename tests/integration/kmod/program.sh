#!/bin/bash
# kmod.<program> and kmod.<program>-kvm: one of the module's test programs (lapic_test,
# irq_test, ...) in the nested host, on kagami.ko or on Debian's kvm-amd (the reference the
# program's expectations come from). On kagami.ko, afterwards nothing is left alive, the kernel
# log is clean and the module unloads; on kvm-amd, the kernel log is clean.
# Usage: program.sh NESTED_RUN KAGAMI_KO kagami|kvm PROGRAM [ARGS...]
# shellcheck source=../nested/lib.sh
source "$(dirname "$0")/../nested/lib.sh"
kagami_ko=${2:?usage: $0 NESTED_RUN KAGAMI_KO kagami|kvm PROGRAM [ARGS...]}
module=${3:?} program=${4:?}
shift 4
here=$(cd "$(dirname "$0")" && pwd)
[[ -f $kagami_ko ]] || fail "$kagami_ko is missing: build it first (scripts/build)"
[[ -x $program ]] || fail "$program is missing: build it first"
shares=()
for path in "$kagami_ko" "$program"; do
  dir=$(dirname "$(readlink -f "$path")")
  [[ $dir == "$checkout"/* ]] || shares+=(--share "$dir")
done
run_nested --module "$module" --kmod "$kagami_ko" "${shares[@]}" --timeout 240 -- \
  bash "$here/guest/program.sh" "$kagami_ko" "$module" "$program" "$@"
expect_status 0
grep -v '^nested-run: ' "$work/stderr" >&2 || true
cat "$work/stdout"
