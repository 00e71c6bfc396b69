# Shared helpers of the nested-run tests: run it, capture what it prints, compare, fail clearly.
# A test sources this with the path of scripts/nested-run as its first argument.
# shellcheck shell=bash disable=SC2034 # the variables are for the tests
set -euo pipefail

nested_run=${1:?usage: $0 PATH/TO/scripts/nested-run}
checkout=$(cd "$(dirname "$nested_run")/.." && pwd -P)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

show_output() {
  {
    echo "--- stdout:"
    cat "$work/stdout"
    echo "--- stderr:"
    cat "$work/stderr"
  } >&2
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# share_outside PATH: the nested host sees the checkout, and only what is shared besides: adds
# --share DIR to the array `args` when PATH's directory lies outside the checkout (a build
# directory or a module built elsewhere, e.g. by scripts/build-kmod /tmp/DIR).
share_outside() {
  local dir
  dir=$(dirname "$(readlink -f "$1")")
  [[ $dir == "$checkout"/* ]] || args+=(--share "$dir")
}

# Runs nested-run with the given arguments, keeping its status and both its streams.
run_nested() {
  status=0
  "$nested_run" "$@" >"$work/stdout" 2>"$work/stderr" || status=$?
}

expect_status() {
  ((status == $1)) || {
    show_output
    fail "expected exit status $1, got $status"
  }
}

# stdout must be exactly the bytes of the file $1.
expect_stdout_file() {
  cmp -s "$1" "$work/stdout" || {
    show_output
    echo "--- expected stdout:" >&2
    cat "$1" >&2
    fail "stdout differs from what was expected"
  }
}

expect_stdout() {
  printf '%s' "$1" >"$work/expected"
  expect_stdout_file "$work/expected"
}

# The first call also prints cache progress lines ("nested-run: fetching ..."); they are fine.
stderr_without_progress() {
  grep -v '^nested-run: ' "$work/stderr" || true
}

expect_stderr_contains() {
  grep -qF -- "$1" "$work/stderr" || {
    show_output
    fail "stderr does not contain: $1"
  }
}
