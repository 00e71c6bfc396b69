#!/bin/bash
# kmod.build-w1: kagami.ko builds with W=1 (the kernel's extra warnings) without a warning.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
"$checkout/scripts/build-kmod" "$work/kmod" W=1 >"$work/build.log" 2>&1 || {
  cat "$work/build.log" >&2
  fail "the W=1 build failed"
}
if grep -E 'warning:|error:' "$work/build.log" >&2; then
  fail "the W=1 build has warnings"
fi
[[ -f $work/kmod/kagami.ko ]] || fail "no kagami.ko after the build"
echo "PASS: kagami.ko builds with W=1 and no warning"
