// 8254 saved state: each counter's programming, latches and time base, and channel 0's timer.
#include <algorithm>
#include <string>

#include "i8254.hpp"
#include "pit_channel.hpp"
#include "state_fields.hpp"

namespace kagami {
namespace irqchip {
namespace {

constexpr uint64_t kNsPerSecond = 1'000'000'000;
// Far beyond any real value (2^62 ns is 146 years) and far from overflowing the arithmetic.
constexpr uint64_t kMaxTime = uint64_t{1} << 62;
constexpr uint32_t kMaxReload = 65536, kMaxBcdReload = 16665;  // see PitChannel::load

}  // namespace

void PitChannel::save(StateWriter& out, uint64_t now) const {
  out.u8("rw", rw_);
  out.u8("mode", mode_bits_);
  out.flag("bcd", bcd_);
  out.u32("reload", reload_);
  out.flag("write-msb-next", write_msb_next_);
  out.u8("write-lsb", write_lsb_);
  out.flag("read-msb-next", read_msb_next_);
  out.bytes("latch", latched_bytes_);
  out.u8("latch-left", latched_left_);
  out.u8("latch-next", latched_next_);
  out.flag("status-latched", latched_status_.has_value());
  out.u8("status-latch", latched_status_.value_or(0));
  out.flag("gate", gate_);
  out.u8("phase", static_cast<uint8_t>(phase_));
  out.flag("paused", paused_);
  out.u64("since-start-ns", now > start_ns_ ? now - start_ns_ : 0);
  out.u64("ticks-before", ticks_before_);
  out.u32("held-count", held_count_);
}

// Counting depends on the time base only through ticks_before_ + ticks(now - start_ns_). When
// this host's clock is younger than the time since the start, the start moves later by whole
// seconds, each exactly kFrequencyHz ticks, which ticks_before_ takes over.
PitChannel PitChannel::loaded(const StateReader& in, uint64_t now) {
  using state_fields::require;
  PitChannel c(in.flag("gate"));
  c.rw_ = static_cast<uint8_t>(in.u32_max("rw", 3));
  require(c.rw_ != 0, in, "rw", "0 is the latch command, not a mode");
  c.mode_bits_ = static_cast<uint8_t>(in.u32_max("mode", 7));
  c.bcd_ = in.flag("bcd");
  c.reload_ = in.u32_max("reload", c.bcd_ ? kMaxBcdReload : kMaxReload);
  require(c.reload_ != 0, in, "reload", "a count of 0 clocks");
  c.write_msb_next_ = in.flag("write-msb-next");
  c.write_lsb_ = in.u8("write-lsb");
  c.read_msb_next_ = in.flag("read-msb-next");
  in.bytes("latch", c.latched_bytes_);
  c.latched_left_ = static_cast<uint8_t>(in.u32_max("latch-left", 2));
  c.latched_next_ = static_cast<uint8_t>(in.u32_max("latch-next", 2 - c.latched_left_));
  bool status_latched = in.flag("status-latched");
  uint8_t status = in.u8("status-latch");
  if (status_latched) c.latched_status_ = status;
  c.phase_ = static_cast<Phase>(in.u32_max("phase", static_cast<uint32_t>(Phase::kCounting)));
  c.paused_ = in.flag("paused");
  uint64_t since = state_fields::u64_max(in, "since-start-ns", kMaxTime);
  c.ticks_before_ = state_fields::u64_max(in, "ticks-before", kMaxTime);
  c.held_count_ = in.u32_max("held-count", kMaxReload);
  if (since > now && !c.paused_) {
    uint64_t seconds =
        std::min((since - now + kNsPerSecond - 1) / kNsPerSecond, since / kNsPerSecond);
    since -= seconds * kNsPerSecond;
    c.ticks_before_ += seconds * kFrequencyHz;
  }
  c.start_ns_ = now - std::min(since, now);
  return c;
}

}  // namespace irqchip

namespace {

constexpr uint64_t kMaxDeadlineNs = 1'000'000'000;  // a PIT deadline is at most ~55 ms away

std::string channel_node(unsigned channel) {
  return "channel-" + std::to_string(channel);
}

}  // namespace

void I8254::save_state(StateWriter& out) const {
  std::lock_guard lock(mutex_);
  uint64_t now = now_();
  for (unsigned n = 0; n < kChannels; ++n) {
    out.begin_node(channel_node(n));
    channels_[n].save(out, now);
    out.end_node();
  }
  out.flag("irq0-level", irq0_level_);
  out.flag("armed", deadline_.has_value());
  out.u64("deadline-ns", deadline_ && *deadline_ > now ? *deadline_ - now : 0);
}

void I8254::load_state(const StateReader& in) {
  bool level = in.flag("irq0-level");
  bool armed = in.flag("armed");
  uint64_t due_in = state_fields::u64_max(in, "deadline-ns", kMaxDeadlineNs);
  std::lock_guard lock(mutex_);
  uint64_t now = now_();
  std::array<irqchip::PitChannel, kChannels> channels = channels_;
  for (unsigned n = 0; n < kChannels; ++n)
    channels[n] = irqchip::PitChannel::loaded(*in.node(channel_node(n)), now);
  channels_ = channels;
  if (level != irq0_level_) {
    irq0_level_ = level;
    irq0_.set_level(level);
  }
  deadline_ = armed ? std::optional<uint64_t>(now + due_in) : std::nullopt;
  timer_hook_(deadline_);
}

}  // namespace kagami
