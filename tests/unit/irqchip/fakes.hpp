// Test doubles for the interrupt controllers: a recording MSI sink and a recording IRQ line.
#pragma once

#include <cstdint>
#include <vector>

#include "kagami/irq.hpp"

namespace kagami::testing {

struct Msi {
  uint64_t address;
  uint32_t data;
  bool operator==(const Msi&) const = default;
};

class RecordingMsiSink final : public MsiSink {
 public:
  void signal_msi(uint64_t address, uint32_t data) override { messages.push_back({address, data}); }
  std::vector<Msi> messages;
};

// Remembers the level and counts rising edges, as an edge-triggered controller input would.
class RecordingLine final : public IrqLine {
 public:
  void set_level(bool asserted) override {
    if (asserted && !level) ++rising_edges;
    level = asserted;
    ++calls;
  }
  bool level = false;
  unsigned rising_edges = 0;
  unsigned calls = 0;
};

}  // namespace kagami::testing
