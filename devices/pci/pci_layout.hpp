// Where kagami's PCI host bridge sits in the guest's port and memory maps (see docs/machine.md).
#pragma once

#include <cstdint>

namespace kagami::pci {

// An address window [base, end) on the port or memory bus.
struct Window {
  uint64_t base;
  uint64_t end;  // exclusive

  constexpr uint64_t size() const { return end - base; }
  // True when [addr, addr + size) lies wholly inside, without wrapping.
  constexpr bool contains(uint64_t addr, uint64_t length) const {
    return length != 0 && addr >= base && addr < end && length <= end - addr;
  }
};

// The windows BARs are placed in: by the firmware-style allocator at build time, and by the guest
// later (Linux moves BARs only within the host bridge's _CRS windows, which must be these).
struct Windows {
  Window io{0x1000, 0x10000};
  Window mmio32{0xc000'0000, 0xe000'0000};
  Window mmio64{0x40'0000'0000, 0x80'0000'0000};
};

// Configuration mechanism #1.
inline constexpr uint16_t kConfigAddressPort = 0xcf8;  // 4 ports; only dword writes latch
inline constexpr uint16_t kConfigDataPort = 0xcfc;     // 4 ports, byte/word/dword
inline constexpr uint16_t kResetControlPort = 0xcf9;   // shares the address dword (see PciRoot)

// PCI Express enhanced configuration (ECAM, "MMCONFIG"): segment 0, buses 0..255.
inline constexpr uint64_t kEcamBase = 0xe000'0000;
inline constexpr unsigned kEcamBuses = 256;
inline constexpr uint64_t kEcamBusSize = 1u << 20;
inline constexpr uint64_t kEcamSize = kEcamBuses * kEcamBusSize;  // 256 MiB

inline constexpr unsigned kSlots = 32;  // devices on bus 0; slot 0 is the host bridge

}  // namespace kagami::pci
