#!/bin/bash
# linux.boot-N: Debian's own kernel (the nested host's vmlinuz, unmodified) boots under kagami
# with N vCPUs to a busybox init that prints nproc, the date, the clocksource and the kernel's
# warnings and errors, then powers off. Runs inside the nested host on the given module.
# Usage: boot.sh NESTED_RUN KAGAMI MODULE CPUS [KAGAMI_KO]
# shellcheck source=../nested/lib.sh
source "$(dirname "$0")/../nested/lib.sh"
kagami=${2:?usage: $0 NESTED_RUN KAGAMI MODULE CPUS [KAGAMI_KO]}
module=${3:?} cpus=${4:?} kagami_ko=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
kver=$("$checkout/scripts/nested/kernel-version")
vmlinuz=${KAGAMI_CACHE:-$HOME/.cache/kagami}/nested/$kver/boot/vmlinuz-$kver
# nested-run fills its cache (the kernel included) on first use.
[[ -f $vmlinuz ]] || "$nested_run" -- true >/dev/null
[[ -f $vmlinuz ]] || fail "$vmlinuz is missing after nested-run filled its cache"
"$here/make-initramfs.sh" "$work/initramfs.gz"
cp "$vmlinuz" "$work/vmlinuz"

# One nested-host CPU: with two, QEMU's multi-threaded TCG broke 2 of 10 4-vCPU boots (a #DF
# oops on an AP, a triple fault), where one thread ran 10 of 10 in the same time. NESTED_CPUS
# overrides it.
args=(--module "$module" --cpus "${NESTED_CPUS:-1}" --timeout 280 --share "$work")
share_outside "$kagami"
if [[ -n $kagami_ko ]]; then
  args+=(--kmod "$kagami_ko")
  share_outside "$kagami_ko"
fi
host_start=$(date +%s)
# A guest that hangs gets SIGTERM after 230 s, and kagami --verbose then prints every vCPU's
# registers (shown with the output on failure). nokaslr keeps the kernel's addresses those of
# its /proc/kallsyms in any other boot, so a RIP can be named afterwards (Debian's System.map
# is only a placeholder).
run_nested "${args[@]}" -- timeout -s TERM 230 "$kagami" run --kernel "$work/vmlinuz" \
  --initrd "$work/initramfs.gz" --cmdline "console=ttyS0 quiet nokaslr" --cpus "$cpus" \
  --memory 256M --serial stdio --verbose
host_end=$(date +%s)
expect_status 0
out=$work/stdout
nproc=$(sed -n 's/^KAGAMI-NPROC \([0-9]*\).*/\1/p' "$out" | tr -d '\r')
[[ $nproc == "$cpus" ]] || { show_output; fail "the guest saw ${nproc:-no} CPUs, not $cpus"; }
guest_date=$(sed -n 's/^KAGAMI-DATE \([0-9]*\).*/\1/p' "$out" | tr -d '\r')
[[ -n $guest_date ]] || { show_output; fail "the guest printed no date"; }
# The guest read its clock at some moment of the run: within a minute of the host's then.
((guest_date >= host_start - 60 && guest_date <= host_end + 60)) ||
  { show_output; fail "the guest's date $guest_date is not within a minute of the host's" \
    "($host_start..$host_end)"; }
# The kernel's warnings and errors (levels 0-4) as init printed them: the guest must boot as
# cleanly as on kvm-amd, so any line fails the test but those kvm-amd's own boots of this guest
# in the same nested host print too (1 and 4 vCPUs), which come from the VMM's machine or from
# TCG's speed, never from the module. Each is a whole line, without its <level>[time] prefix.
allowed=(
  # TCG runs the nested guest slowly: a timer interrupt's handlers can take over 100 ms.
  '^hrtimer: interrupt took [0-9]+ ns$'
  # The same slowness, seen by the clocksource watchdog (on kvm-amd too, under load): it skips
  # a check whose readout took too long, rather than misjudge the clock.
  '^clocksource: Long readout interval, skipping watchdog check: cs_nsec: [0-9]+ wd_nsec: [0-9]+$'
  # The VMM's i8042 has no AUX (mouse) port, as its ACPI tables say.
  '^i8042: PNP: PS/2 appears to have AUX port disabled, if this is incorrect .* i8042\.nopnp$'
)
grep -q '^KAGAMI-LOG-END' "$out" || { show_output; fail "init printed no log"; }
log=$(sed -n '/^KAGAMI-LOG-BEGIN/,/^KAGAMI-LOG-END/{/^KAGAMI-LOG-/d;p}' "$out" | tr -d '\r' |
  sed -E 's/^<[0-9]+>//; s/^\[ *[0-9]+\.[0-9]+\] //')
bad=$log
for pattern in "${allowed[@]}"; do
  bad=$(grep -vE -- "$pattern" <<<"$bad" || true)
done
[[ -z $bad ]] || { show_output; fail "the guest's kernel logged warnings or errors:"$'\n'"$bad"; }
allowed_seen=$(grep -c . <<<"$log" || true)
echo "PASS: Debian's $kver booted with $cpus vCPUs on $module:" \
  "nproc $nproc, date within the run's span, clocksource" \
  "$(sed -n 's/^KAGAMI-CLOCKSOURCE //p' "$out" | tr -d '\r'), clean log" \
  "($allowed_seen allowed line(s)), poweroff status 0"
[[ -z $log ]] || while IFS= read -r line; do echo "  allowed: $line"; done <<<"$log"
