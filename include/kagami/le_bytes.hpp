// Little-endian conversion between bytes (bus accesses, boot images, firmware tables) and integers.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace kagami {

// Up to 8 bytes, least significant first, as x86 puts them on the bus.
inline uint64_t load_le(std::span<const uint8_t> bytes) {
  uint64_t value = 0;
  for (size_t i = bytes.size(); i-- > 0;) value = (value << 8) | bytes[i];
  return value;
}

inline void store_le(std::span<uint8_t> bytes, uint64_t value) {
  for (uint8_t& byte : bytes) {
    byte = static_cast<uint8_t>(value);
    value >>= 8;
  }
}

// Appends the `size` low bytes of value, least significant first.
inline void append_le(std::vector<uint8_t>& out, uint64_t value, size_t size) {
  for (size_t i = 0; i < size; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

}  // namespace kagami
