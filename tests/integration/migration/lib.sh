# Shared helpers of the live-migration tests: two "hosts" (network namespaces joined by a veth
# pair), kagami processes in them running the migrate_dirty guest, polling with timeouts, the
# guest's console and the VMMs' RAM checksums, and cleanup of everything a test started.
# A test sources this with: KAGAMI GUEST PROXY (the launcher, migrate_dirty.elf, migration_proxy).
# shellcheck shell=bash disable=SC2034 # the variables are for the tests
set -euo pipefail

readonly SKIP=77
kagami=${1:?usage: $0 KAGAMI GUEST.elf PROXY}
guest=${2:?usage: $0 KAGAMI GUEST.elf PROXY}
proxy=${3:-}
test_name=migration.$(basename "$0" .sh)
hypervisor=${KAGAMI_HYPERVISOR:-/dev/kvm}
# The two hosts, when a test asks for them (use_two_hosts).
ns_a='' ns_b=''
readonly addr_a=10.77.0.1 addr_b=10.77.0.2 port=7000 proxy_port=7001

work=$(mktemp -d /tmp/kagami-migration.XXXXXX)
declare -A pid=()
namespaces=()
umask 077

log() { echo "$test_name: $*"; }

# Every file a test wrote: consoles, launcher logs, migrate and proxy output.
show_logs() {
  local file
  for file in "$work"/*; do
    [[ -f $file && $(basename "$file") != *key* ]] || continue
    if [[ $file == *.json ]]; then
      echo "--- $(basename "$file") (last line):" >&2
      tail -n 1 "$file" >&2
      continue
    fi
    echo "--- $(basename "$file") (last 40 lines):" >&2
    tail -n 40 "$file" | tr -d '\r' >&2
  done
}

fail() {
  show_logs
  echo "FAIL: $test_name: $*" >&2
  exit 1
}

# A platform this host lacks: a loud skip by hand, a failure in CI (CI=true).
skip() {
  if [[ ${CI:-} == true ]]; then
    echo "FAIL: $test_name cannot run: $* (CI=true, where every platform must be present)" >&2
    exit 1
  fi
  printf '\n%s: ********** SKIPPED, NOT PASSED: %s **********\n' "$test_name" "$*" >&2
  exit $SKIP
}

cleanup() {
  local name
  for name in "${!pid[@]}"; do kill -9 "${pid[$name]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for name in "${namespaces[@]}"; do ip netns del "$name" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

require_kvm() {
  [[ -c $hypervisor ]] || skip "$hypervisor does not exist on this host"
  [[ -r $hypervisor && -w $hypervisor ]] ||
    skip "$hypervisor exists but $(id -un) cannot open it read-write"
  [[ -x $kagami ]] || fail "kagami launcher $kagami not found (build the kagami target)"
  [[ -r $guest ]] || fail "guest $guest not found (build the kagami_guests target)"
}

require_migration() {
  require_kvm
  "$kagami" run --help 2>&1 | grep -q -- --incoming ||
    fail "$kagami run has no --incoming option: live migration is not in this build"
}

require_root() {
  [[ $(id -u) -eq 0 ]] || skip "needs root for ip netns (two network namespaces as two hosts)"
  command -v ip >/dev/null || skip "the ip command (iproute2) is missing"
}

require_proxy() {
  [[ -x $proxy ]] || fail "migration_proxy $proxy not found (build the migration_proxy target)"
}

# Two hosts: namespaces A (10.77.0.1) and B (10.77.0.2) joined by a veth pair, each with its
# own loopback. The names carry the PID, so tests may run side by side.
use_two_hosts() {
  require_root
  ns_a=kagami-mig-$$-a
  ns_b=kagami-mig-$$-b
  namespaces=("$ns_a" "$ns_b")
  ip netns add "$ns_a"
  ip netns add "$ns_b"
  ip link add veth-a netns "$ns_a" type veth peer name veth-b netns "$ns_b"
  ip -n "$ns_a" addr add "$addr_a/24" dev veth-a
  ip -n "$ns_b" addr add "$addr_b/24" dev veth-b
  local ns
  for ns in "$ns_a" "$ns_b"; do
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "veth-${ns: -1}" up
  done
}

# The migration key: 32 random bytes only their owner may read.
make_key() {
  head -c 32 /dev/urandom >"$work/$1"
  chmod 600 "$work/$1"
}

# wait_until SECONDS WHAT COMMAND...: polls COMMAND until it succeeds, or fails naming WHAT.
# KAGAMI_MIGRATION_PATIENCE multiplies every timeout (the nested host is much slower).
wait_until() {
  local seconds=$(($1 * ${KAGAMI_MIGRATION_PATIENCE:-1})) what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    ((SECONDS < deadline)) || fail "timed out after ${seconds} s waiting for $what"
    sleep 0.1
  done
}

# Alive and not a zombie (a child that exited stays visible to kill -0 until waited for).
alive() {
  local stat
  stat=$(cat "/proc/${pid[$1]}/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}
not_alive() { ! alive "$1"; }

# run_in NAME NS COMMAND...: starts COMMAND in namespace NS ("" for this one) in the
# background, stdout in $work/NAME.console, stderr in $work/NAME.log; pid[NAME] is its PID
# (ip netns exec and env exec the command, so it is the command's own).
run_in() {
  local name=$1 ns=$2
  shift 2
  local prefix=()
  [[ -z $ns ]] || prefix=(ip netns exec "$ns")
  "${prefix[@]}" env KAGAMI_MIGRATION_CHECKSUM=1 "$@" </dev/null >"$work/$name.console" \
    2>"$work/$name.log" &
  pid[$name]=$!
}

# start_vm NAME NS CMDLINE [kagami run options]: the guest with the given command line.
start_vm() {
  local name=$1 ns=$2 cmdline=$3
  shift 3
  run_in "$name" "$ns" "$kagami" run --kernel "$guest" --cmdline "$cmdline" --testdev \
    --hypervisor "$hypervisor" "$@"
}

# exit_status NAME SECONDS: waits up to SECONDS for NAME to exit and sets $exited to its exit
# status (in this shell: only the parent may wait for a child).
exit_status() {
  local name=$1 seconds=$2
  wait_until "$seconds" "$name to exit" not_alive "$name"
  exited=0
  wait "${pid[$name]}" || exited=$?
  unset "pid[$name]"
}

# A TCP listener on PORT in namespace NS ("": this one).
listening() {
  local prefix=()
  [[ -z $1 ]] || prefix=(ip netns exec "$1")
  "${prefix[@]}" ss -Hltn "sport = :$2" | grep -q .
}

api() {
  local socket=$1
  shift
  timeout 20 "$kagami" api --api-socket "$socket" "$@"
}

# The VM's state ("running", "paused", ...) from the status reply: the first "state" field,
# before the "migration" object.
vm_state() {
  local json
  json=$(api "$1" '{"command":"status"}') || return 1
  json=${json%%\"migration\":*}
  sed -nE 's/.*"state":"([a-z_-]+)".*/\1/p' <<<"$json"
}
vm_running() { [[ $(vm_state "$1") == running ]]; }

