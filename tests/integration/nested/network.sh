#!/bin/bash
# nested.network: --net joins two nested hosts on one virtual Ethernet segment: bytes sent from
# one host's eth0 address arrive at the other's, and bad --net/--address values are refused
# with status 125 before anything boots.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

for bad in "--net listen:0 --address 10.78.0.1/24" "--net bogus:1234 --address 10.78.0.1/24" \
  "--net listen:1234" "--address 10.78.0.1/24" "--net listen:1234 --address 10.78.0.300/24" \
  "--net listen:1234 --address 10.78.0.1/31"; do
  # shellcheck disable=SC2086 # each case is a list of options
  run_nested $bad -- true
  expect_status 125
  expect_stderr_contains "nested-run: --"
done

# The segment's TCP port on this machine: a free one.
port=$((20000 + RANDOM % 20000))
while ss -Hltn "sport = :$port" | grep -q .; do port=$((port + 1)); done
message="hello over the segment $RANDOM"
# The receiving host prints the first line that reaches port 9000 of its eth0 address.
"$nested_run" --net "listen:$port" --address 10.78.0.1/24 --timeout 200 -- \
  bash -c 'timeout 150 busybox nc -l -p 9000 | head -n 1' >"$work/listener.out" \
  2>"$work/listener.err" &
listener_pid=$!
trap 'kill "$listener_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for ((i = 0; i < 300; i++)); do
  ss -Hltn "sport = :$port" | grep -q . && break
  sleep 0.1
done
# The sender retries while the listener's host is still booting.
# shellcheck disable=SC2016 # expanded by the bash inside
run_nested --net "connect:$port" --address 10.78.0.2/24 --timeout 200 -- bash -c '
  for ((i = 0; i < 60; i++)); do
    { echo "$1 from $(ip -4 -br addr show eth0 | tr -s " " | cut -d" " -f3)" \
      >/dev/tcp/10.78.0.1/9000; } 2>/dev/null && exit 0
    sleep 1
  done
  echo "could not connect to 10.78.0.1:9000" >&2
  exit 1' sender "$message"
expect_status 0
listener_status=0
wait "$listener_pid" || listener_status=$?
((listener_status == 0)) || {
  cat "$work/listener.out" "$work/listener.err" >&2
  fail "the listening host exited $listener_status"
}
[[ $(<"$work/listener.out") == "$message from 10.78.0.2/24" ]] || {
  cat "$work/listener.out" "$work/listener.err" >&2
  fail "the listening host did not print the message from 10.78.0.2"
}
echo "PASS: bad --net/--address refused; a line crossed the segment from 10.78.0.2 to 10.78.0.1"
