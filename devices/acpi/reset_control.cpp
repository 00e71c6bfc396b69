// Reset control register: remembers the last byte, and a hard-reset write calls the VMM.
#include "reset_control.hpp"

#include <utility>

namespace kagami {

ResetControl::ResetControl(std::function<void()> on_reset) : on_reset_(std::move(on_reset)) {}

void ResetControl::attach(Bus& io, uint16_t port) {
  io.add(port, 1, *this, kWidth1, "reset control");
}

void ResetControl::read(uint64_t offset, std::span<uint8_t> data) {
  for (size_t i = 0; i < data.size(); ++i) data[i] = offset + i == 0 ? value_.load() : 0xff;
}

void ResetControl::write(uint64_t offset, std::span<const uint8_t> data) {
  if (offset != 0 || data.empty()) return;
  uint8_t value = data[0];
  value_.store(value);
  bool hard_reset = (value & (kRstCpu | kSysRst)) == (kRstCpu | kSysRst);
  if (hard_reset && on_reset_) on_reset_();
}

void ResetControl::save_state(StateWriter& out) const {
  out.u8("value", value_.load());
}

void ResetControl::load_state(const StateReader& in) {
  value_.store(in.u8("value"));
}

}  // namespace kagami
