// 8254 counter: modes 0-5, binary and BCD counts, latches and the status byte, all from time.
#include "pit_channel.hpp"

#include <limits>

namespace kagami::irqchip {
namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;
constexpr uint8_t kRwShift = 4, kModeShift = 1, kBcd = 0x01;
constexpr uint8_t kStatusOutput = 0x80, kStatusNullCount = 0x40;

uint64_t ns_to_ticks(uint64_t ns) {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(ns) * PitChannel::kFrequencyHz /
                               kNsPerSecond);
}

// Digit by digit, so that non-decimal digits give a bounded value instead of garbage.
uint32_t from_bcd(uint16_t raw) {
  return (raw >> 12 & 0xf) * 1000u + (raw >> 8 & 0xf) * 100u + (raw >> 4 & 0xf) * 10u + (raw & 0xf);
}

uint16_t to_bcd(uint32_t value) {
  return static_cast<uint16_t>((value / 1000 % 10) << 12 | (value / 100 % 10) << 8 |
                               (value / 10 % 10) << 4 | value % 10);
}

}  // namespace

void PitChannel::program(uint8_t control_word, uint64_t now) {
  stop(now);
  rw_ = (control_word >> kRwShift) & 3;
  mode_bits_ = (control_word >> kModeShift) & 7;
  bcd_ = control_word & kBcd;
  write_msb_next_ = false;
  read_msb_next_ = false;
  latched_left_ = 0;
  latched_status_.reset();
  phase_ = Phase::kWaitingForCount;
  paused_ = false;
}

// In mode 0 the first byte of a two-byte count stops the counter (and OUT falls) until the
// second arrives; in the other modes counting goes on with the old count meanwhile.
void PitChannel::write(uint8_t value, uint64_t now) {
  switch (rw_) {
    case 1: load(value, now); break;
    case 2: load(static_cast<uint16_t>(value << 8), now); break;
    default:
      if (!write_msb_next_) {
        write_lsb_ = value;
        write_msb_next_ = true;
        if (mode() == 0) {
          stop(now);
          phase_ = Phase::kWaitingForCount;
        }
      } else {
        write_msb_next_ = false;
        load(static_cast<uint16_t>(write_lsb_ | value << 8), now);
      }
      break;
  }
}

void PitChannel::load(uint16_t raw, uint64_t now) {
  stop(now);
  uint32_t count = bcd_ ? from_bcd(raw) : raw;
  reload_ = count == 0 ? modulus() : count;
  held_count_ = reload_;
  unsigned m = mode();
  if (m == 1 || m == 5 || (periodic() && !gate_)) {
    phase_ = Phase::kWaitingForGate;  // for a trigger, or for the gate to rise again
  } else {
    start(now);
  }
}

void PitChannel::start(uint64_t now) {
  phase_ = Phase::kCounting;
  ticks_before_ = 0;
  start_ns_ = now;
  paused_ = (mode() == 0 || mode() == 4) && !gate_;
}

void PitChannel::stop(uint64_t now) {
  if (phase_ == Phase::kCounting) held_count_ = count_binary(now);
}

// The gate pauses modes 0 and 4, triggers modes 1 and 5 on its rising edge, and in modes 2
// and 3 stops the counter (OUT high) while low and restarts the period when it rises.
void PitChannel::set_gate(bool level, uint64_t now) {
  if (level == gate_) return;
  if (phase_ == Phase::kCounting && (mode() == 0 || mode() == 4)) {
    if (level) {
      start_ns_ = now;
    } else {
      ticks_before_ = elapsed_ticks(now);
    }
    paused_ = !level;
  }
  gate_ = level;
  if (phase_ == Phase::kWaitingForCount || mode() == 0 || mode() == 4) return;
  if (level) {
    start(now);
  } else if (periodic()) {
    stop(now);
    phase_ = Phase::kWaitingForGate;
  }
}

uint64_t PitChannel::elapsed_ticks(uint64_t now) const {
  if (paused_) return ticks_before_;
  return ticks_before_ + ns_to_ticks(now > start_ns_ ? now - start_ns_ : 0);
}

