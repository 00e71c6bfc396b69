// System control port B: channel 2 gate and output, refresh toggle.
#include "port61.hpp"

namespace kagami {
namespace {

constexpr uint8_t kGate2 = 0x01, kWritable = 0x0f, kRefresh = 0x10, kOut2 = 0x20;
constexpr unsigned kSpeakerChannel = 2;

}  // namespace

void Port61::reset() {
  std::lock_guard lock(mutex_);
  written_ = 0;
  refresh_ = false;
  pit_.set_gate(kSpeakerChannel, false);
}

void Port61::read(uint64_t, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (uint8_t& byte : data) {
    refresh_ = !refresh_;
    byte = static_cast<uint8_t>(written_ | (refresh_ ? kRefresh : 0) |
                                (pit_.output(kSpeakerChannel) ? kOut2 : 0));
  }
}

void Port61::write(uint64_t, std::span<const uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (uint8_t byte : data) {
    written_ = byte & kWritable;
    pit_.set_gate(kSpeakerChannel, byte & kGate2);
  }
}

void Port61::save_state(StateWriter& out) const {
  std::lock_guard lock(mutex_);
  out.u8("written", written_);
  out.flag("refresh", refresh_);
}

void Port61::load_state(const StateReader& in) {
  auto written = static_cast<uint8_t>(in.u32_max("written", kWritable));
  bool refresh = in.flag("refresh");
  std::lock_guard lock(mutex_);
  written_ = written;
  refresh_ = refresh;
}

}  // namespace kagami
