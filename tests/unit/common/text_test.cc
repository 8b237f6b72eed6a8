#include "common/util/text.h"

#include <gtest/gtest.h>

namespace rampart {
namespace {

TEST(TextTest, HexRoundTripsAndRejectsBadInput) {
  EXPECT_EQ(HexEncode(std::string_view("\x00\xff\x10", 3)), "00ff10");
  EXPECT_EQ(HexDecode("00FF10").value(), std::string("\x00\xff\x10", 3));
  EXPECT_FALSE(HexDecode("abc").has_value());
  EXPECT_FALSE(HexDecode("zz").has_value());
  EXPECT_EQ(HexDigitValue('7'), 7);
  EXPECT_EQ(HexDigitValue('b'), 11);
  EXPECT_EQ(HexDigitValue('F'), 15);
  EXPECT_EQ(HexDigitValue('g'), -1);
  EXPECT_EQ(HexDigitValue('\0'), -1);
}

TEST(TextTest, CaseFoldingIsAsciiOnly) {
  EXPECT_TRUE(EqualsIgnoreCase("Content-Length", "content-LENGTH"));
  EXPECT_FALSE(EqualsIgnoreCase("Content-Length", "Content-Lengt"));
  EXPECT_FALSE(EqualsIgnoreCase("a[", "A{")) << "'[' and '{' differ by the case bit but are not letters";
  // Bytes above 0x7f are compared exactly, whatever the locale.
  EXPECT_FALSE(EqualsIgnoreCase("\xc3\x89", "\xc3\xa9"));
  EXPECT_TRUE(EqualsIgnoreCase("\xc3\x89", "\xc3\x89"));
  EXPECT_EQ(AsciiLowercase("GET /Index.HTML \xc3\x89"), "get /index.html \xc3\x89");
  EXPECT_TRUE(StartsWithIgnoreCase("Transfer-Encoding: chunked", "transfer-encoding"));
  EXPECT_FALSE(StartsWithIgnoreCase("Tr", "transfer"));
  EXPECT_TRUE(EndsWithIgnoreCase("\\\\server\\IPC$", "ipc$"));
  EXPECT_FALSE(EndsWithIgnoreCase("$", "ipc$"));
  static_assert(EqualsIgnoreCase("HOST", "host"));
}

}  // namespace
}  // namespace rampart
