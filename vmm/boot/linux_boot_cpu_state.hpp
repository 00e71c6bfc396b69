// The machine state of the Linux 64-bit boot protocol: GDT, identity page tables, vCPU registers.
#pragma once

#include <cstdint>
#include <vector>

#include "kagami/kvm_abi.h"
#include "linux_boot.hpp"

namespace kagami {

inline constexpr uint16_t kLinuxBootCs = 0x10;  // __BOOT_CS
inline constexpr uint16_t kLinuxBootDs = 0x18;  // __BOOT_DS

// The GDT the loader writes at kLinuxGdtAddr: null, null, a 64-bit code segment at __BOOT_CS and
// a flat 4 GiB read/write data segment at __BOOT_DS.
std::vector<uint8_t> linux_boot_gdt();

// Page tables identity-mapping [0, 4 GiB) with 2 MiB pages, to be placed at guest-physical
// `base` (4 KiB-aligned): PML4 at base, PDPT at base + 0x1000, the page directories after it.
// kLinuxPageTablesSize bytes.
std::vector<uint8_t> linux_identity_page_tables(uint64_t base);

// The general registers at the 64-bit entry: RIP, RSI = zero page, RSP, RFLAGS = 0x2 (reserved
// bit only: interrupts off), everything else zero.
kvm_regs linux_entry_regs(const LinuxEntry& entry);

// Puts the 64-bit entry state into `sregs` (read from the vCPU first, so the APIC base and the
// interrupt bitmap stay as KVM made them): CR0 = PE | ET | PG, CR4 = PAE, EFER = LME | LMA,
// CR3 = the page tables, CS = __BOOT_CS long-mode code, DS/ES/FS/GS/SS = __BOOT_DS flat data, the
// GDT, an empty IDT (no exception can be delivered before the kernel loads its own), a busy
// 64-bit TSS in TR as long mode requires.
void set_linux_entry_sregs(const LinuxEntry& entry, kvm_sregs& sregs);

}  // namespace kagami
