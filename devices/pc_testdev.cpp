// pc-testdev: the shared port register, the MMIO scratch window and the IRQ lines.
#include "pc_testdev.hpp"

#include <algorithm>

#include "kagami/le_bytes.hpp"

namespace kagami {

PcTestdev::PcTestdev(uint16_t ioport_base, uint16_t byte_ioport_base, uint64_t mmio_base)
    : ioport_base_(ioport_base), byte_ioport_base_(byte_ioport_base), mmio_base_(mmio_base) {}

// The bus does the splitting: the byte window declares only width 1, the MMIO window no width 8.
void PcTestdev::attach(Bus& io, Bus& mmio) {
  io.add(ioport_base_, 4, ioport_, kWidth1 | kWidth2 | kWidth4, "pc-testdev ioport");
  io.add(byte_ioport_base_, 4, ioport_, kWidth1, "pc-testdev ioport bytes");
  mmio.add(mmio_base_, kMmioSize, iomem_, kWidth1 | kWidth2 | kWidth4, "pc-testdev iomem");
  io.add(kIrqLinePortBase, kIrqLines, irq_lines_, kWidth1, "pc-testdev irq lines");
}

void PcTestdev::IrqLines::read(uint64_t, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), 0);
}

// Each line's level is kept by the controller it feeds (the IrqLine), so nothing is stored here.
void PcTestdev::IrqLines::write(uint64_t offset, std::span<const uint8_t> data) {
  if (IrqLine* line = lines.at(offset)) line->set_level(data[0] != 0);
}

// The bus keeps offset + width within the 4-byte window, so the bytes are offset..offset+width-1.
void PcTestdev::IoportRegister::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  store_le(data, value_ >> (8 * offset));
}

void PcTestdev::IoportRegister::write(uint64_t offset, std::span<const uint8_t> data) {
  uint32_t shift = static_cast<uint32_t>(8 * offset);
  uint32_t mask = static_cast<uint32_t>((uint64_t{1} << (8 * data.size())) - 1) << shift;
  std::lock_guard lock(mutex_);
  value_ = (value_ & ~mask) | (static_cast<uint32_t>(load_le(data) << shift) & mask);
}

void PcTestdev::Scratch::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  std::copy_n(bytes_.begin() + static_cast<ptrdiff_t>(offset), data.size(), data.begin());
}

void PcTestdev::Scratch::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mutex_);
  std::copy(data.begin(), data.end(), bytes_.begin() + static_cast<ptrdiff_t>(offset));
}

void PcTestdev::save_state(StateWriter& out) const {
  {
    std::lock_guard lock(ioport_.mutex_);
    out.u32("ioport", ioport_.value_);
  }
  std::lock_guard lock(iomem_.mutex_);
  out.bytes("scratch", iomem_.bytes_);
}

void PcTestdev::load_state(const StateReader& in) {
  uint32_t value = in.u32("ioport");
  std::vector<uint8_t> scratch(kMmioSize);
  in.bytes("scratch", scratch);
  {
    std::lock_guard lock(ioport_.mutex_);
    ioport_.value_ = value;
  }
  std::lock_guard lock(iomem_.mutex_);
  iomem_.bytes_ = std::move(scratch);
}

}  // namespace kagami
