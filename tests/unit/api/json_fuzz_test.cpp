// A fuzz loop over the JSON parser: mutated documents and random bytes either parse (and then
// write and read back to the same text) or are refused with JsonError; nothing else happens.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "api/json.hpp"

namespace kagami {
namespace {

const char* const kSeeds[] = {
    R"({"command":"migrate","to":"tcp:10.0.0.2:4444","downtime-ms":300,"bandwidth":100,)"
    R"("auto-converge":true,"local":false})",
    R"({"ok":true,"migration":{"passes":[{"index":0,"seconds":1.25e-3,"bytes":123}],)"
    R"("error":"\u00e9\ud83d\ude00\n"}})",
    R"([null,true,false,-0,1e10,-9223372036854775808,[[[]]],{"":{}}])",
};

// What a fuzzer would try: flip, insert, delete, duplicate a slice, and JSON's own tokens.
std::string mutate(std::string text, std::mt19937_64& rng) {
  static const char* const kTokens[] = {"{",    "}",    "[",       "]",  ",",   ":", "\"",
                                        "\\",   "\\u",  "\\ud800", "e",  "-",   ".", "0",
                                        "null", "\xc3", "\xff",    "\n", "\x01"};
  int edits = 1 + static_cast<int>(rng() % 8);
  for (int e = 0; e < edits; e++) {
    size_t at = text.empty() ? 0 : rng() % (text.size() + 1);
    switch (rng() % 5) {
      case 0:
        if (!text.empty()) text[at % text.size()] ^= static_cast<char>(1u << (rng() % 8));
        break;
      case 1: text.insert(at, 1, static_cast<char>(rng())); break;
      case 2:
        if (!text.empty()) text.erase(at % text.size(), 1 + rng() % 4);
        break;
      case 3:
        if (!text.empty()) {
          size_t from = rng() % text.size();
          text.insert(at, text.substr(from, 1 + rng() % 16));
        }
        break;
      default: text.insert(at, kTokens[rng() % std::size(kTokens)]); break;
    }
  }
  return text;
}

void check(const std::string& text) {
  Json v;
  try {
    v = parse_json(text, {1 << 16, 16});
  } catch (const JsonError&) {
    return;
  }
  std::string written = to_json(v);
  ASSERT_EQ(written.find('\n'), std::string::npos) << text;
  Json again = parse_json(written);
  EXPECT_EQ(to_json(again), written) << text;
}

TEST(JsonFuzz, MutatedDocuments) {
  std::mt19937_64 rng(20261123);
  for (int i = 0; i < 30000; i++) {
    std::string text = mutate(kSeeds[i % std::size(kSeeds)], rng);
    ASSERT_NO_FATAL_FAILURE(check(text));
  }
}

TEST(JsonFuzz, RandomBytes) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; i++) {
    std::string text(rng() % 64, '\0');
    for (char& c : text) c = static_cast<char>(rng() % 4 ? "{}[]\":,0-e.tn\\ "[rng() % 16] : rng());
    ASSERT_NO_FATAL_FAILURE(check(text));
  }
}

// Whatever bytes a reply carries (a path, a peer's message), the writer makes valid JSON of them.
TEST(JsonFuzz, WriterAlwaysWritesValidJson) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20000; i++) {
    std::string bytes(rng() % 32, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    std::string written = to_json(Json::object().set("error", bytes));
    ASSERT_EQ(written.find('\n'), std::string::npos);
    ASSERT_NO_THROW(parse_json(written)) << written;
  }
}

}  // namespace
}  // namespace kagami
