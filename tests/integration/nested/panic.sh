#!/bin/bash
# nested.panic: a guest kernel panic ends the run with 125 and says so.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

run_nested -- sh -c 'echo c >/proc/sysrq-trigger; sleep 600'
expect_status 125
expect_stderr_contains "nested-run: the guest kernel panicked: Kernel panic - not syncing"
echo "PASS: the panic was reported with status 125"
