// The PC memory map (E820) of kagami's guest RAM layout, for multiboot and for fw_cfg "etc/e820".
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kagami/guest_memory.hpp"

namespace kagami {

// One range of guest-physical memory as the BIOS E820 call reports it.
struct E820Entry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;

  uint64_t end() const { return addr + size; }
  bool operator==(const E820Entry&) const = default;
};

inline constexpr uint32_t kE820Ram = 1;
inline constexpr uint32_t kE820Reserved = 2;

// The legacy PC holes below 1 MiB, reported as QEMU with SeaBIOS reports them: a 1 KiB extended
// BIOS data area at the top of conventional memory, and the 64 KiB BIOS area below 1 MiB. The
// VGA window and option ROMs in between (0xa0000..0xf0000) appear in no entry at all.
inline constexpr uint64_t kEbdaStart = 0x9fc00;
inline constexpr uint64_t kVgaStart = 0xa0000;
inline constexpr uint64_t kBiosAreaStart = 0xf0000;
inline constexpr uint64_t kHighMemoryStart = 0x100000;  // 1 MiB
// The PCIe ECAM (MMCONFIG) window in the PCI hole, reserved so that Linux trusts the MCFG table.
inline constexpr uint64_t kPciEcamStart = 0xe000'0000;
inline constexpr uint64_t kPciEcamSize = 0x1000'0000;  // 256 buses

// RAM 0..EBDA, reserved EBDA, reserved BIOS area, RAM 1 MiB..end of low RAM, the reserved
// ECAM window, RAM from 4 GiB on when the guest has high RAM. Sorted by address.
std::vector<E820Entry> pc_memory_map(const GuestMemory& memory);

// QEMU's fw_cfg "etc/e820" file: each entry as le64 address, le64 length, le32 type, packed
// (20 bytes per entry, no padding).
std::vector<uint8_t> e820_fw_cfg_bytes(std::span<const E820Entry> map);
std::vector<uint8_t> e820_fw_cfg_bytes(const GuestMemory& memory);

}  // namespace kagami
