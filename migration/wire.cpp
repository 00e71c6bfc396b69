// The migration wire format: the bounds of every message type and header parsing.
#include "wire.hpp"

namespace kagami::wire {

std::optional<Bounds> bounds_of(uint32_t type) {
  switch (static_cast<Type>(type)) {
    case Type::kChallenge: return Bounds{8 + kNonceSize, 8 + kNonceSize};
    case Type::kHello: return Bounds{8 + kNonceSize + kTagSize, 8 + kNonceSize + kTagSize};
    case Type::kWelcome: return Bounds{kTagSize, kTagSize};
    case Type::kRefused: return Bounds{0, kMaxRefusal};
    case Type::kDescribe: return Bounds{1, kMaxDescribe};
    case Type::kAccepted: return Bounds{0, 0};
    case Type::kPage: return Bounds{8 + kPageSize, 8 + kPageSize};
    case Type::kZeroPages: return Bounds{16, 16};
    case Type::kPassEnd: return Bounds{4, 4};
    case Type::kMemfd: return Bounds{8, 8};
    case Type::kState: return Bounds{1, kMaxState};
    case Type::kStateLoaded: return Bounds{0, 0};
    case Type::kGo: return Bounds{0, 0};
    case Type::kRunning: return Bounds{0, 0};
    case Type::kMac: return Bounds{kTagSize, kTagSize};
  }
  return std::nullopt;
}

const char* name_of(Type type) {
  switch (type) {
    case Type::kChallenge: return "challenge";
    case Type::kHello: return "hello";
    case Type::kWelcome: return "welcome";
    case Type::kRefused: return "refused";
    case Type::kDescribe: return "describe";
    case Type::kAccepted: return "accepted";
    case Type::kPage: return "page";
    case Type::kZeroPages: return "zero-pages";
    case Type::kPassEnd: return "pass-end";
    case Type::kMemfd: return "memfd";
    case Type::kState: return "state";
    case Type::kStateLoaded: return "state-loaded";
    case Type::kGo: return "go";
    case Type::kRunning: return "running";
    case Type::kMac: return "mac";
  }
  return "unknown";
}

Header parse_header(std::span<const uint8_t, kHeaderSize> bytes) {
  uint32_t type = get_u32(bytes.data());
  uint32_t length = get_u32(bytes.data() + 4);
  std::optional<Bounds> bounds = bounds_of(type);
  if (!bounds) throw ProtocolError("unknown message type " + std::to_string(type));
  if (length < bounds->min || length > bounds->max)
    throw ProtocolError(std::string("message '") + name_of(static_cast<Type>(type)) + "' of " +
                        std::to_string(length) + " bytes is outside its bounds (" +
                        std::to_string(bounds->min) + " to " + std::to_string(bounds->max) + ")");
  return {static_cast<Type>(type), length};
}

std::array<uint8_t, kHeaderSize> encode_header(Type type, uint32_t length) {
  std::array<uint8_t, kHeaderSize> out;
  put_u32(out.data(), static_cast<uint32_t>(type));
  put_u32(out.data() + 4, length);
  return out;
}

}  // namespace kagami::wire
