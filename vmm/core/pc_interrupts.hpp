// The PC's interrupt controllers in the VMM, wired to the in-kernel local APICs (KVM's split
// irqchip): the 8259 pair, the IOAPIC, the ISA IRQ fan-out, the 8254 PIT and port 0x61.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "core/deadline_timer.hpp"
#include "core/device_state.hpp"
#include "core/event_loop.hpp"
#include "irqchip/i8254.hpp"
#include "irqchip/i8259.hpp"
#include "irqchip/ioapic.hpp"
#include "irqchip/isa_irq.hpp"
#include "irqchip/port61.hpp"
#include "kagami/bus.hpp"
#include "kagami/hypervisor.hpp"
#include "kagami/irq.hpp"

namespace kagami {

class PcInterrupts final : private MsiSink {
 public:
  // Turns on KVM_CAP_SPLIT_IRQCHIP on vm (before any vCPU exists) with the IOAPIC's 24 pins.
  PcInterrupts(Vm& vm, EventLoop& loop);
  ~PcInterrupts() override;
  PcInterrupts(const PcInterrupts&) = delete;
  PcInterrupts& operator=(const PcInterrupts&) = delete;

  void attach(Bus& io, Bus& mmio);

  // ISA IRQ n (0-15): to the PIC and to the IOAPIC (IRQ 0 on pin 2).
  IrqLine& isa_irq(unsigned n) { return isa_->irq(n); }
  // IOAPIC pin n (0-23), for PCI INTx and the SCI.
  IrqLine& ioapic_pin(unsigned n) { return ioapic_->pin(n); }

  // Called when the PIC's output rises, to kick the boot vCPU's thread out of KVM_RUN.
  void set_extint_kick(std::function<void()> kick) { extint_kick_ = std::move(kick); }

  // The boot vCPU's thread, before each KVM_RUN: hands the PIC's vector over with
  // KVM_INTERRUPT when the vCPU can take it, and asks for an interrupt window otherwise.
  void before_run(Vcpu& boot_vcpu);
  // An MSI route of its own for an irqfd (gsi at or above Ioapic::kPins), kept in every routing
  // table this class writes. Thread-safe; rewrites KVM's table at once.
  void set_msi_route(uint32_t gsi, uint64_t address, uint32_t data);

  // The controllers' state nodes, in the order they load: the IOAPIC before the PIC and the
  // PIT, which drive its pins.
  void add_devices(std::vector<NamedDevice>& out) const;

  // KVM_EXIT_IOAPIC_EOI: the guest ended a level-triggered IOAPIC interrupt.
  void ioapic_eoi(uint8_t vector) { ioapic_->end_of_interrupt(vector); }

 private:
  void signal_msi(uint64_t address, uint32_t data) override;
  void route_changed(unsigned pin, const IoapicRoute& route);
  void commit_routes();  // with routes_lock_ held

  Vm& vm_;
  std::function<void()> extint_kick_;
  std::unique_ptr<I8259Pair> pic_;
  std::unique_ptr<Ioapic> ioapic_;
  std::unique_ptr<IsaIrqRouter> isa_;
  std::unique_ptr<I8254> pit_;
  std::unique_ptr<Port61> port61_;

  std::mutex routes_lock_;  // guards routes_, extra_routes_; serializes KVM_SET_GSI_ROUTING
  std::array<IoapicRoute, Ioapic::kPins> routes_{};
  std::map<uint32_t, Vm::MsiRoute> extra_routes_;  // by GSI
  std::unique_ptr<DeadlineTimer> pit_timer_;
};

}  // namespace kagami
