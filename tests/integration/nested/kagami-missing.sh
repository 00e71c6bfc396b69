#!/bin/bash
# nested.kagami-missing: --module kagami without a built kagami.ko fails at once, before booting.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

start=$SECONDS
run_nested --module kagami --kmod "$work/build/kmod/kagami.ko" -- true
expect_status 125
expect_stderr_contains \
  "nested-run: kagami.ko not found at $work/build/kmod/kagami.ko: build it with scripts/build"
((SECONDS - start <= 2)) || fail "took $((SECONDS - start)) s: it should fail before booting"
echo "PASS: the missing module was reported before booting"
