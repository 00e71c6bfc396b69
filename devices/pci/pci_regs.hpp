// The type-0 PCI configuration header: register offsets and bits (PCI Local Bus spec 3.0, 6.2).
#pragma once

#include <cstdint>

namespace kagami::pci {

inline constexpr uint16_t kConventionalConfigSize = 256;
inline constexpr uint16_t kConfigSize = 4096;  // PCI Express: conventional + extended space

// Header registers.
inline constexpr uint16_t kVendorId = 0x00;       // 16 bits, read-only
inline constexpr uint16_t kDeviceId = 0x02;       // 16 bits, read-only
inline constexpr uint16_t kCommand = 0x04;        // 16 bits
inline constexpr uint16_t kStatus = 0x06;         // 16 bits
inline constexpr uint16_t kRevisionId = 0x08;     // 8 bits
inline constexpr uint16_t kClassCode = 0x09;      // 24 bits: prog-if, subclass, base class
inline constexpr uint16_t kCacheLineSize = 0x0c;  // 8 bits, read-write scratch
inline constexpr uint16_t kLatencyTimer = 0x0d;   // 8 bits
inline constexpr uint16_t kHeaderType = 0x0e;     // 8 bits: bit 7 multifunction, 6:0 layout
inline constexpr uint16_t kBist = 0x0f;           // 8 bits
inline constexpr uint16_t kBar0 = 0x10;           // six 32-bit BARs, 0x10..0x27
inline constexpr uint16_t kSubsystemVendorId = 0x2c;
inline constexpr uint16_t kSubsystemId = 0x2e;
inline constexpr uint16_t kExpansionRom = 0x30;
inline constexpr uint16_t kCapabilitiesPointer = 0x34;
inline constexpr uint16_t kInterruptLine = 0x3c;  // read-write: the firmware's routing note
inline constexpr uint16_t kInterruptPin = 0x3d;   // read-only: 0 none, 1..4 INTA#..INTD#
inline constexpr uint16_t kHeaderEnd = 0x40;      // capabilities live in 0x40..0xff

inline constexpr unsigned kBarCount = 6;
inline constexpr uint16_t bar_offset(unsigned index) {
  return static_cast<uint16_t>(kBar0 + 4 * index);
}

// Command register bits.
inline constexpr uint16_t kCommandIo = 1u << 0;
inline constexpr uint16_t kCommandMemory = 1u << 1;
inline constexpr uint16_t kCommandBusMaster = 1u << 2;
inline constexpr uint16_t kCommandIntxDisable = 1u << 10;

// Status register bits.
inline constexpr uint16_t kStatusInterrupt = 1u << 3;  // the device's INTx request, pending
inline constexpr uint16_t kStatusCapabilities = 1u << 4;

// Header type values.
inline constexpr uint8_t kHeaderTypeNormal = 0x00;
inline constexpr uint8_t kHeaderTypeMultifunction = 0x80;

// BAR type bits (the low bits of a BAR register, read-only).
inline constexpr uint32_t kBarIo = 0x1;            // bit 0: I/O space
inline constexpr uint32_t kBarMemory64 = 0x4;      // bits 2:1 = 10b: 64-bit memory
inline constexpr uint32_t kBarPrefetchable = 0x8;  // bit 3
inline constexpr uint32_t kBarIoTypeMask = 0x3;
inline constexpr uint32_t kBarMemoryTypeMask = 0xf;

// Capability IDs used by kagami's devices.
inline constexpr uint8_t kCapabilityVendor = 0x09;
inline constexpr uint8_t kCapabilityMsix = 0x11;

}  // namespace kagami::pci
