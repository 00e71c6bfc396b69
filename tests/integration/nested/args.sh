#!/bin/bash
# nested.args: arguments reach the command unchanged: spaces, quotes, $, newlines, empty ones.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

args=('two words' '"double"' "'single'" '$HOME $(echo no) `echo no`' '' $'tab\tand\nnewline'
  '\back\slash' '*' '-n' '--' 'ünï ✓' ' lead and trail ')
run_nested -- printf '<%s>\n' "${args[@]}"
expect_status 0
expect_stdout "$(printf '<%s>\n' "${args[@]}")"$'\n'
echo "PASS: ${#args[@]} awkward arguments came through unchanged"
