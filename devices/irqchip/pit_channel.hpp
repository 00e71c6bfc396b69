// One 8254 counter: mode, count, latches and gate, with its count and OUT derived from time.
#pragma once

#include <cstdint>
#include <optional>

#include "kagami/state.hpp"

namespace kagami::irqchip {

// A counter does not tick: it remembers when it started counting and computes the count and
// OUT for any time (in ns of the PIT's clock) from the number of 1.193182 MHz clocks since.
// Simplification: a count takes effect when written (hardware loads it on the next clock), and
// in modes 2 and 3 a new count restarts the period at once (hardware waits for the reload).
// Modes 6 and 7 are modes 2 and 3, but the status byte reports the mode bits as written. BCD
// counts are honoured (count 0 = 10000); a count with non-decimal digits is taken digit by
// digit (so 0xffff = 16665), which is bounded and as good as any other answer.
//
// Not thread-safe: the I8254 that owns it guards it.
class PitChannel {
 public:
  static constexpr uint64_t kFrequencyHz = 1193182;

  // Gate at reset: channels 0 and 1 are wired high on a PC, channel 2 comes from port 0x61.
  explicit PitChannel(bool gate) : gate_(gate) {}

  // A control word with RW != 0 (the counter-latch form goes to latch_count). The counter
  // stops until a new count is written; OUT goes low in mode 0 and high otherwise.
  void program(uint8_t control_word, uint64_t now);
  void write(uint8_t value, uint64_t now);
  uint8_t read(uint64_t now);
  // A second latch before the first is read is ignored, as on the 8254.
  void latch_count(uint64_t now);
  void latch_status(uint64_t now);

  void set_gate(bool level, uint64_t now);
  bool gate() const { return gate_; }
  bool output(uint64_t now) const;
  // The first time after `after` at which OUT rises, if it will without new input.
  std::optional<uint64_t> next_rising_edge(uint64_t after) const;
  // Modes 2 and 3 raise OUT every period.
  bool periodic() const { return mode() == 2 || mode() == 3; }

  // The channel's state with its time base relative to `now`, and a channel made from such a
  // state at this machine's `now`, every field checked (throws StateError naming the bad one).
  void save(StateWriter& out, uint64_t now) const;
  static PitChannel loaded(const StateReader& in, uint64_t now);

 private:
  enum class Phase { kWaitingForCount, kWaitingForGate, kCounting };

  unsigned mode() const { return mode_bits_ > 5 ? mode_bits_ - 4 : mode_bits_; }
  uint32_t modulus() const { return bcd_ ? 10000 : 65536; }
  void load(uint16_t raw, uint64_t now);
  void start(uint64_t now);
  void stop(uint64_t now);
  uint64_t elapsed_ticks(uint64_t now) const;
  uint64_t time_of_tick(uint64_t tick) const;
  uint32_t count_binary(uint64_t now) const;
  uint16_t count(uint64_t now) const;
  uint8_t status(uint64_t now) const;

  // Programming.
  uint8_t rw_ = 3;  // 1 LSB only, 2 MSB only, 3 LSB then MSB
  uint8_t mode_bits_ = 0;
  bool bcd_ = false;
  uint32_t reload_ = 65536;  // the initial count in clocks, 1..65536 (BCD: 1..16665)
  bool write_msb_next_ = false;
  uint8_t write_lsb_ = 0;
  bool read_msb_next_ = false;

  // Latches: bytes still to be read from the count latch, and the status latch.
  uint8_t latched_bytes_[2] = {};
  uint8_t latched_left_ = 0;
  uint8_t latched_next_ = 0;
  std::optional<uint8_t> latched_status_;

  // Counting.
  bool gate_;
  Phase phase_ = Phase::kWaitingForCount;
  bool paused_ = false;        // modes 0 and 4 with the gate low
  uint64_t start_ns_ = 0;      // when the clocks counted from ticks_before_ began
  uint64_t ticks_before_ = 0;  // clocks counted before a pause
  uint32_t held_count_ = 0;    // the count while not counting (binary)
};

}  // namespace kagami::irqchip
