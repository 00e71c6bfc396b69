// Interrupt wiring between devices and interrupt controllers: lines and MSI messages.
#pragma once

#include <cstdint>

namespace kagami {

// One interrupt request line into a controller (a PIC or IOAPIC pin). Devices hold an IrqLine&
// and never know which controller is behind it. Edge-triggered inputs see a rising edge when
// the level goes from low to high; pulse() is the edge a device raises for one event.
// Thread-safe: called from vCPU threads and the event loop alike.
class IrqLine {
 public:
  virtual ~IrqLine() = default;
  virtual void set_level(bool asserted) = 0;
  void pulse() {
    set_level(true);
    set_level(false);
  }
};

// Delivers a message-signalled interrupt (x86 format: address 0xFEExxxxx with the destination
// APIC ID in bits 19:12 and the destination mode in bit 2; data with the vector in bits 7:0,
// delivery mode in bits 10:8, trigger mode in bit 15) to the local APICs. Behind it is
// KVM_SIGNAL_MSI or an irqfd with an MSI route. Thread-safe.
class MsiSink {
 public:
  virtual ~MsiSink() = default;
  virtual void signal_msi(uint64_t address, uint32_t data) = 0;
};

}  // namespace kagami
