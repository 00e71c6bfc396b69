// pc-testdev, as QEMU's hw/misc/pc-testdev.c: a port register and 64 KiB of MMIO scratch memory.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "kagami/bus.hpp"
#include "kagami/irq.hpp"
#include "kagami/state.hpp"

namespace kagami {

// Port base (0xe0..0xe3): one 32-bit register; an access of width 1, 2 or 4 at byte offset
// o = port & 3 reads or replaces bytes o..o+width-1 of it. Port byte base (0xe8..0xeb): the
// same register, but every access is split into byte accesses (by the bus). MMIO base
// (0xff000000, 64 KiB): little-endian scratch memory taking widths 1, 2 and 4, with 8-byte
// accesses split into two 4-byte halves by the bus, as QEMU does. Accesses that cross the end
// of a window are unassigned. IRQ lines (0x2000..0x2017, byte writes): writing a nonzero byte
// to 0x2000 + n raises line n, zero lowers it; reads return 0. Lines 0-15 are the ISA IRQs as in
// QEMU (which accepts only those); kagami wires 16-23 to IOAPIC pins 16-23. QEMU's flush-page
// port (0xe4) is absent.
class PcTestdev final : public Stateful {
 public:
  static constexpr uint16_t kDefaultIoportBase = 0xe0;
  static constexpr uint16_t kDefaultByteIoportBase = 0xe8;
  static constexpr uint64_t kDefaultMmioBase = 0xff000000;
  static constexpr uint64_t kMmioSize = 0x10000;
  static constexpr uint16_t kIrqLinePortBase = 0x2000;
  static constexpr unsigned kIrqLines = 24;

  explicit PcTestdev(uint16_t ioport_base = kDefaultIoportBase,
                     uint16_t byte_ioport_base = kDefaultByteIoportBase,
                     uint64_t mmio_base = kDefaultMmioBase);

  void attach(Bus& io, Bus& mmio);
  // Wires IRQ line n (below kIrqLines) to irq; writes to an unwired line are ignored.
  void connect_irq_line(unsigned n, IrqLine& irq) { irq_lines_.lines.at(n) = &irq; }

  // Stateful: the port register and the scratch memory. The IRQ lines' levels are kept by the
  // interrupt controllers they feed, and saved there.
  void save_state(StateWriter& out) const override;
  void load_state(const StateReader& in) override;

 private:
  class IrqLines final : public BusDevice {
   public:
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;
    std::array<IrqLine*, kIrqLines> lines{};
  };

  class IoportRegister final : public BusDevice {
   public:
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

   private:
    friend class PcTestdev;
    mutable std::mutex mutex_;
    uint32_t value_ = 0;
  };

  class Scratch final : public BusDevice {
   public:
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

   private:
    friend class PcTestdev;
    mutable std::mutex mutex_;
    std::vector<uint8_t> bytes_ = std::vector<uint8_t>(kMmioSize);
  };

  const uint16_t ioport_base_;
  const uint16_t byte_ioport_base_;
  const uint64_t mmio_base_;
  IoportRegister ioport_;
  Scratch iomem_;
  IrqLines irq_lines_;
};

}  // namespace kagami
