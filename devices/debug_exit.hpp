// Debug-exit port, compatible with QEMU's isa-debug-exit (iobase=0xf4, iosize=4).
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "kagami/bus.hpp"

namespace kagami {

// Any write of value V (the little-endian data of the access, 1, 2 or 4 bytes, at any of the
// four ports) calls on_exit((V << 1) | 1), truncated to 32 bits like QEMU's exit status
// argument; the process exit status the VMM derives from it is its low 8 bits. Reads return 0,
// as QEMU's isa-debug-exit does, so a guest can probe for it.
class DebugExit final : public BusDevice {
 public:
  static constexpr uint16_t kDefaultBase = 0xf4;
  static constexpr uint64_t kPorts = 4;

  // on_exit runs on the vCPU thread that wrote the port.
  explicit DebugExit(std::function<void(int)> on_exit, uint16_t base = kDefaultBase);

  // Joins the port bus at [base, base + 4) with widths 1, 2 and 4.
  void attach(Bus& io);

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  const uint16_t base_;
  const std::function<void(int)> on_exit_;
};

}  // namespace kagami
