#!/bin/bash
# nested.exit-status: the command's exit status comes back from the guest exactly.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

for code in 0 3 42; do
  run_nested -- sh -c "exit $code"
  expect_status "$code"
done
echo "PASS: exit statuses 0, 3 and 42 came back"
