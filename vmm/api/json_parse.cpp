// The strict JSON parser: recursive descent with a depth bound, UTF-8 checked, exact int64s.
#include <charconv>
#include <set>

#include "api/json.hpp"
#include "api/utf8.hpp"

namespace kagami {
namespace {

class Parser {
 public:
  Parser(std::string_view text, const JsonLimits& limits) : text_(text), limits_(limits) {}

  Json document() {
    if (text_.size() > limits_.max_bytes)
      throw JsonError("JSON text of " + std::to_string(text_.size()) + " bytes (at most " +
                      std::to_string(limits_.max_bytes) + ")");
    skip_space();
    Json v = value(0);
    skip_space();
    if (pos_ != text_.size()) fail("unexpected data after the value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw JsonError("JSON: " + what + " at offset " + std::to_string(pos_));
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  void skip_space() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r'))
      pos_++;
  }

  void expect(char c) {
    if (peek() != c || at_end()) fail(std::string("expected '") + c + "'");
    pos_++;
  }

  void literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) fail("invalid literal");
    pos_ += word.size();
  }

  Json value(unsigned depth) {
    if (at_end()) fail("unexpected end of text");
    switch (peek()) {
      case '{': return object(depth + 1);
      case '[': return array(depth + 1);
      case '"': return Json(string());
      case 't': literal("true"); return Json(true);
      case 'f': literal("false"); return Json(false);
      case 'n': literal("null"); return Json();
      default:
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return number();
        fail("unexpected character");
    }
  }

  void check_depth(unsigned depth) const {
    if (depth > limits_.max_depth)
      fail("nested more than " + std::to_string(limits_.max_depth) + " levels deep");
  }

  Json object(unsigned depth) {
    check_depth(depth);
    expect('{');
    Json::Object members;
    std::set<std::string> keys;  // a linear search per key would be quadratic on hostile input
    skip_space();
    if (peek() == '}' && !at_end()) {
      pos_++;
      return Json(std::move(members));
    }
    for (;;) {
      skip_space();
      if (peek() != '"' || at_end()) fail("expected a string key");
      std::string key = string();
      if (!keys.insert(key).second) fail("duplicate key \"" + key + "\"");
      skip_space();
      expect(':');
      skip_space();
      Json item = value(depth);
      members.push_back({std::move(key), std::move(item)});
      skip_space();
      if (peek() == ',' && !at_end()) {
        pos_++;
        continue;
      }
      expect('}');
      return Json(std::move(members));
    }
  }

  Json array(unsigned depth) {
    check_depth(depth);
    expect('[');
    Json result = Json::array();
    skip_space();
    if (peek() == ']' && !at_end()) {
      pos_++;
      return result;
    }
    for (;;) {
      skip_space();
      result.push(value(depth));
      skip_space();
      if (peek() == ',' && !at_end()) {
        pos_++;
        continue;
      }
      expect(']');
      return result;
    }
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  uint32_t hex4() {
    if (text_.size() - pos_ < 4) fail("truncated \\u escape");
    uint32_t cp = 0;
    for (int i = 0; i < 4; i++) {
      char c = text_[pos_++];
      cp <<= 4;
      if (c >= '0' && c <= '9')
        cp |= c - '0';
      else if (c >= 'a' && c <= 'f')
        cp |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        cp |= c - 'A' + 10;
      else
        fail("bad hex digit in \\u escape");
    }
    return cp;
  }

  void escape(std::string& out) {
    if (at_end()) fail("truncated escape");
    char c = text_[pos_++];
    switch (c) {
      case '"': out += '"'; return;
      case '\\': out += '\\'; return;
      case '/': out += '/'; return;
      case 'b': out += '\b'; return;
      case 'f': out += '\f'; return;
      case 'n': out += '\n'; return;
      case 'r': out += '\r'; return;
      case 't': out += '\t'; return;
      case 'u': break;
      default: fail("unknown escape");
    }
    uint32_t cp = hex4();
    if (cp >= 0xdc00 && cp <= 0xdfff) fail("lone low surrogate");
    if (cp >= 0xd800 && cp <= 0xdbff) {
      if (text_.substr(pos_, 2) != "\\u") fail("lone high surrogate");
      pos_ += 2;
      uint32_t low = hex4();
      if (low < 0xdc00 || low > 0xdfff) fail("high surrogate without a low one");
      cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    }
    append_utf8(out, cp);
  }

  // One UTF-8 sequence, copied as is; overlong forms, surrogates and > U+10FFFF are refused.
  void utf8(std::string& out) {
    size_t length = utf8_sequence_length(text_, pos_);
    if (length == 0) fail("invalid UTF-8");
    out.append(text_.substr(pos_, length));
    pos_ += length;
  }

  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      if (at_end()) fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        pos_++;
        return out;
      }
      if (c < 0x20) fail("control character in a string");
      if (c == '\\') {
        pos_++;
        escape(out);
      } else if (c >= 0x80) {
        utf8(out);
      } else {
        out += static_cast<char>(c);
        pos_++;
      }
    }
  }

  void digits() {
    if (at_end() || peek() < '0' || peek() > '9') fail("expected a digit");
    while (!at_end() && peek() >= '0' && peek() <= '9') pos_++;
  }

  Json number() {
    size_t start = pos_;
    bool integral = true;
    if (peek() == '-') pos_++;
    if (peek() == '0' && !at_end()) {
      pos_++;
      if (!at_end() && peek() >= '0' && peek() <= '9') fail("leading zero in a number");
    } else {
      digits();
    }
    if (!at_end() && peek() == '.') {
      pos_++;
      digits();
      integral = false;
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      pos_++;
      if (!at_end() && (peek() == '+' || peek() == '-')) pos_++;
      digits();
      integral = false;
    }
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    if (integral) {
      int64_t i = 0;
      auto [end, ec] = std::from_chars(first, last, i);
      if (ec == std::errc() && end == last) return Json(i);
    }
    double d = 0;
    auto [end, ec] = std::from_chars(first, last, d);
    if (ec != std::errc() || end != last) fail("number out of range");
    return Json(d);
  }

  std::string_view text_;
  const JsonLimits& limits_;
  size_t pos_ = 0;
};

}  // namespace

Json parse_json(std::string_view text, const JsonLimits& limits) {
  return Parser(text, limits).document();
}

}  // namespace kagami
