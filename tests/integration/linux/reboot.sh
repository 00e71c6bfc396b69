#!/bin/bash
# linux.reboot-kvm: `reboot` in the guest goes through the ACPI reset register (0xcf9): kagami
# boots the guest again (a second, different boot), or with --no-reboot exits with status 0.
# Usage: reboot.sh NESTED_RUN KAGAMI
# shellcheck source=../nested/lib.sh
source "$(dirname "$0")/../nested/lib.sh"
kagami=${2:?usage: $0 NESTED_RUN KAGAMI}
here=$(cd "$(dirname "$0")" && pwd)
vmlinuz=$("$nested_run" --print-kernel)
[[ -f $vmlinuz ]] || fail "nested-run --print-kernel gave no kernel ($vmlinuz)"
"$here/make-initramfs.sh" "$work/initramfs.gz" "$here/init-reboot.sh"
cp "$vmlinuz" "$work/vmlinuz"
# One nested-host CPU, as boot.sh says why.
args=(--module kvm --cpus 1 --timeout 280 --share "$work")
[[ $(dirname "$(readlink -f "$kagami")") == "$checkout"/* ]] ||
  args+=(--share "$(dirname "$(readlink -f "$kagami")")")
boot=("$kagami" run --kernel "$work/vmlinuz" --initrd "$work/initramfs.gz"
  --cmdline "console=ttyS0 quiet" --memory 256M --serial stdio)

# With --no-reboot: one boot, then status 0.
run_nested "${args[@]}" -- "${boot[@]}" --no-reboot
expect_status 0
boots=$(grep -c '^KAGAMI-BOOTED' "$work/stdout" || true)
((boots == 1)) || { show_output; fail "--no-reboot: $boots boots, not 1"; }

# Without it the guest comes back: it reboots forever, so stop kagami once a second boot has
# said so (or after 200 s).
# shellcheck disable=SC2016 # expanded by the inner bash
run_nested "${args[@]}" -- bash -c '"$@" >"$0" 2>&1 </dev/null & pid=$!
  for _ in $(seq 400); do
    (($(grep -c "^KAGAMI-BOOTED" "$0") >= 2)) && break
    sleep 0.5
  done
  kill "$pid"; wait "$pid"; cat "$0"' "$work/console" "${boot[@]}"
ids=$(sed -n 's/^KAGAMI-BOOTED \([0-9a-f-]*\).*/\1/p' "$work/stdout" | tr -d '\r' | sort -u | wc -l)
((ids >= 2)) || { show_output; fail "the guest did not boot again after reboot ($ids boots)"; }
echo "PASS: reboot: with --no-reboot kagami exits 0 after one boot; without, the guest boots" \
  "again ($ids boots seen)"