// The first ns at which elapsed_ticks() reaches tick (tick >= ticks_before_).
uint64_t PitChannel::time_of_tick(uint64_t tick) const {
  unsigned __int128 ns =
      (static_cast<unsigned __int128>(tick - ticks_before_) * kNsPerSecond + kFrequencyHz - 1) /
      kFrequencyHz;
  ns += start_ns_;
  if (ns > std::numeric_limits<uint64_t>::max()) return std::numeric_limits<uint64_t>::max();
  return static_cast<uint64_t>(ns);
}

// Mode 3 counts down by two through each half period, the high half first (for odd counts one
// clock longer), which is close enough to the 8254's odd-count sequence for every reader.
uint32_t PitChannel::count_binary(uint64_t now) const {
  uint32_t m = modulus();
  if (phase_ != Phase::kCounting) return held_count_ % m;
  uint64_t d = elapsed_ticks(now);
  uint64_t n = reload_;
  uint64_t value;
  switch (mode()) {
    case 2: value = n - d % n; break;
    case 3: {
      uint64_t phase = d % n, high = (n + 1) / 2;
      value = n - 2 * (phase < high ? phase : phase - high);
      break;
    }
    default: value = (n % m + m - d % m) % m; break;  // 0, 1, 4, 5: wrap and go on
  }
  return static_cast<uint32_t>(value % m);
}

uint16_t PitChannel::count(uint64_t now) const {
  uint32_t value = count_binary(now);
  return bcd_ ? to_bcd(value) : static_cast<uint16_t>(value);
}

bool PitChannel::output(uint64_t now) const {
  switch (phase_) {
    case Phase::kWaitingForCount: return mode() != 0;
    case Phase::kWaitingForGate: return true;
    case Phase::kCounting: break;
  }
  uint64_t d = elapsed_ticks(now), n = reload_;
  switch (mode()) {
    case 0:
    case 1: return d >= n;
    case 2: return n == 1 || d % n != n - 1;  // low for the clock the count is 1
    case 3: return d % n < (n + 1) / 2;
    default: return d != n;  // 4, 5: low for the clock the count is 0
  }
}

std::optional<uint64_t> PitChannel::next_rising_edge(uint64_t after) const {
  if (phase_ != Phase::kCounting || paused_) return std::nullopt;
  uint64_t d = elapsed_ticks(after), n = reload_;
  uint64_t edge;
  switch (mode()) {
    case 0:
    case 1: edge = n; break;
    case 2:
    case 3: edge = (d / n + 1) * n; break;
    default: edge = n + 1; break;
  }
  if (edge <= d) return std::nullopt;
  return time_of_tick(edge);
}

void PitChannel::latch_count(uint64_t now) {
  if (latched_left_ != 0) return;
  uint16_t value = count(now);
  uint8_t lsb = static_cast<uint8_t>(value), msb = static_cast<uint8_t>(value >> 8);
  latched_next_ = 0;
  switch (rw_) {
    case 1: latched_bytes_[0] = lsb, latched_left_ = 1; break;
    case 2: latched_bytes_[0] = msb, latched_left_ = 1; break;
    default:
      latched_bytes_[0] = lsb, latched_bytes_[1] = msb;
      latched_left_ = 2;
      break;
  }
}

void PitChannel::latch_status(uint64_t now) {
  if (!latched_status_) latched_status_ = status(now);
}

// Null count: a count has been written (or the mode programmed) but not yet loaded into the
// counting element, which in modes 1 and 5 waits for a trigger.
uint8_t PitChannel::status(uint64_t now) const {
  bool null_count =
      phase_ == Phase::kWaitingForCount || (phase_ == Phase::kWaitingForGate && !periodic());
  return static_cast<uint8_t>((output(now) ? kStatusOutput : 0) |
                              (null_count ? kStatusNullCount : 0) | rw_ << kRwShift |
                              mode_bits_ << kModeShift | (bcd_ ? kBcd : 0));
}

uint8_t PitChannel::read(uint64_t now) {
  if (latched_status_) {
    uint8_t value = *latched_status_;
    latched_status_.reset();
    return value;
  }
  if (latched_left_ != 0) {
    --latched_left_;
    return latched_bytes_[latched_next_++];
  }
  uint16_t value = count(now);
  bool msb = rw_ == 2 || (rw_ == 3 && read_msb_next_);
  if (rw_ == 3) read_msb_next_ = !read_msb_next_;
  return static_cast<uint8_t>(msb ? value >> 8 : value);
}

}  // namespace kagami::irqchip
