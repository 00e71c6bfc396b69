#!/bin/bash
# nested.kagami-load: --module kagami loads the given module (here a stand-in that registers
# /dev/kagami) and reports a module whose init fails with 125, the error and the kernel's words.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# Build against the headers nested-run's kernel matches: those linux-headers-amd64 depends on.
headers=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 | grep -o 'linux-headers-[^ ,]*')
cp "$(dirname "$0")"/fixtures/{Kbuild,*.c} "$work/"
make -s -C "/usr/src/$headers" M="$work" modules >"$work/build.log" 2>&1 || {
  cat "$work/build.log" >&2
  fail "cannot build the stand-in modules against /usr/src/$headers"
}

run_nested --module kagami --kmod "$work/fake-kagami.ko" --share "$work" -- \
  sh -c 'test -c /dev/kagami && grep -o "^fake_kagami " /proc/modules'
expect_status 0
expect_stdout $'fake_kagami \n'

run_nested --module kagami --kmod "$work/failing-kagami.ko" --share "$work" -- true
expect_status 125
expect_stderr_contains "nested-run: the nested host failed: insmod $work/failing-kagami.ko failed"
expect_stderr_contains "failing_kagami: refusing to load"
echo "PASS: a working module loads; a failing one is reported with its kernel message"
