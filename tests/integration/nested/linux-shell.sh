#!/bin/bash
# nested.linux-shell: scripts/demo's guest (Debian's kernel, a busybox shell on the serial console,
# under kagami in the nested host) is interactive without a terminal: a line typed into
# nested-run's stdin at the shell's prompt runs, and its `poweroff -f` ends kagami with status 0.
# kagami is $KAGAMI (ctest passes the build's), else the build's found from the working
# directory.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# ctest runs a test in its build tree: the build's root is the nearest directory with a cache.
find_kagami() {
  local dir=$PWD
  while [[ $dir != / && ! -f $dir/CMakeCache.txt ]]; do dir=$(dirname "$dir"); done
  if [[ -x $dir/kagami ]]; then echo "$dir/kagami"; else echo "$checkout/build/kagami"; fi
}
kagami=${KAGAMI:-$(find_kagami)}
[[ -x $kagami ]] || fail "no kagami binary at $kagami: build it, or set KAGAMI"

# The keyboard: a FIFO this test writes into only once the shell has shown its prompt.
mkfifo "$work/keyboard"
exec {keyboard}<>"$work/keyboard"
: >"$work/stdout"
timeout --kill-after=10 250 "$checkout/scripts/demo-linux/run" --nested --kagami "$kagami" \
  --out "$work/demo" <"$work/keyboard" >"$work/stdout" 2>"$work/stderr" &
demo=$!

# Waits up to $2 seconds for the demo's output to match the pattern $1 (or the demo to end).
wait_for_output() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    tr -d '\r' <"$work/stdout" | grep -qE -- "$1" && return 0
    kill -0 "$demo" 2>/dev/null || break
    sleep 0.1
  done
  tr -d '\r' <"$work/stdout" | grep -qE -- "$1"
}

wait_for_output '^kagami-demo:[^ ]*# ' 200 || {
  kill "$demo" 2>/dev/null
  wait "$demo" || true
  show_output
  fail "the demo's shell never showed its prompt"
}
# shellcheck disable=SC2016 # the guest's shell expands it: marker-42 proves the line ran there
printf '%s\n' 'echo marker-$((6*7)); poweroff -f' >&"$keyboard"
exec {keyboard}>&-
if ! wait_for_output 'marker-42' 60; then
  kill "$demo" 2>/dev/null
  wait "$demo" || true
  show_output
  fail "the typed line never ran in the guest (no marker-42): typing does not reach it"
fi
status=0
wait "$demo" || status=$?
expect_status 0
echo "PASS: a line typed at the demo's prompt ran in the guest; poweroff -f gave status 0"
