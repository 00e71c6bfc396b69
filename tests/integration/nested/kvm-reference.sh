#!/bin/bash
# nested.kvm-reference: with --module kvm the guest has AMD-V with nested paging, kvm_amd loaded
# with npt on, and a /dev/kvm that runs a guest: QEMU inside, on -accel kvm, runs a 5-byte BIOS
# that writes 42 to isa-debug-exit, which makes QEMU exit with (42 << 1) | 1 = 85.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# The reset vector is the last 16 bytes of the BIOS image: mov al, 42; out 0xf4, al; hlt.
bios=$work/exit42-bios.bin
{
  head -c 65520 /dev/zero
  printf '\xb0\x2a\xe6\xf4\xf4'
  head -c 11 /dev/zero
} >"$bios"

run_nested --module kvm --share "$work" -- sh -c '
  yes_no() { if "$@"; then echo yes; else echo no; fi; }
  echo "dev-kvm: $(yes_no test -c /dev/kvm)"
  echo "cpu-svm: $(yes_no grep -qw svm /proc/cpuinfo)"
  echo "cpu-npt: $(yes_no grep -qw npt /proc/cpuinfo)"
  echo "kvm_amd-loaded: $(yes_no grep -q "^kvm_amd " /proc/modules)"
  echo "kvm_amd-npt: $(cat /sys/module/kvm_amd/parameters/npt)"
  qemu-system-x86_64 -accel kvm -machine pc -nodefaults -display none -bios "$1" \
    -device isa-debug-exit,iobase=0xf4,iosize=4
  echo "kvm-guest-exit: $?"' sh "$bios"
expect_status 0
expect_stdout 'dev-kvm: yes
cpu-svm: yes
cpu-npt: yes
kvm_amd-loaded: yes
kvm_amd-npt: Y
kvm-guest-exit: 85
'
echo "PASS: kvm_amd with npt=Y runs a guest in the nested host"
