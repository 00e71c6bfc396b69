// JSON values: typed accessors and the compact writer.
#include "api/json.hpp"

#include <charconv>
#include <cmath>

#include "api/utf8.hpp"

namespace kagami {
namespace {

const char* type_name(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_bool()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

[[noreturn]] void wrong_type(const Json& v, const char* wanted) {
  throw JsonError(std::string("expected ") + wanted + ", got " + type_name(v));
}

void write_string(std::string& out, const std::string& s) {
  static const char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size(); i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // Replies carry messages from everywhere (paths, peers): never let one be invalid JSON.
      size_t length = utf8_sequence_length(s, i);
      if (length == 0) {
        out += "\\ufffd";
      } else {
        out.append(s, i, length);
        i += length - 1;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void write_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char text[32];
  auto [end, ec] = std::to_chars(text, text + sizeof(text), d);
  std::string_view number(text, ec == std::errc() ? end : text);
  out += number;
  // "3.0", not "3": a double read back stays a double.
  if (number.find_first_of(".e") == std::string_view::npos) out += ".0";
}

void write(std::string& out, const Json& v) {
  if (v.is_null()) {
    out += "null";
  } else if (v.is_bool()) {
    out += v.as_bool() ? "true" : "false";
  } else if (v.is_int()) {
    out += std::to_string(v.as_int());
  } else if (v.is_number()) {
    write_double(out, v.as_double());
  } else if (v.is_string()) {
    write_string(out, v.as_string());
  } else if (v.is_array()) {
    out += '[';
    const char* sep = "";
    for (const Json& item : v.as_array()) {
      out += sep;
      write(out, item);
      sep = ",";
    }
    out += ']';
  } else {
    out += '{';
    const char* sep = "";
    for (const Json::Member& m : v.as_object()) {
      out += sep;
      write_string(out, m.key);
      out += ':';
      write(out, m.value);
      sep = ",";
    }
    out += '}';
  }
}

}  // namespace

bool Json::as_bool() const {
  if (!is_bool()) wrong_type(*this, "a boolean");
  return std::get<bool>(value_);
}

int64_t Json::as_int() const {
  if (!is_int()) wrong_type(*this, "an integer");
  return std::get<int64_t>(value_);
}

double Json::as_double() const {
  if (is_int()) return static_cast<double>(std::get<int64_t>(value_));
  if (!is_number()) wrong_type(*this, "a number");
  return std::get<double>(value_);
}

const std::string& Json::as_string() const {
  if (!is_string()) wrong_type(*this, "a string");
  return std::get<std::string>(value_);
}

const Json::Array& Json::as_array() const {
  if (!is_array()) wrong_type(*this, "an array");
  return std::get<Array>(value_);
}

const Json::Object& Json::as_object() const {
  if (!is_object()) wrong_type(*this, "an object");
  return std::get<Object>(value_);
}

const Json* Json::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const Member& m : std::get<Object>(value_))
    if (m.key == key) return &m.value;
  return nullptr;
}

Json& Json::set(std::string key, Json value) {
  if (!is_object()) wrong_type(*this, "an object");
  Object& members = std::get<Object>(value_);
  for (Member& m : members) {
    if (m.key == key) {
      m.value = std::move(value);
      return *this;
    }
  }
  members.push_back({std::move(key), std::move(value)});
  return *this;
}

Json& Json::push(Json value) {
  if (!is_array()) wrong_type(*this, "an array");
  std::get<Array>(value_).push_back(std::move(value));
  return *this;
}

std::string to_json(const Json& value) {
  std::string out;
  write(out, value);
  return out;
}

}  // namespace kagami
