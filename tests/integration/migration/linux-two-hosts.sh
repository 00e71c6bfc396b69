#!/bin/bash
# migration.linux-two-hosts-kagami / -kvm: a Linux guest with a running workload moves between
# two emulated hosts. Two nested hosts (scripts/nested-run, each its own QEMU TCG machine with
# AMD-V) share a virtual Ethernet segment (--net: 10.78.0.1 and 10.78.0.2). On each, kagami runs
# on kagami.ko (/dev/kagami) or on Debian's kvm-amd (/dev/kvm, the reference). The source boots
# Debian's kernel with linux-init.sh's workload (a tick a line, each checking the memory it
# wrote) and migrates it over that network; the destination runs it on. linux-host.sh does each
# side; this script compares them: the workload's ticks go on where they stopped with no memory
# check failing, and both VMMs computed the same checksum of guest RAM at the switchover.
# Usage: linux-two-hosts.sh NESTED_RUN KAGAMI kagami|kvm [KAGAMI_KO]
# shellcheck source=../nested/lib.sh
source "$(dirname "$0")/../nested/lib.sh"
kagami=${2:?usage: $0 NESTED_RUN KAGAMI kagami|kvm [KAGAMI_KO]}
module=${3:?} kagami_ko=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
case $module in
  kagami) device=/dev/kagami ;;
  kvm) device=/dev/kvm ;;
  *) fail "module '$module' is neither kagami nor kvm" ;;
esac
[[ -x $kagami ]] || fail "kagami launcher $kagami not found (build the kagami target)"
kver=$("$checkout/scripts/nested/kernel-version")
vmlinuz=${KAGAMI_CACHE:-$HOME/.cache/kagami}/nested/$kver/boot/vmlinuz-$kver
[[ -f $vmlinuz ]] || "$nested_run" -- true >/dev/null
[[ -f $vmlinuz ]] || fail "$vmlinuz is missing after nested-run filled its cache"

# What both hosts see: the kernel, the initramfs, the key, and the files they signal with.
shared=$work/shared
mkdir -m 700 "$shared"
cp "$vmlinuz" "$shared/vmlinuz"
"$checkout/tests/integration/linux/make-initramfs.sh" "$shared/initramfs.gz" "$here/linux-init.sh"
head -c 32 /dev/urandom >"$shared/key"
chmod 600 "$shared/key"

# The segment is a TCP connection on this machine's loopback: a free port for it.
segment_port() {
  local candidate
  for ((candidate = 20000 + RANDOM % 20000; ; candidate++)); do
    ss -Hltn "sport = :$candidate" | grep -q . || { echo "$candidate"; return; }
  done
}
port=$(segment_port)

args=(--module "$module" --timeout 600 --memory 1024 --share "$work")
share_outside "$kagami"
if [[ -n $kagami_ko ]]; then
  [[ -f $kagami_ko ]] || fail "$kagami_ko is missing: build it first (scripts/build)"
  args+=(--kmod "$kagami_ko")
  share_outside "$kagami_ko"
fi
inner=(env KAGAMI_HYPERVISOR="$device" KAGAMI_MIGRATION_PATIENCE=1 bash "$here/linux-host.sh"
  "$(readlink -f "$kagami")" "$shared/vmlinuz")
readonly address_source=10.78.0.1 address_destination=10.78.0.2
source_pid='' destination_pid=''
# A test that stops early takes both hosts with it.
trap 'kill $source_pid $destination_pid 2>/dev/null || true; rm -rf "$work"' EXIT

# The destination's QEMU listens for the segment, the source's connects to it.
"$nested_run" "${args[@]}" --net "listen:$port" --address "$address_destination/24" -- \
  "${inner[@]}" destination "$shared" "$address_destination" \
  >"$work/destination.out" 2>"$work/destination.err" &
destination_pid=$!
for ((i = 0; i < 600; i++)); do
  ss -Hltn "sport = :$port" | grep -q . && break
  kill -0 "$destination_pid" 2>/dev/null || break
  sleep 0.1
done
"$nested_run" "${args[@]}" --net "connect:$port" --address "$address_source/24" -- \
  "${inner[@]}" source "$shared" "$address_destination" \
  >"$work/source.out" 2>"$work/source.err" &
source_pid=$!
source_status=0 destination_status=0
wait "$source_pid" || source_status=$?
# A source that failed never migrates: its destination would wait until its own timeout.
((source_status == 0)) || kill "$destination_pid" 2>/dev/null || true
wait "$destination_pid" || destination_status=$?

show_hosts() {
  local side
  for side in source destination; do
    echo "--- $side host: stdout" >&2
    cat "$work/$side.out" >&2
    echo "--- $side host: stderr (last 60 lines)" >&2
    grep -v '^nested-run: ' "$work/$side.err" | tail -n 60 >&2 || true
  done
}
failed() {
  show_hosts
  fail "$@"
}
((source_status == 0)) || failed "the source host failed (status $source_status)"
((destination_status == 0)) || failed "the destination host failed (status $destination_status)"

result() { sed -nE "s/^RESULT $2=(.*)$/\\1/p" "$work/$1.out" | tail -n 1; }
last=$(result source last-tick) first=$(result destination first-tick)
[[ $last =~ ^[0-9]+$ && $first =~ ^[0-9]+$ ]] ||
  failed "the hosts did not report ticks (source last '$last', destination first '$first')"
# A tick whose line the switchover cut is on neither console: at most one lost line.
((first == last + 1 || first == last + 2)) ||
  failed "the workload did not go on where it stopped: source's last tick $last," \
    "destination's first $first"
# The guest's clock went on too: its uptime neither went back nor jumped (a tick is ~0.5 s
# under TCG; the switchover's pause counts, as on any host).
uptime_source=$(result source last-uptime) uptime_destination=$(result destination first-uptime)
awk -v a="$uptime_source" -v b="$uptime_destination" \
  'BEGIN { exit !(a != "" && b > a && b < a + 30) }' ||
  failed "the guest's uptime went from ${uptime_source:-?} s to ${uptime_destination:-?} s" \
    "across the migration (expected a little later)"
sum_source=$(result source checksum) sum_destination=$(result destination checksum)
[[ -n $sum_source ]] || failed "the source printed no RAM checksum"
[[ $sum_source == "$sum_destination" ]] ||
  failed "RAM checksums differ: source $sum_source, destination ${sum_destination:-none}"
echo "PASS: a Linux guest's workload migrated between two nested hosts on $device over their" \
  "virtual network: ticks ...$last | $first...$(result destination last-tick), memory checks" \
  "passed, RAM checksum $sum_source on both, uptime $uptime_source -> $uptime_destination s," \
  "downtime$(result source downtime) (with the RAM checksums, under TCG)"
for side in source destination; do
  echo "$side host:"
  grep -E '^(RESULT|migration\.|  )' "$work/$side.out" | sed 's/^/  /'
done
