#!/bin/bash
# nested.timeout: --timeout kills a guest that runs too long and exits with 124.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

start=$SECONDS
run_nested --timeout 10 -- sleep 600
expect_status 124
expect_stderr_contains "nested-run: timed out after 10 s"
((SECONDS - start < 60)) || fail "the timeout took $((SECONDS - start)) s to act"
echo "PASS: timed out with status 124 after $((SECONDS - start)) s"
