// Debug-exit port: a guest write ends the VMM with status (value << 1) | 1.
#include "debug_exit.hpp"

#include <algorithm>
#include <utility>

#include "kagami/le_bytes.hpp"

namespace kagami {

DebugExit::DebugExit(std::function<void(int)> on_exit, uint16_t base)
    : base_(base), on_exit_(std::move(on_exit)) {}

void DebugExit::attach(Bus& io) {
  io.add(base_, kPorts, *this, kWidth1 | kWidth2 | kWidth4, "debug exit");
}

void DebugExit::read(uint64_t, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), uint8_t{0});
}

void DebugExit::write(uint64_t, std::span<const uint8_t> data) {
  uint32_t status = static_cast<uint32_t>((load_le(data) << 1) | 1);
  if (on_exit_) on_exit_(static_cast<int>(status));
}

}  // namespace kagami
