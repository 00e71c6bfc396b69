// Reset control register (port 0xCF9, as on Intel chipsets): the FADT's RESET_REG.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>

#include "kagami/bus.hpp"
#include "kagami/state.hpp"

namespace kagami {

// One byte register. A write with RST_CPU (bit 2) and SYS_RST (bit 1) both set asks for a hard
// reset of the machine: on_reset runs, on the vCPU thread that wrote it. The FADT's reset value
// 0x06 is such a write, and so is the second write of Linux's reboot=pci sequence (0x02, 0x06).
// RST_CPU without SYS_RST (a soft reset, INIT of the CPUs only) is not modelled and does
// nothing. Reads return the last value written, all 8 bits.
//
// On the port bus 0xcf9 falls inside the dword of PCI's 0xcf8 address register, so the device
// is normally reached through PciRoot::attach(&reset_control), which passes it byte accesses to
// 0xcf9 at offset 0; attach() is for a machine without that register.
class ResetControl final : public BusDevice, public Stateful {
 public:
  static constexpr uint16_t kDefaultPort = 0xcf9;
  static constexpr uint8_t kSysRst = 1u << 1, kRstCpu = 1u << 2, kFullRst = 1u << 3;

  explicit ResetControl(std::function<void()> on_reset);

  // Joins the port bus at [port, port + 1), byte-wide.
  void attach(Bus& io, uint16_t port = kDefaultPort);

  uint8_t value() const { return value_.load(); }

  // Only the byte at offset 0 is the register; others read as all ones and are ignored.
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Stateful: the last value written. A load never resets the machine.
  void save_state(StateWriter& out) const override;
  void load_state(const StateReader& in) override;

 private:
  const std::function<void()> on_reset_;
  std::atomic<uint8_t> value_{0};
};

}  // namespace kagami
