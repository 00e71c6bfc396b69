// 82093AA-style IOAPIC (version 0x20, 24 pins) that turns its redirection entries into MSIs.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>

#include "kagami/bus.hpp"
#include "kagami/irq.hpp"
#include "kagami/state.hpp"

namespace kagami {

// What one redirection entry sends: the x86 MSI message of the entry (address 0xFEE00000 with
// the destination in bits 19:4 and the destination mode in bit 2, redirection hint in bit 3 for
// lowest priority; data with vector, delivery mode, assert and trigger mode) and whether the
// entry is masked. KVM's split irqchip learns from MSI routes with the trigger bit set which
// vectors need an EOI exit, so the VMM mirrors every pin into the GSI route of the same number,
// masked or not: Linux masks a level entry while its (oneshot) handler runs and sends the EOI
// meanwhile, and without the route KVM would not exit for that EOI, leaving remote IRR set for
// good. (QEMU keeps the last unmasked route for the same reason.)
struct IoapicRoute {
  uint64_t address = 0;
  uint32_t data = 0;
  bool masked = true;
  bool level_triggered() const { return data & (1u << 15); }
};

// The IOAPIC of KVM's split irqchip: the local APICs are in the kernel, this model sits in the
// VMM. Inputs are pin(n), which take the electrical level of the pin: an entry programmed
// active low sees the inverse, so sources wired active low (PCI INTx#) go through
// ActiveLowIrqLine, which also drives their idle level. Edge entries deliver on a rising edge of
// the (polarity-corrected) input while unmasked; edges on a masked pin are lost, as on the
// 82093AA. Level entries deliver while the input is asserted, unmasked and remote IRR is clear,
// and set remote IRR; end_of_interrupt() clears it and delivers again if the input is still
// asserted. Delivery is MsiSink::signal_msi with the entry's route, instantaneous, so the
// delivery status bit always reads 0. Fixed and lowest-priority entries with a vector below 16,
// and the reserved delivery modes 3 and 6, are not delivered: the local APIC would refuse them.
//
// Registers (MMIO, offsets modulo 0x100 across the 4 KiB window as in QEMU): IOREGSEL at 0x00
// (8 bits, any width), IOWIN at 0x10 and the EOI register at 0x40 (32-bit accesses only; others
// are ignored and read 0). Indirect registers: ID (bits 27:24 writable), VER 0x00170020, ARB
// (the ID), redirection entries at 0x10 + 2n (low half) and 0x11 + 2n (high half), where remote
// IRR (bit 14) and delivery status (bit 12) are read-only and every other bit reads back as
// written (QEMU keeps reserved bits too). Unknown registers read 0 and ignore writes.
//
// Threads: one mutex guards the state; MsiSink and the route listener are called with it held,
// so they must not call back into the Ioapic (the listener gets the route it needs as argument).
class Ioapic final : public BusDevice, public Stateful {
 public:
  static constexpr uint64_t kDefaultBase = 0xfec00000;
  static constexpr uint64_t kWindowSize = 0x1000;
  static constexpr unsigned kPins = 24;
  static constexpr uint32_t kVersion = 0x20;

  // Called with a pin's new route whenever its redirection entry changes in a way that changes
  // the route (address, data or mask; not remote IRR).
  using RouteListener = std::function<void(unsigned pin, const IoapicRoute& route)>;

  // Reset state: ID 0 and every entry masked, edge, active high, vector 0.
  explicit Ioapic(MsiSink& msi, uint64_t base = kDefaultBase);
  Ioapic(const Ioapic&) = delete;
  Ioapic& operator=(const Ioapic&) = delete;

  // Back to the reset state (for a guest reboot); input levels stay, as the wires do. Tells the
  // route listener about every route that changes.
  void reset();

  // Joins the MMIO bus at [base, base + 4 KiB), any width (the model sorts widths out itself).
  // Inline so that this library does not depend on kagami_devices, which links it.
  void attach(Bus& mmio) { mmio.add(base_, kWindowSize, *this, kAnyWidth, "ioapic"); }

  // The input of pin n (0..23); throws std::out_of_range for other pins.
  IrqLine& pin(unsigned n);

  // The EOI broadcast for a vector (KVM_EXIT_IOAPIC_EOI, or a write of the EOI register).
  void end_of_interrupt(uint8_t vector);

  // The current route of pin n (0..23); throws std::out_of_range for other pins.
  IoapicRoute route(unsigned pin) const;

  // Set before vCPUs run; an empty function removes the listener.
  void set_route_listener(RouteListener listener);

  // The raw redirection entry of pin n, for tests and debugging; throws like route().
  uint64_t redirection_entry(unsigned pin) const;

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Stateful: ID, IOREGSEL, the redirection entries (remote IRR included) and the input levels.
  // A load tells the route listener about every route it changes and delivers nothing: what
  // was delivered before the save is in the local APICs' state. Load it before the devices that
  // drive its pins (see I8259Pair).
  void save_state(StateWriter& out) const override;
  void load_state(const StateReader& in) override;

 private:
  class Pin final : public IrqLine {
   public:
    Pin(Ioapic& ioapic, unsigned n) : ioapic_(ioapic), n_(n) {}
    void set_level(bool level) override { ioapic_.set_pin_level(n_, level); }

   private:
    Ioapic& ioapic_;
    unsigned n_;
  };

  void set_pin_level(unsigned n, bool level);
  uint32_t read_register(uint8_t index) const;
  void write_register(uint8_t index, uint32_t value);
  void write_entry_half(unsigned n, bool high, uint32_t value);
  void set_entry(unsigned n, uint64_t entry);
  void end_of_interrupt_locked(uint8_t vector);
  bool asserted(unsigned n) const;
  void service_level(unsigned n);
  void deliver(unsigned n);
  IoapicRoute route_locked(unsigned n) const;
  static void check_pin(unsigned n);

  const uint64_t base_;
  MsiSink& msi_;
  std::array<Pin, kPins> pins_;

  mutable std::mutex mutex_;  // guards everything below
  RouteListener route_listener_;
  std::array<uint64_t, kPins> entries_;
  uint32_t levels_ = 0;  // electrical input levels, bit n = pin n
  uint8_t ioregsel_ = 0;
  uint8_t id_ = 0;
};

// An active-low source (PCI INTx#) on an IOAPIC pin: asserted drives the pin low. Construction
// drives the pin to its idle high level, so an entry the guest programs active low does not see
// a phantom request from a line nobody has touched.
class ActiveLowIrqLine final : public IrqLine {
 public:
  explicit ActiveLowIrqLine(IrqLine& pin) : pin_(pin) { pin_.set_level(true); }
  void set_level(bool asserted) override { pin_.set_level(!asserted); }

 private:
  IrqLine& pin_;
};

}  // namespace kagami
