#!/bin/bash
# Inside the nested host, with kvm_amd loaded by nested-run: see ../refuses-kvm-amd.sh.
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"

dmesg -C
if insmod "$kagami_ko" 2>/tmp/insmod.err; then
  fail "insmod kagami.ko succeeded with kvm_amd loaded"
fi
# The module loader's own taint notes also start with "kagami: "; ours say why.
lines=$(dmesg | grep 'kagami: ' | grep -v 'taints kernel\|module verification failed' || true)
[[ $(grep -c . <<<"$lines") == 1 ]] || fail "expected one kagami line, got: $lines"
[[ $lines == *"kagami: cannot load: kvm_amd is loaded"* ]] || fail "unclear kernel line: $lines"
echo "kernel log: ${lines#*] }"
expect_clean_kernel_log
echo "PASS: kagami.ko refuses to load next to kvm_amd, saying why in one line"
