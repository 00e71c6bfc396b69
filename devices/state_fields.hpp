// Helpers for the devices' save_state / load_state: signed and bounded fields, errors by name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "kagami/state.hpp"

namespace kagami::state_fields {

// A StateError for `field` of the node `in` reads: "<path>/<field>: <why>".
[[noreturn]] inline void fail(const StateReader& in, std::string_view field,
                              const std::string& why) {
  throw StateError(in.path() + "/" + std::string(field) + ": " + why);
}

inline void require(bool ok, const StateReader& in, std::string_view field,
                    const std::string& why) {
  if (!ok) fail(in, field, why);
}

inline uint64_t u64_max(const StateReader& in, std::string_view field, uint64_t max) {
  uint64_t value = in.u64(field);
  if (value > max)
    fail(in, field, std::to_string(value) + " is above its maximum " + std::to_string(max));
  return value;
}

// Signed values travel as u64 in two's complement.
inline void put_i64(StateWriter& out, std::string_view field, int64_t value) {
  out.u64(field, static_cast<uint64_t>(value));
}

inline int64_t i64_in(const StateReader& in, std::string_view field, int64_t min, int64_t max) {
  auto value = static_cast<int64_t>(in.u64(field));
  if (value < min || value > max)
    fail(in, field,
         std::to_string(value) + " is outside " + std::to_string(min) + ".." + std::to_string(max));
  return value;
}

}  // namespace kagami::state_fields
