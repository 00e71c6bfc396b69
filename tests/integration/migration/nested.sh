#!/bin/bash
# migration.nested-kagami / migration.nested-kvm: in the nested host, the migrate_dirty guest
# moves between two kagami processes over loopback TCP, on kagami.ko (/dev/kagami: its dirty
# log) or on Debian's kvm-amd (/dev/kvm, the reference), with the checks of migration.tcp
# (nested-guest.sh). The guest's ring-3 loop is interpreted by TCG there: a small working set,
# a low rate and long timeouts.
# Usage: nested.sh NESTED_RUN KAGAMI GUEST.elf kagami|kvm [KAGAMI_KO]
# shellcheck source=../nested/lib.sh
source "$(dirname "$0")/../nested/lib.sh"
kagami=${2:?usage: $0 NESTED_RUN KAGAMI GUEST.elf kagami|kvm [KAGAMI_KO]}
guest=${3:?} module=${4:?} kagami_ko=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
[[ -x $kagami ]] || fail "kagami launcher $kagami not found (build the kagami target)"
[[ -r $guest ]] || fail "guest $guest not found (build the kagami_guests target)"
case $module in
  kagami) device=/dev/kagami ;;
  kvm) device=/dev/kvm ;;
  *) fail "module '$module' is neither kagami nor kvm" ;;
esac

args=(--module "$module" --timeout 280)
share_outside "$kagami"
share_outside "$guest"
if [[ -n $kagami_ko ]]; then
  [[ -f $kagami_ko ]] || fail "$kagami_ko is missing: build it first (scripts/build)"
  args+=(--kmod "$kagami_ko")
  share_outside "$kagami_ko"
fi
run_nested "${args[@]}" -- env KAGAMI_HYPERVISOR="$device" KAGAMI_MIGRATION_PATIENCE=4 \
  bash "$here/nested-guest.sh" "$(readlink -f "$kagami")" "$(readlink -f "$guest")"
expect_status 0
cat "$work/stdout"
grep -v '^nested-run: ' "$work/stderr" >&2 || true
grep -q "^migration.nested-guest: PASS" "$work/stdout" ||
  fail "the migration in the nested host did not say PASS"
echo "PASS: migrate_dirty migrated between two kagami processes on $device in the nested host"
