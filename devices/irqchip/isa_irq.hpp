// The ISA interrupt fan-out: each of the 16 ISA IRQs drives a PIC input and an IOAPIC pin.
#pragma once

#include <array>

#include "irqchip/i8259.hpp"
#include "irqchip/ioapic.hpp"
#include "kagami/irq.hpp"

namespace kagami {

// ISA devices take irq(n) and never know that two controllers listen: the PIC's IRQ n and the
// IOAPIC's pin n, except IRQ 0 (the PIT), which is wired to IOAPIC pin 2 as the MADT's
// interrupt source override says (IOAPIC pin 0 then stays free, as on QEMU's PC). IRQ 2 goes
// nowhere: on the PIC it is the slave's cascade input and IOAPIC pin 2 is IRQ 0's, so a device
// given IRQ 2 would fight the PIT for it.
class IsaIrqRouter {
 public:
  static constexpr unsigned kIrqs = 16;

  IsaIrqRouter(I8259Pair& pic, Ioapic& ioapic);
  IsaIrqRouter(const IsaIrqRouter&) = delete;
  IsaIrqRouter& operator=(const IsaIrqRouter&) = delete;

  // ISA IRQ n (0..15); throws std::out_of_range for other IRQs.
  IrqLine& irq(unsigned isa_irq);

  // The IOAPIC pin (= GSI) an ISA IRQ reaches.
  static constexpr unsigned gsi_of(unsigned isa_irq) { return isa_irq == 0 ? 2 : isa_irq; }

 private:
  class Line final : public IrqLine {
   public:
    Line(IsaIrqRouter& router, unsigned irq) : router_(router), irq_(irq) {}
    void set_level(bool level) override;

   private:
    IsaIrqRouter& router_;
    unsigned irq_;
  };

  I8259Pair& pic_;
  Ioapic& ioapic_;
  std::array<Line, kIrqs> lines_;
};

}  // namespace kagami
