// Reading back what a loader left in guest RAM: little-endian words, strings and byte ranges.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kagami/guest_memory.hpp"

namespace kagami::test {

inline constexpr uint64_t kMiB = 1ull << 20;
inline constexpr uint64_t kGiB = 1ull << 30;

inline std::vector<uint8_t> guest_bytes(const GuestMemory& memory, uint64_t gpa, size_t size) {
  std::vector<uint8_t> bytes(size);
  EXPECT_TRUE(memory.read(gpa, bytes)) << "not RAM: " << gpa;
  return bytes;
}

inline uint64_t guest_le(const GuestMemory& memory, uint64_t gpa, int size) {
  std::vector<uint8_t> bytes = guest_bytes(memory, gpa, size);
  uint64_t value = 0;
  for (int i = 0; i < size; ++i) value |= uint64_t{bytes[i]} << (8 * i);
  return value;
}

inline uint32_t guest_u32(const GuestMemory& memory, uint64_t gpa) {
  return static_cast<uint32_t>(guest_le(memory, gpa, 4));
}

inline std::string guest_string(const GuestMemory& memory, uint64_t gpa) {
  std::string text;
  for (uint8_t c; (c = guest_bytes(memory, gpa + text.size(), 1)[0]) != 0;) {
    text.push_back(static_cast<char>(c));
    if (text.size() > 4096) break;
  }
  return text;
}

inline bool guest_range_is(const GuestMemory& memory, uint64_t gpa, size_t size, uint8_t value) {
  for (uint8_t b : guest_bytes(memory, gpa, size))
    if (b != value) return false;
  return true;
}

inline void fill_guest(GuestMemory& memory, uint64_t gpa, size_t size, uint8_t value) {
  uint8_t* host = memory.host_address(gpa, size);
  ASSERT_NE(host, nullptr);
  std::memset(host, value, size);
}

}  // namespace kagami::test
