#!/bin/bash
# Inside one of the two nested hosts of linux-two-hosts.sh: the source runs Debian's kernel with
# the workload of linux-init.sh and migrates it to the other nested host over their virtual
# network; the destination receives it and checks that the workload goes on. Both print
# "RESULT key=value" lines that the test on the outside compares across the two hosts.
# Usage: linux-host.sh KAGAMI VMLINUZ source|destination SHARED PEER_ADDRESS
#   SHARED: a directory both hosts see (initramfs.gz, key, and the files they signal with)
#   PEER_ADDRESS: the destination's address (for the source), its own (for the destination)
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
vmlinuz=$guest
role=${3:?} shared=${4:?} address=${5:?}
readonly cmdline="console=ttyS0 quiet nokaslr"
readonly memory=256M
test_name=migration.linux-$role

# The workload's lines on NAME's console: "tick" numbers of complete lines, oldest first.
ticks() {
  tr -d '\r' <"$work/$1.console" |
    sed -nE 's/^KAGAMI-WORKLOAD tick=([0-9]+) uptime=[0-9.]+ ok$/\1/p'
}
ticks_above() { (($(ticks "$1" | awk -v v="$2" '$1 > v' | wc -l) >= $3)); }
workload_progressed() {
  ticks_above "$1" "$2" "$3" && return 0
  alive "$1" || fail "$1 exited instead of running the guest (see $1.console and $1.log)"
  return 1
}
no_workload_mismatch() {
  ! grep -q 'KAGAMI-WORKLOAD MISMATCH' "$work/$1.console" ||
    fail "the workload on $1 found its memory changed:" \
      "$(grep MISMATCH "$work/$1.console" | tr -d '\r' | head -n 3)"
}
# The guest's uptime on the line of tick N on NAME's console.
uptime_at() {
  tr -d '\r' <"$work/$1.console" |
    sed -nE "s/^KAGAMI-WORKLOAD tick=$2 uptime=([0-9.]+) ok\$/\\1/p"
}
# The shared directory is how the hosts signal each other: a file appears there.
signal() { : >"$shared/$1"; }
signalled() { [[ -e $shared/$1 ]]; }

start_linux() {
  local name=$1
  shift
  run_in "$name" "" "$kagami" run --kernel "$vmlinuz" --initrd "$shared/initramfs.gz" \
    --cmdline "$cmdline" --memory "$memory" --hypervisor "$hypervisor" \
    --migration-key "$shared/key" --api-socket "$work/$name.sock" "$@"
}

run_source() {
  start_linux source
  # Booting Linux takes a while under TCG: then three ticks of the workload.
  wait_until 180 "the workload's first 3 ticks on the source" workload_progressed source 0 3
  log "the workload runs on the source: tick $(ticks source | tail -n 1)"
  wait_until 240 "the destination to listen" signalled destination-listening
  migrate migrate source --to "tcp:$address:$port"
  [[ $migrate_status -eq 0 ]] || fail "kagami migrate failed (status $migrate_status)"
  exit_status source 60
  [[ $exited -eq 0 ]] || fail "the source exited $exited after migrating, not 0"
  grep -q 'kagami: migrated to' "$work/source.log" "$work/source.console" ||
    fail "the source did not say 'kagami: migrated to ...'"
  no_workload_mismatch source
  local last
  last=$(ticks source | tail -n 1)
  echo "RESULT last-tick=$last"
  echo "RESULT last-uptime=$(uptime_at source "$last")"
  echo "RESULT checksum=$(ram_checksum source)"
  local downtime
  downtime=$(reported_downtime migrate)
  echo "RESULT downtime=${downtime#downtime }"
  signal source-done
}

run_destination() {
  start_linux destination --incoming "tcp:$address:$port"
  wait_until 60 "the destination to listen on $address:$port" listening "" "$port"
  signal destination-listening
  wait_until 400 "the workload's ticks on the destination" workload_progressed destination 0 1
  local first
  first=$(ticks destination | head -n 1)
  # The workload goes on: five more ticks, each having checked its memory.
  wait_until 120 "five more ticks on the destination" workload_progressed destination "$first" 5
  no_workload_mismatch destination
  quit_vm destination
  echo "RESULT first-tick=$first"
  echo "RESULT first-uptime=$(uptime_at destination "$first")"
  echo "RESULT last-tick=$(ticks destination | tail -n 1)"
  echo "RESULT checksum=$(ram_checksum destination)"
}

require_kvm
[[ -r $shared/initramfs.gz && -r $shared/key ]] || fail "$shared lacks initramfs.gz or key"
case $role in
  source) run_source ;;
  destination) run_destination ;;
  *) fail "role '$role' is neither source nor destination" ;;
esac
log "PASS"
