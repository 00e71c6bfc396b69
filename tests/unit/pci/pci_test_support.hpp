// Test helpers for devices/pci: a memory-backed BAR device, a recording IRQ line, config access.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "bus_access.hpp"
#include "kagami/bus.hpp"
#include "kagami/irq.hpp"
#include "pci/pci_device.hpp"
#include "pci/pci_root.hpp"

namespace kagami::testing {

// A BAR's register block: bytes that read back what was written, each initially its own offset.
class RegisterBlock : public BusDevice {
 public:
  explicit RegisterBlock(size_t size = 0x1000) : bytes_(size) {
    for (size_t i = 0; i < size; ++i) bytes_[i] = static_cast<uint8_t>(i);
  }
  void read(uint64_t offset, std::span<uint8_t> data) override {
    std::lock_guard lock(mutex_);
    ++accesses_;
    for (size_t i = 0; i < data.size(); ++i) data[i] = bytes_[(offset + i) % bytes_.size()];
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    std::lock_guard lock(mutex_);
    ++accesses_;
    for (size_t i = 0; i < data.size(); ++i) bytes_[(offset + i) % bytes_.size()] = data[i];
  }
  uint64_t accesses() {
    std::lock_guard lock(mutex_);
    return accesses_;
  }

 private:
  std::mutex mutex_;
  std::vector<uint8_t> bytes_;
  uint64_t accesses_ = 0;
};

// Records every level it is set to.
class RecordingIrqLine : public IrqLine {
 public:
  void set_level(bool asserted) override {
    std::lock_guard lock(mutex_);
    levels.push_back(asserted);
  }
  bool level() {
    std::lock_guard lock(mutex_);
    return !levels.empty() && levels.back();
  }
  std::mutex mutex_;
  std::vector<bool> levels;
};

// Config mechanism #1, as Linux's pci_conf1_read/write drive it.
inline uint32_t config_address(unsigned bus, unsigned slot, unsigned function, unsigned reg) {
  return 0x8000'0000u | (bus << 16) | (slot << 11) | (function << 8) | (reg & 0xfc);
}

inline uint64_t conf1_read(Bus& io, unsigned slot, unsigned reg, size_t width, unsigned bus = 0,
                           unsigned function = 0) {
  bus_write(io, 0xcf8, 4, config_address(bus, slot, function, reg));
  return bus_read(io, 0xcfc + (reg & 3), width);
}

inline void conf1_write(Bus& io, unsigned slot, unsigned reg, size_t width, uint64_t value,
                        unsigned bus = 0, unsigned function = 0) {
  bus_write(io, 0xcf8, 4, config_address(bus, slot, function, reg));
  bus_write(io, 0xcfc + (reg & 3), width, value);
}

inline uint64_t ecam_address(unsigned bus, unsigned slot, unsigned function, unsigned reg) {
  return 0xe000'0000ull + (uint64_t{bus} << 20) + (slot << 15) + (function << 12) + reg;
}

}  // namespace kagami::testing
