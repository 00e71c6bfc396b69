// A small JSON value with a strict, bounded parser (RFC 8259) and a writer, for the control socket.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace kagami {

// Malformed or oversized JSON, or a value of the wrong type; the message is for the user.
class JsonError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Json {
 public:
  using Array = std::vector<Json>;
  struct Member;
  using Object = std::vector<Member>;  // in insertion order: responses read as they are built

  Json() = default;  // null
  Json(std::nullptr_t) {}
  Json(bool value) : value_(value) {}
  // Integers stay exact up to int64; larger unsigned ones become doubles.
  template <std::integral T>
  requires(!std::same_as<T, bool>) Json(T value) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(int64_t)) {
      if (value > static_cast<uint64_t>(INT64_MAX)) {
        value_ = static_cast<double>(value);
        return;
      }
    }
    value_ = static_cast<int64_t>(value);
  }
  Json(double value) : value_(value) {}
  Json(const char* value) : value_(std::string(value)) {}
  Json(std::string value) : value_(std::move(value)) {}
  Json(Array value) : value_(std::move(value)) {}
  Json(Object value) : value_(std::move(value)) {}

  static Json object() { return Json(Object{}); }
  static Json array() { return Json(Array{}); }

  bool is_null() const { return std::holds_alternative<std::monostate>(value_); }
  bool is_bool() const { return std::holds_alternative<bool>(value_); }
  bool is_int() const { return std::holds_alternative<int64_t>(value_); }
  bool is_number() const { return is_int() || std::holds_alternative<double>(value_); }
  bool is_string() const { return std::holds_alternative<std::string>(value_); }
  bool is_array() const { return std::holds_alternative<Array>(value_); }
  bool is_object() const { return std::holds_alternative<Object>(value_); }

  // Each throws JsonError when the value has another type.
  bool as_bool() const;
  int64_t as_int() const;
  double as_double() const;  // an integer or a double
  const std::string& as_string() const;
  const Array& as_array() const;
  const Object& as_object() const;

  // Objects: the member's value, or nullptr (also for a non-object).
  const Json* find(std::string_view key) const;
  // Objects: replaces the member's value or appends it; returns *this to chain.
  Json& set(std::string key, Json value);
  // Arrays: appends.
  Json& push(Json value);

  bool operator==(const Json& other) const = default;

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string, Array, Object> value_;
};

struct Json::Member {
  std::string key;
  Json value;
  bool operator==(const Member& other) const = default;
};

struct JsonLimits {
  size_t max_bytes = 1 << 20;
  unsigned max_depth = 32;  // nested arrays and objects
};

// The whole text must be one JSON value (whitespace around it allowed). Rejects, with a message
// saying where: bad syntax, invalid UTF-8, lone surrogates, control characters in strings,
// duplicate keys, numbers out of double's range, more than the limits allow.
Json parse_json(std::string_view text, const JsonLimits& limits = {});

// Compact, one line (control characters escaped), keys in insertion order. Non-finite doubles
// are written as null.
std::string to_json(const Json& value);

}  // namespace kagami
