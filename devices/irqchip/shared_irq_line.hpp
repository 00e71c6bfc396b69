// Wired-OR of several interrupt sources onto one controller input (shared PCI INTx lines).
#pragma once

#include <deque>
#include <mutex>

#include "kagami/irq.hpp"

namespace kagami {

// The target is asserted while any source is, as on an open-drain INTx# line that several PCI
// functions pull. Each source must be its own IrqLine: with a plain shared IrqLine, one device
// deasserting would hide another's pending request. For an active-low IOAPIC input the target
// is an ActiveLowIrqLine. Thread-safe; the target is called with this line's lock held.
class SharedIrqLine {
 public:
  explicit SharedIrqLine(IrqLine& target) : target_(target) {}
  SharedIrqLine(const SharedIrqLine&) = delete;
  SharedIrqLine& operator=(const SharedIrqLine&) = delete;

  // A new source, initially deasserted, valid as long as this object. Add sources before the
  // devices behind them run.
  IrqLine& add_source();

 private:
  class Source final : public IrqLine {
   public:
    explicit Source(SharedIrqLine& shared) : shared_(shared) {}
    void set_level(bool asserted) override { shared_.set_source(*this, asserted); }
    bool asserted = false;  // guarded by shared_.mutex_

   private:
    SharedIrqLine& shared_;
  };

  void set_source(Source& source, bool asserted);

  IrqLine& target_;
  std::mutex mutex_;            // guards everything below
  std::deque<Source> sources_;  // a deque: references to its elements stay valid as it grows
  unsigned asserted_count_ = 0;
};

}  // namespace kagami
