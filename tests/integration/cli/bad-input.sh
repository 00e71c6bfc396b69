#!/bin/bash
# cli.bad-input: kernels and initrds kagami must refuse before any guest runs, each with one
# line naming the file and the reason, and exit status 2. Runs on the build host: the checks
# come before a vCPU is created (the hypervisor device is opened, nothing more).
# Usage: bad-input.sh NESTED_RUN KAGAMI
set -euo pipefail
nested_run=${1:?usage: $0 NESTED_RUN KAGAMI}
kagami=${2:?usage: $0 NESTED_RUN KAGAMI}
checkout=$(cd "$(dirname "$nested_run")/.." && pwd -P)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
[[ -e /dev/kvm || -e /dev/kagami ]] ||
  fail "no /dev/kvm or /dev/kagami on this machine: the refusals after opening it cannot be checked"

kver=$("$checkout/scripts/nested/kernel-version")
vmlinuz=${KAGAMI_CACHE:-$HOME/.cache/kagami}/nested/$kver/boot/vmlinuz-$kver
[[ -f $vmlinuz ]] || "$nested_run" -- true >/dev/null # fills the cache, the kernel included
[[ -f $vmlinuz ]] || fail "$vmlinuz is missing after nested-run filled its cache"

# expect_refusal NAME PATTERN KAGAMI-ARGS...: status 2, one stderr line matching PATTERN.
expect_refusal() {
  local name=$1 pattern=$2 status=0
  shift 2
  timeout 60 "$kagami" run "$@" --serial none >"$work/out" 2>"$work/err" </dev/null || status=$?
  ((status == 2)) || { cat "$work/err" >&2; fail "$name: exit status $status, not 2"; }
  [[ $(wc -l <"$work/err") -eq 1 ]] || { cat "$work/err" >&2; fail "$name: not one line"; }
  grep -qE "$pattern" "$work/err" || { cat "$work/err" >&2; fail "$name: no match for $pattern"; }
  [[ ! -s $work/out ]] || fail "$name: the guest printed something: it ran"
  echo "ok: $name: $(cat "$work/err")"
}

# Patches bytes (hex string) at a byte offset of a copy of the kernel.
patched() {
  local out=$work/$1 offset=$2 hex=$3
  cp "$vmlinuz" "$out"
  printf "$(sed 's/../\\x&/g' <<<"$hex")" | dd of="$out" bs=1 seek="$offset" conv=notrunc status=none
  echo "$out"
}

printf 'not a kernel at all\n' >"$work/text"
expect_refusal "not a kernel" "$work/text: neither a Linux bzImage" --kernel "$work/text"
expect_refusal "protocol 2.05" "old.*protocol|protocol.*2\\.05|too old" \
  --kernel "$(patched old 518 0502)" --memory 256M
expect_refusal "not 64-bit capable" "64-bit" \
  --kernel "$(patched no64 566 0000)" --memory 256M
head -c 200000 "$vmlinuz" >"$work/truncated"
expect_refusal "truncated" "$work/truncated: .*(truncated|short|ends|beyond|size)" \
  --kernel "$work/truncated" --memory 256M
truncate -s 200M "$work/huge-initrd"
expect_refusal "initrd that does not fit" "huge-initrd.*(fit|room|space)" \
  --kernel "$vmlinuz" --initrd "$work/huge-initrd" --memory 256M
expect_refusal "kernel that does not fit" "does not fit|too small|RAM" \
  --kernel "$vmlinuz" --memory 64M
expect_refusal "two initrds" "one --initrd" \
  --kernel "$vmlinuz" --initrd "$work/text" --initrd "$work/text" --memory 256M
expect_refusal "missing initrd" "$work/nothing" --kernel "$vmlinuz" --initrd "$work/nothing"
echo "PASS: every bad kernel and initrd refused with status 2 and one line naming it"
