#include "common/util/ids.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace rampart {
namespace {

TEST(IdsTest, HostNameIsTheKernelsName) {
  char buf[256] = {0};
  ASSERT_EQ(gethostname(buf, sizeof(buf) - 1), 0);
  EXPECT_EQ(HostName("fallback"), std::string(buf[0] ? buf : "fallback"));
}

TEST(IdsTest, UuidV4HasVersionAndVariant) {
  const std::regex pattern("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string id = NewUuidV4();
    EXPECT_TRUE(std::regex_match(id, pattern)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(IdsTest, UuidV7SortsByTime) {
  const std::string a = NewUuidV7(1'700'000'000'000'000'000);
  const std::string b = NewUuidV7(1'700'000'000'001'000'000);
  EXPECT_LT(a, b);
  EXPECT_EQ(a[14], '7');
}

TEST(IdsTest, TokensAreUrlSafeAndDistinct) {
  const std::string t1 = RandomToken(32), t2 = RandomToken(32);
  EXPECT_EQ(t1.size(), 43u);  // 256 bits in unpadded base64.
  EXPECT_NE(t1, t2);
  EXPECT_EQ(t1.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
}

TEST(IdsTest, Base64MatchesRfc4648Vectors) {
  auto enc = [](std::string_view s) {
    return Base64Encode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  };
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("f"), "Zg==");
  EXPECT_EQ(enc("fo"), "Zm8=");
  EXPECT_EQ(enc("foo"), "Zm9v");
  EXPECT_EQ(enc("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Decode("Zm9vYmE=").value(), "fooba");
  EXPECT_EQ(Base64Decode("Zm9vYg").value(), "foob");
  EXPECT_FALSE(Base64Decode("Zm9v!").has_value());
  EXPECT_FALSE(Base64Decode("Z").has_value());
}

TEST(IdsTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secrets"));
}

}  // namespace
}  // namespace rampart
