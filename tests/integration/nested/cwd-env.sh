#!/bin/bash
# nested.cwd-env: the command starts in the caller's directory inside the checkout, with the
# caller's environment, and can write to the checkout and to a private /tmp.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

cd "$checkout/tests" || exit 1
export FOO='a b $c "d"'
run_nested -- sh -c \
  'pwd; printf "%s\n" "$FOO" "$KAGAMI_NESTED" "$HOME"; echo x >/tmp/f && echo tmp-writable'
expect_status 0
expect_stdout "$checkout/tests"$'\n''a b $c "d"'$'\n1\n/tmp\ntmp-writable\n'
echo "PASS: working directory and environment carried over"
