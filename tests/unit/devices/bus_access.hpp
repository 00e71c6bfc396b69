// Test helpers: integer-valued accesses of a given width through a Bus, as a vCPU exit makes them.
#pragma once

#include <cstdint>
#include <span>

#include "kagami/bus.hpp"

namespace kagami::testing {

inline uint64_t bus_read(Bus& bus, uint64_t addr, size_t width) {
  uint8_t bytes[8];
  bus.read(addr, std::span(bytes, width));
  uint64_t value = 0;
  for (size_t i = width; i-- > 0;) value = (value << 8) | bytes[i];
  return value;
}

inline void bus_write(Bus& bus, uint64_t addr, size_t width, uint64_t value) {
  uint8_t bytes[8];
  for (size_t i = 0; i < width; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
  bus.write(addr, std::span<const uint8_t>(bytes, width));
}

inline uint8_t inb(Bus& bus, uint64_t port) {
  return static_cast<uint8_t>(bus_read(bus, port, 1));
}
inline void outb(Bus& bus, uint64_t port, uint8_t value) {
  bus_write(bus, port, 1, value);
}

}  // namespace kagami::testing
