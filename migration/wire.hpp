// The migration wire format, in one place: message types, their bounds, and framing.
//
// Every message is a frame: u32 type, u32 payload length (little-endian), then the payload.
// Each type has a fixed size or an upper bound (kMessageBounds); a frame whose length is out of
// its bounds is refused before anything is allocated or read. docs/migration.md documents each
// payload; the constants here are the reference.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace kagami::wire {

inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr size_t kHeaderSize = 8;
inline constexpr size_t kNonceSize = 32;
inline constexpr size_t kTagSize = 32;  // HMAC-SHA256
inline constexpr size_t kPageSize = 4096;

enum class Type : uint32_t {
  kChallenge = 1,     // D->S  u32 version, u32 flags (kKeyRequired), u8 challenge[32]
  kHello = 2,         // S->D  u32 version, u32 flags (kLocal), u8 nonce[32], u8 proof[32]
  kWelcome = 3,       // D->S  u8 proof[32]
  kRefused = 4,       // D->S  the reason, UTF-8 text
  kDescribe = 5,      // S->D  the source's machine description (FDT)
  kAccepted = 6,      // D->S  empty: the descriptions match
  kPage = 7,          // S->D  u64 page number, u8 data[4096]
  kZeroPages = 8,     // S->D  u64 first page, u64 count: pages that read as zeros
  kPassEnd = 9,       // S->D  u32 pass index
  kMemfd = 10,        // S->D  u64 RAM size; the memfd travels as SCM_RIGHTS (local only)
  kState = 11,        // S->D  save_state()'s blob (FDT)
  kStateLoaded = 12,  // D->S  empty: load_state succeeded
  kGo = 13,           // S->D  empty: the source will not run again; run
  kRunning = 14,      // D->S  empty: received go
  kMac = 15,          // both  u8 tag[32]: HMAC of the stream in this direction so far
};

// Flags of kChallenge and kHello.
inline constexpr uint32_t kFlagKeyRequired = 1;  // kChallenge: prove knowledge of the key
inline constexpr uint32_t kFlagLocal = 1;        // kHello: memfd hand-over, no RAM copied

inline constexpr size_t kMaxRefusal = 4096;
inline constexpr size_t kMaxDescribe = 1 << 20;
inline constexpr size_t kMaxState = 64 << 20;

struct Bounds {
  size_t min;
  size_t max;
};

// The payload bounds of a type; nullopt for a type that is not part of the protocol.
std::optional<Bounds> bounds_of(uint32_t type);
const char* name_of(Type type);

// A frame that breaks the format (unknown type, length out of bounds, bad value).
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Header {
  Type type;
  uint32_t length;
};

// Checks the type and its bounds; throws ProtocolError naming what is wrong.
Header parse_header(std::span<const uint8_t, kHeaderSize> bytes);
std::array<uint8_t, kHeaderSize> encode_header(Type type, uint32_t length);

// Little-endian fields, bounds-checked by the caller's fixed-size spans.
inline void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
  return v;
}
inline uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

}  // namespace kagami::wire
