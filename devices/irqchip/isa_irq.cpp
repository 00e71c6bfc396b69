// ISA interrupt fan-out to the PIC pair and the IOAPIC.
#include "isa_irq.hpp"

#include <stdexcept>
#include <string>

#include "line_array.hpp"

namespace kagami {
namespace {

constexpr unsigned kCascadeIrq = 2;

}  // namespace

IsaIrqRouter::IsaIrqRouter(I8259Pair& pic, Ioapic& ioapic)
    : pic_(pic), ioapic_(ioapic), lines_(irqchip::make_lines<Line, kIrqs>(*this)) {}

IrqLine& IsaIrqRouter::irq(unsigned isa_irq) {
  if (isa_irq >= kIrqs) {
    throw std::out_of_range("isa irq " + std::to_string(isa_irq) + " does not exist");
  }
  return lines_[isa_irq];
}

// The PIC first: nothing orders the two, and neither controller calls the other.
void IsaIrqRouter::Line::set_level(bool level) {
  if (irq_ == kCascadeIrq) return;
  router_.pic_.irq(irq_).set_level(level);
  router_.ioapic_.pin(gsi_of(irq_)).set_level(level);
}

}  // namespace kagami
