// Legacy INTx routing of bus 0: which IOAPIC input (GSI) each slot's pins are wired to.
#pragma once

#include <cstdint>

namespace kagami::pci {

// Pins as the _PRT and this header number them: INTA# = 0 .. INTD# = 3. The Interrupt Pin
// config register counts from 1 (1 = INTA#), 0 meaning no pin.
enum class IntxPin : uint8_t { kIntA = 0, kIntB = 1, kIntC = 2, kIntD = 3 };
inline constexpr unsigned kIntxPins = 4;

// The INTx lines are wired to IOAPIC pins 16..19, level-triggered, active low, and rotated by
// slot as a PC's swizzle does, so devices in neighbouring slots do not all share one line.
// ACPI's _PRT must list exactly this mapping for every slot and pin.
inline constexpr unsigned kIntxGsiBase = 16;
inline constexpr unsigned kIntxGsiCount = 4;

constexpr unsigned intx_gsi(unsigned slot, IntxPin pin) {
  return kIntxGsiBase + (slot + static_cast<unsigned>(pin)) % kIntxGsiCount;
}

}  // namespace kagami::pci
