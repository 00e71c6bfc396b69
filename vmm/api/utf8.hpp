// UTF-8 validation shared by the JSON parser (refuses invalid text) and writer (replaces it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kagami {

// The length (2 to 4) of the valid multi-byte UTF-8 sequence at text[at], or 0: a stray or
// truncated sequence, an overlong form, a surrogate, or beyond U+10FFFF.
inline size_t utf8_sequence_length(std::string_view text, size_t at) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[at + i]); };
  unsigned char lead = byte(0);
  size_t length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0;
  if (length == 0 || lead > 0xf4 || text.size() - at < length) return 0;
  uint32_t cp = lead & (0x7f >> length);
  for (size_t i = 1; i < length; i++) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i) & 0x3f);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[length] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return length;
}

}  // namespace kagami
