// Number formatting shared by the boot loaders' error messages (private to vmm/boot).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace kagami::boot_format {

// "0x1f": the form boot error messages use for addresses, offsets and sizes.
inline std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

// "[0x1000, 0x2000)": a half-open guest-physical range.
inline std::string range(uint64_t start, uint64_t size) {
  return "[" + hex(start) + ", " + hex(start + size) + ")";
}

}  // namespace kagami::boot_format
