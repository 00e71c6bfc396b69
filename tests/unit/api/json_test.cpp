// Tests of the JSON module: every value type, escapes, number limits, and malformed input.
#include "api/json.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace kagami {
namespace {

TEST(Json, ParsesEveryType) {
  Json v = parse_json(R"( {"a": [1, -2, 3.5, true, false, null, "x"], "b": {}, "c": []} )");
  ASSERT_TRUE(v.is_object());
  const Json::Array& a = v.find("a")->as_array();
  ASSERT_EQ(a.size(), 7u);
  EXPECT_EQ(a[0].as_int(), 1);
  EXPECT_EQ(a[1].as_int(), -2);
  EXPECT_DOUBLE_EQ(a[2].as_double(), 3.5);
  EXPECT_FALSE(a[2].is_int());
  EXPECT_TRUE(a[3].as_bool());
  EXPECT_FALSE(a[4].as_bool());
  EXPECT_TRUE(a[5].is_null());
  EXPECT_EQ(a[6].as_string(), "x");
  EXPECT_TRUE(v.find("b")->as_object().empty());
  EXPECT_TRUE(v.find("c")->as_array().empty());
  EXPECT_EQ(v.find("d"), nullptr);
}

TEST(Json, Int64Limits) {
  EXPECT_EQ(parse_json("9223372036854775807").as_int(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(parse_json("-9223372036854775808").as_int(), std::numeric_limits<int64_t>::min());
  Json big = parse_json("9223372036854775808");  // one more: a double, not a wrapped integer
  EXPECT_FALSE(big.is_int());
  EXPECT_DOUBLE_EQ(big.as_double(), 9223372036854775808.0);
  EXPECT_EQ(parse_json("-0").as_int(), 0);
  EXPECT_DOUBLE_EQ(parse_json("1e3").as_double(), 1000.0);
  EXPECT_DOUBLE_EQ(parse_json("-1.25E-2").as_double(), -0.0125);
  EXPECT_FALSE(Json(uint64_t{UINT64_MAX}).is_int());
  EXPECT_EQ(Json(uint64_t{42}).as_int(), 42);
}

TEST(Json, StringEscapes) {
  EXPECT_EQ(parse_json(R"("\" \\ \/ \b \f \n \r \t")").as_string(), "\" \\ / \b \f \n \r \t");
  EXPECT_EQ(parse_json(R"("\u0041\u00e9\u20ac")").as_string(), "A\xc3\xa9\xe2\x82\xac");
  EXPECT_EQ(parse_json(R"("\ud83d\ude00")").as_string(), "\xf0\x9f\x98\x80");
  EXPECT_EQ(parse_json("\"\xc3\xa9\xf0\x9f\x98\x80\"").as_string(), "\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(parse_json(R"("a\u0000b")").as_string(), std::string("a\0b", 3));
}

TEST(Json, WritesCompactEscapedOneLine) {
  Json v = Json::object()
               .set("s", std::string("q\"\\\n\t\x01\x7f\xc3\xa9"))
               .set("i", -5)
               .set("d", 2.5)
               .set("whole", 3.0)
               .set("inf", std::numeric_limits<double>::infinity())
               .set("a", Json::array().push(true).push(nullptr));
  EXPECT_EQ(to_json(v), R"({"s":"q\"\\\n\t\u0001\u007f)"
                        "\xc3\xa9"
                        R"(","i":-5,"d":2.5,"whole":3.0,"inf":null,"a":[true,null]})");
}

TEST(Json, WriterReplacesInvalidUtf8) {
  std::string written = to_json(Json(std::string("a\xff\xc3(\xed\xa0\x80\xe2\x82\xac")));
  EXPECT_EQ(written, "\"a\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffd\xe2\x82\xac\"");
  EXPECT_NO_THROW(parse_json(written));
}

TEST(Json, RoundTrips) {
  const char* text =
      R"({"command":"migrate","to":"tcp:[::1]:4444","n":-9223372036854775808,"x":1.5e-300,)"
      R"("u":"\u2028\ud83d\ude00","nested":[[[{}]]]})";
  Json v = parse_json(text);
  EXPECT_EQ(parse_json(to_json(v)), v);
}

TEST(Json, SetReplacesAndKeepsOrder) {
  Json v = Json::object().set("b", 1).set("a", 2).set("b", 3);
  EXPECT_EQ(to_json(v), R"({"b":3,"a":2})");
}

TEST(Json, WrongTypeIsAnError) {
  Json v = parse_json(R"({"a":"x"})");
  EXPECT_THROW(v.as_int(), JsonError);
  EXPECT_THROW(v.find("a")->as_int(), JsonError);
  EXPECT_THROW(parse_json("1.5").as_int(), JsonError);
  EXPECT_THROW(parse_json("1").as_string(), JsonError);
  EXPECT_THROW(parse_json("[]").as_object(), JsonError);
}

TEST(Json, RefusesMalformedInput) {
  const std::vector<std::string> bad = {
      "",
      " ",
      "{",
      "}",
      "[1,]",
      "[,1]",
      "{\"a\":1,}",
      "{\"a\" 1}",
      "{a:1}",
      "{\"a\":1 \"b\":2}",
      "{\"a\":1,\"a\":2}",  // duplicate keys
      "'x'",
      "\"unterminated",
      "\"tab\there\"",  // raw control character
      "\"\\x\"",
      "\"\\u12\"",
      "\"\\u12G4\"",
      "\"\\ud83d\"",         // lone high surrogate
      "\"\\ude00\"",         // lone low surrogate
      "\"\\ud83d\\u0041\"",  // high surrogate, then no low one
      "\"\xff\"",
      "\"\xc3\"",              // truncated sequence
      "\"\xc0\xaf\"",          // overlong '/'
      "\"\xe0\x80\xaf\"",      // overlong
      "\"\xed\xa0\x80\"",      // a surrogate in UTF-8
      "\"\xf4\x90\x80\x80\"",  // beyond U+10FFFF
      "\"\x80\"",
      "01",
      "-",
      "+1",
      "1.",
      ".5",
      "1e",
      "1e+",
      "0x10",
      "NaN",
      "Infinity",
      "-Infinity",
      "1e999",
      "tru",
      "nul",
      "true false",
      "[1] x",
      "{}{}",
      std::string("1\0", 2),
  };
  for (const std::string& text : bad) EXPECT_THROW(parse_json(text), JsonError) << text;
}

TEST(Json, DepthBound) {
  std::string ok = std::string(32, '[') + std::string(32, ']');
  EXPECT_NO_THROW(parse_json(ok));
  std::string deep = std::string(33, '[') + std::string(33, ']');
  EXPECT_THROW(parse_json(deep), JsonError);
  // Far deeper than any stack: refused at the bound, not by running out of stack.
  std::string hostile(1 << 20, '[');
  EXPECT_THROW(parse_json(hostile, {2 << 20, 32}), JsonError);
  std::string objects;
  for (int i = 0; i < 100000; i++) objects += "{\"a\":";
  EXPECT_THROW(parse_json(objects, {1 << 20, 32}), JsonError);
}

TEST(Json, SizeBound) {
  std::string text = "\"" + std::string(100, 'x') + "\"";
  EXPECT_NO_THROW(parse_json(text, {102, 8}));
  EXPECT_THROW(parse_json(text, {101, 8}), JsonError);
}

TEST(Json, ErrorSaysWhere) {
  try {
    parse_json("[1, 2, x]");
    FAIL();
  } catch (const JsonError& e) {
    EXPECT_NE(std::string(e.what()).find("offset 7"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kagami