# The migration object of the status reply.
migration_status() {
  local json
  json=$(api "$1" '{"command":"status"}') || return 1
  [[ $json == *\"migration\":* ]] || return 1
  echo "${json#*\"migration\":}"
}

# --- the guest's console --------------------------------------------------------------------
# The counters of NAME's complete "ok" lines, oldest first (a line cut by the migration is
# half on each console and matches on neither).
ok_counters() {
  tr -d '\r' <"$work/$1.console" |
    sed -nE 's/^migrate_dirty: counter=([0-9]+) checksum=0x[0-9a-f]+ dirty=[0-9]+KiB\/s ok$/\1/p'
}
last_counter() { ok_counters "$1" | tail -n 1; }
# At least COUNT ok lines on NAME's console with a counter above VALUE.
ok_lines_above() {
  local name=$1 value=$2 count=$3
  (($(ok_counters "$name" | awk -v v="$value" '$1 > v' | wc -l) >= count))
}
no_mismatch() {
  ! grep -q MISMATCH "$work/$1.console" || fail "the guest on $1 found its memory changed:" \
    "$(grep MISMATCH "$work/$1.console" | tr -d '\r' | head -n 3)"
}

# Two ok lines above VALUE on NAME's console; a VM that exited instead fails the test at once.
guest_progressed() {
  ok_lines_above "$1" "$2" 2 && return 0
  alive "$1" || fail "$1 exited instead of running the guest (see $1.console and $1.log)"
  return 1
}

# The guest on NAME prints ok lines: two beyond its last one so far (or beyond VALUE).
expect_guest_running() {
  local name=$1 since=${2:-}
  [[ -n $since ]] || since=$(last_counter "$name")
  since=${since:-0}
  wait_until 60 "two more ok lines from the guest on $name (after counter $since)" \
    guest_progressed "$name" "$since"
  no_mismatch "$name"
}

# "kagami: migration: guest RAM checksum 0x<16 hex>" on NAME's stderr.
ram_checksum() {
  sed -nE 's/.*kagami: migration: guest RAM checksum (0x[0-9a-f]{16}).*/\1/p' "$work/$1.log" |
    tail -n 1
}

# --- whole steps ----------------------------------------------------------------------------
# The guest's command line, the same on the source and the destination (set by the test).
guest_cmdline="wss=16M rate=16"

# start_source NAME NS MEMORY KEY [options]: a source VM (KEY "": without a key) with its
# control socket at $work/NAME.sock, once its guest has printed two ok lines.
start_source() {
  local name=$1 ns=$2 memory=$3 key=$4
  shift 4
  local key_option=()
  [[ -z $key ]] || key_option=(--migration-key "$work/$key")
  start_vm "$name" "$ns" "$guest_cmdline" --memory "$memory" --api-socket "$work/$name.sock" \
    "${key_option[@]}" "$@"
  expect_guest_running "$name" 0
}

# start_destination NAME NS ADDRESS MEMORY KEY [options]: a VM waiting for a migration on
# tcp:ADDRESS:$port, once it listens.
start_destination() {
  local name=$1 ns=$2 address=$3 memory=$4 key=$5
  shift 5
  start_vm "$name" "$ns" "$guest_cmdline" --memory "$memory" --incoming "tcp:$address:$port" \
    --migration-key "$work/$key" --api-socket "$work/$name.sock" "$@"
  wait_until 30 "$name to listen on $address:$port" listening "$ns" "$port"
  alive "$name" || fail "$name exited while starting"
}

# migrate OUT SOURCE ARGS...: kagami migrate from SOURCE's control socket; output in
# $work/OUT.out, status in $migrate_status.
migrate() {
  local out=$1 source=$2
  shift 2
  local seconds=$((150 * ${KAGAMI_MIGRATION_PATIENCE:-1}))
  migrate_status=0
  timeout --kill-after=5 "$seconds" "$kagami" migrate --api-socket "$work/$source.sock" "$@" \
    >"$work/$out.out" 2>&1 || migrate_status=$?
  log "kagami migrate $* exited $migrate_status:"
  tr -d '\r' <"$work/$out.out" | tail -n 15 | sed 's/^/  /'
}

# After a failed migration: the source still runs its guest, which keeps counting.
expect_source_survived() {
  local source=$1
  alive "$source" || fail "the source $source exited after a failed migration"
  wait_until 20 "the source's control socket to say running" vm_running "$work/$source.sock"
  expect_guest_running "$source"
  log "the source still runs: counter $(last_counter "$source"), state running"
}

# After a migration that succeeded: the source exited 0 saying so, the guest counts on at the
# destination past the source's last line, and both VMMs computed the same RAM checksum.
expect_migrated() {
  local source=$1 destination=$2
  [[ $migrate_status -eq 0 ]] || fail "kagami migrate failed (status $migrate_status)"
  exit_status "$source" 30
  [[ $exited -eq 0 ]] || fail "the source exited $exited after migrating, not 0"
  grep -q 'kagami: migrated to' "$work/$source.log" "$work/$source.console" ||
    fail "the source did not say 'kagami: migrated to ...'"
  local last
  last=$(last_counter "$source")
  expect_guest_running "$destination" "${last:-0}"
  local first
  first=$(ok_counters "$destination" | awk 'NR == 1')
  ((first > last)) || fail "the destination's first counter $first is not above the source's $last"
  local sum_source sum_destination
  sum_source=$(ram_checksum "$source")
  sum_destination=$(ram_checksum "$destination")
  [[ -n $sum_source ]] || fail "the source printed no RAM checksum (KAGAMI_MIGRATION_CHECKSUM=1)"
  [[ $sum_source == "$sum_destination" ]] ||
    fail "RAM checksums differ: source $sum_source, destination ${sum_destination:-none}"
  no_mismatch "$source"
  log "migrated: source's last counter $last, destination's first $first, now" \
    "$(last_counter "$destination"); RAM checksum $sum_source on both"
}

# The measured downtime kagami migrate reported in $work/OUT.out (its progress lines' "expected
# downtime" is the estimate, not the measurement).
reported_downtime() {
  sed 's/expected downtime//g' "$work/$1.out" |
    { grep -oiE 'downtime[: ]+[0-9.]+ *[mu]?s' || true; } | tail -n 1
}

# Stops a VM through its control socket; it must exit 0.
quit_vm() {
  local name=$1
  api "$work/$name.sock" '{"command":"quit"}' >/dev/null || fail "quit to $name failed"
  exit_status "$name" 30
  [[ $exited -eq 0 ]] || fail "$name exited $exited after quit, not 0"
}

log_lines() { wc -l <"$work/$1.log"; }
log_grew() { (($(log_lines "$1") > $2)); }

# The destination is still alive and listening after a failed attempt, and said why.
expect_destination_waits() {
  local name=$1 ns=$2 log_lines_before=$3
  alive "$name" || fail "the destination $name exited after a failed incoming migration"
  wait_until 30 "$name to listen again" listening "$ns" "$port"
  wait_until 20 "$name to log the failed attempt" log_grew "$name" "$log_lines_before"
  log "the destination logged: $(tail -n +$((log_lines_before + 1)) "$work/$name.log" |
    tr -d '\r' | head -n 3 | tr '\n' ' ')"
}

# The start of the tests of a spoiled stream (truncated.sh, corrupted.sh): a source and a
# destination on two hosts, the guest dirtying 16 MiB, and migration_proxy listening on
# $proxy_port in front of the destination, passing the stream on spoiled by ARGS
# (--truncate-after N, --flip-at N).
start_vms_behind_proxy() {
  require_migration
  require_proxy
  use_two_hosts
  make_key key
  guest_cmdline="wss=16M rate=16"
  start_source source "$ns_a" 64M key
  start_destination destination "$ns_b" "$addr_b" 64M key
  run_in proxy "$ns_b" "$proxy" --listen "$addr_b:$proxy_port" --connect "$addr_b:$port" "$@"
  wait_until 10 "the proxy to listen" listening "$ns_b" "$proxy_port"
}
