#!/bin/bash
# nested.output: stdout and stderr come back separately and complete, with no kernel noise, and
# the command's stdout is not a terminal when the caller's is not.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

run_nested -- sh -c 'seq 1 20000; echo "to stderr" >&2; [ -t 1 ] || echo "not a terminal"'
expect_status 0
{
  seq 1 20000
  echo "not a terminal"
} >"$work/expected"
expect_stdout_file "$work/expected"
[[ $(stderr_without_progress) == "to stderr" ]] || {
  show_output
  fail "stderr should hold exactly the command's one line"
}
echo "PASS: 20001 stdout lines and 1 stderr line, nothing else"
