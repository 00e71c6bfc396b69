// System control port B (0x61): PIT channel 2's gate and output, speaker data, refresh toggle.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>

#include "irqchip/i8254.hpp"
#include "kagami/bus.hpp"
#include "kagami/state.hpp"

namespace kagami {

// Bit 0: channel 2 gate (read/write). Bit 1: speaker data enable (kept; there is no speaker).
// Bits 2 and 3: parity and I/O channel check disables (kept as written). Bit 4: the DRAM
// refresh toggle, read-only, flipping on every read (QEMU's stand-in for the 15 us refresh
// clock, enough for code that waits for it to change). Bit 5: channel 2's OUT, read-only,
// which Linux polls to calibrate the TSC. Bits 6 and 7 (I/O channel check and parity error)
// read 0: no NMI source ever reports here.
class Port61 final : public BusDevice, public Stateful {
 public:
  static constexpr uint16_t kPort = 0x61;

  explicit Port61(I8254& pit) : pit_(pit) {}

  // Back to the reset state (for a guest reboot), after the PIT's reset: all bits 0.
  void reset();

  // Joins the port bus at 0x61, byte-wide. Inline so that this library does not depend on
  // kagami_devices, which links it.
  void attach(Bus& io) { io.add(kPort, 1, *this, kWidth1, "port 61"); }

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Stateful: the written bits and the refresh toggle. Channel 2's gate is the PIT's state and
  // is saved there, so a load does not touch the PIT.
  void save_state(StateWriter& out) const override;
  void load_state(const StateReader& in) override;

 private:
  I8254& pit_;
  mutable std::mutex mutex_;  // guards the bits below
  uint8_t written_ = 0;       // bits 0-3 as last written
  bool refresh_ = false;
};

}  // namespace kagami
