#!/bin/bash
# nested.stdin: with --stdin, the caller's stdin reaches the command: from a pipe every byte
# arrives, the command's stdin is a pipe and it ends when the caller's does; from a terminal the
# command's stdin is a terminal, what is typed arrives, and the caller's terminal settings are
# the same afterwards, also when Ctrl-] interrupts the run.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# A pipe: a line, then every byte value. cat ends only at the end of its input, and --timeout
# turns a missing end of file into status 124.
{
  printf 'abc\n'
  printf '%b' "$(printf '\\0%03o' {0..255})"
} >"$work/input"
run_nested --stdin --timeout 120 -- sh -c '[ -t 0 ] && echo "stdin is a terminal"; exec cat' \
  <"$work/input"
expect_status 0
expect_stdout_file "$work/input"
echo "PASS: 260 bytes through a pipe, every byte value, ended by end of file"

# A terminal: script(1) gives nested-run a pseudo-terminal, which this test types into.
command -v script >/dev/null || fail "script (Debian's bsdutils) is needed for the terminal case"
mkfifo "$work/keys"
exec {keys}<>"$work/keys"
# Runs nested-run on a terminal with the given command, keeping the terminal's settings before
# and after in $work/before and $work/after. In the foreground: a background job would start
# with SIGINT ignored, which nested-run could then not trap. script(1) runs $SHELL, so bash is
# named: Ctrl-] sends SIGINT to the whole foreground group, and bash, unlike dash, outlives a
# SIGINT that its child handled (and CI may have no SHELL, or SHELL=/bin/sh).
run_on_terminal() {
  local line
  printf -v line '%q ' "$nested_run" --stdin --timeout 120 -- sh -c "$1"
  SHELL=/bin/bash script -qec "stty -g >$work/before; $line; echo status=\$?; stty -g >$work/after" /dev/null \
    <"$work/keys" >"$work/stdout" 2>"$work/stderr" || fail "script(1) failed"
}
expect_same_terminal_settings() {
  if [[ ! -s $work/before ]] || ! cmp -s "$work/before" "$work/after"; then
    show_output
    fail "the terminal's settings changed: $(cat "$work/before") -> $(cat "$work/after")"
  fi
}

# Typed before the command starts: the bytes wait, then arrive as typed (CR becomes NL there).
printf 'hello\r' >&"$keys"
# shellcheck disable=SC2016 # for the command's shell
run_on_terminal '[ -t 0 ] && echo "stdin is a terminal"; read -r line; echo "read <$line>"'
out=$(tr -d '\r' <"$work/stdout")
for expected in 'stdin is a terminal' 'read <hello>' 'status=0'; do
  grep -qx "$expected" <<<"$out" || { show_output; fail "typing did not reach the command"; }
done
expect_same_terminal_settings
echo "PASS: a terminal inside, typed keys arrive, the terminal restored"

# Ctrl-] interrupts nested-run (status 130), which restores the terminal on that path too.
: >"$work/stdout"
(
  for ((i = 0; i < 1200; i++)); do
    grep -q ready "$work/stdout" && break
    sleep 0.1
  done
  printf '\035' >&"$keys"
) &
run_on_terminal 'echo ready; sleep 100'
grep -q 'status=130' "$work/stdout" || { show_output; fail "Ctrl-] did not interrupt nested-run"; }
expect_same_terminal_settings
echo "PASS: Ctrl-] stops the run with status 130, the terminal restored"
