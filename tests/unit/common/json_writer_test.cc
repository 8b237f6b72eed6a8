#include "common/eve/json_writer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace rampart::eve {
namespace {

TEST(JsonWriterTest, WritesNestedObjectsAndArrays) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.String("a", "x").Int("b", -3).Uint("c", 18446744073709551615ull).Bool("d", false).Null("e");
  w.BeginObject("f").Double("g", 0.5).EndObject();
  w.BeginArray("h").String("i").Int(2).BeginObject().Bool("j", true).EndObject().EndArray();
  w.BeginArray("empty").EndArray();
  w.EndObject();
  EXPECT_EQ(out,
            R"({"a":"x","b":-3,"c":18446744073709551615,"d":false,"e":null,"f":{"g":0.5},"h":["i",2,{"j":true}],"empty":[]})");
  EXPECT_EQ(w.depth(), 0);
  EXPECT_TRUE(nlohmann::json::accept(out)) << out;
}

TEST(JsonWriterTest, EscapesControlQuotesAndInvalidUtf8) {
  std::string out;
  AppendJsonString(&out, std::string_view("q\"b\\n\n\x01\x7f", 8));
  EXPECT_EQ(out, R"("q\"b\\n\n\u0001)" "\x7f\"");
  out.clear();
  // Valid UTF-8 (Vietnamese) passes through; stray bytes become \u00XX.
  AppendJsonString(&out, "Cảnh báo \xff\xc3");
  EXPECT_EQ(out, "\"Cảnh báo \\u00ff\\u00c3\"");
  // Overlong encoding of '/' is not valid UTF-8.
  out.clear();
  AppendJsonString(&out, "\xc0\xaf");
  EXPECT_EQ(out, "\"\\u00c0\\u00af\"");
  EXPECT_TRUE(nlohmann::json::accept(out)) << out;
}

TEST(JsonWriterTest, AnyBytesGiveParseableJson) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  std::string out;
  AppendJsonString(&out, bytes);
  auto parsed = nlohmann::json::parse(out);
  EXPECT_EQ(parsed.get<std::string>().size(), 128u + 128u * 2u);  // High bytes re-encoded as U+0080..U+00FF.
}

TEST(JsonWriterTest, NonFiniteDoublesBecomeNull) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Double("x", 1.0 / 0.0).EndObject();
  EXPECT_EQ(out, R"({"x":null})");
}

}  // namespace
}  // namespace rampart::eve
