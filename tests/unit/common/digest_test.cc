#include "common/tls/digest.h"

#include <gtest/gtest.h>

#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

namespace rampart::tls {
namespace {

TEST(DigestTest, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  h.Update("a");
  h.Update("bc");
  EXPECT_EQ(h.FinishHex(), Sha256Hex("abc"));
}

TEST(DigestTest, FileMatchesSha256sum) {
  testing::ScopedTempDir dir("digest");
  std::string content(300000, 'x');
  for (size_t i = 0; i < content.size(); i += 7) content[i] = static_cast<char>(i & 0xff);
  testing::WriteTextFile(dir.File("f"), content);
  uint64_t n = 0;
  auto ours = Sha256OfFile(dir.File("f"), &n);
  ASSERT_TRUE(ours.has_value()) << ours.error();
  EXPECT_EQ(n, content.size());
  auto r = testing::RunProcess({"/usr/bin/sha256sum", dir.File("f")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(*ours, r.out.substr(0, 64));
}

TEST(DigestTest, MissingFileIsNotFound) {
  auto r = Sha256OfFile("/nonexistent/rampart/file");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace rampart::tls
