// 8254 PIT: port decoding, the read-back command, and channel 0's interrupt through a timer hook.
#include "i8254.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>

namespace kagami {
namespace {

constexpr uint64_t kControlPort = 3;
constexpr uint8_t kSelectShift = 6, kReadBack = 3, kRwMask = 0x30;
constexpr uint8_t kReadBackNoCount = 0x20, kReadBackNoStatus = 0x10;

}  // namespace

uint64_t I8254::monotonic_ns() {
  auto since_epoch = std::chrono::steady_clock::now().time_since_epoch();
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count());
}

I8254::I8254(IrqLine& irq0, TimerHook timer_hook, Clock now_ns)
    : irq0_(irq0), timer_hook_(std::move(timer_hook)), now_(std::move(now_ns)) {}

void I8254::reset() {
  std::lock_guard lock(mutex_);
  channels_ = {irqchip::PitChannel(true), irqchip::PitChannel(true), irqchip::PitChannel(false)};
  channel0_changed(now_());
}

void I8254::check_channel(unsigned channel) {
  if (channel >= kChannels) {
    throw std::out_of_range("pit channel " + std::to_string(channel) + " does not exist");
  }
}

void I8254::timer_expired() {
  std::lock_guard lock(mutex_);
  uint64_t now = now_();
  if (deadline_ && now < *deadline_) {
    timer_hook_(deadline_);  // early: the timer is spent, ask again for the same time
    return;
  }
  fire_if_due(now);
}

// Raises IRQ 0 for a deadline that has passed and asks for the next one. A periodic channel's
// next interrupt comes no sooner than kMinPeriodNs after this deadline.
void I8254::fire_if_due(uint64_t now) {
  if (!deadline_ || now < *deadline_) return;
  irq0_.set_level(false);
  irq0_.set_level(true);
  irq0_level_ = channels_[0].output(now);
  if (!irq0_level_) irq0_.set_level(false);
  uint64_t after = now;
  if (channels_[0].periodic()) after = std::max(now, *deadline_ + kMinPeriodNs - 1);
  deadline_ = channels_[0].next_rising_edge(after);
  timer_hook_(deadline_);
}

// After the guest changed channel 0: the line takes OUT's new level (a rise here is an edge on
// hardware too) and the deadline moves to the next rising edge.
void I8254::channel0_changed(uint64_t now) {
  bool level = channels_[0].output(now);
  if (level != irq0_level_) {
    irq0_level_ = level;
    irq0_.set_level(level);
  }
  std::optional<uint64_t> deadline = channels_[0].next_rising_edge(now);
  if (deadline == deadline_) return;
  deadline_ = deadline;
  timer_hook_(deadline_);
}

void I8254::set_gate(unsigned channel, bool level) {
  check_channel(channel);
  std::lock_guard lock(mutex_);
  uint64_t now = now_();
  fire_if_due(now);
  channels_[channel].set_gate(level, now);
  if (channel == 0) channel0_changed(now);
}

bool I8254::output(unsigned channel) const {
  check_channel(channel);
  std::lock_guard lock(mutex_);
  return channels_[channel].output(now_());
}

void I8254::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  uint64_t now = now_();
  for (uint8_t& byte : data) byte = read_port(offset, now);
}

void I8254::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mutex_);
  uint64_t now = now_();
  fire_if_due(now);  // an interrupt due before this write happened before it
  for (uint8_t byte : data) write_port(offset, byte, now);
}

// The control register is write-only.
uint8_t I8254::read_port(uint64_t port, uint64_t now) {
  if (port >= kControlPort) return 0;
  return channels_[port].read(now);
}

void I8254::write_port(uint64_t port, uint8_t value, uint64_t now) {
  if (port > kControlPort) return;
  if (port == kControlPort) return write_control(value, now);
  channels_[port].write(value, now);
  if (port == 0) channel0_changed(now);
}

void I8254::write_control(uint8_t value, uint64_t now) {
  unsigned select = value >> kSelectShift;
  if (select == kReadBack) {
    for (unsigned channel = 0; channel < kChannels; ++channel) {
      if (!(value & (2u << channel))) continue;
      if (!(value & kReadBackNoCount)) channels_[channel].latch_count(now);
      if (!(value & kReadBackNoStatus)) channels_[channel].latch_status(now);
    }
    return;
  }
  if ((value & kRwMask) == 0) return channels_[select].latch_count(now);
  channels_[select].program(value, now);
  if (select == 0) channel0_changed(now);
}

}  // namespace kagami
