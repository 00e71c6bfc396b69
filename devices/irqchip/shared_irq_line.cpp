// Wired-OR interrupt line: counts asserted sources and drives the target on 0 <-> 1 changes.
#include "shared_irq_line.hpp"

namespace kagami {

IrqLine& SharedIrqLine::add_source() {
  std::lock_guard lock(mutex_);
  return sources_.emplace_back(*this);
}

void SharedIrqLine::set_source(Source& source, bool asserted) {
  std::lock_guard lock(mutex_);
  if (source.asserted == asserted) return;
  source.asserted = asserted;
  if (asserted) {
    if (++asserted_count_ == 1) target_.set_level(true);
  } else {
    if (--asserted_count_ == 0) target_.set_level(false);
  }
}

}  // namespace kagami
