#include "common/tls/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/testing/temp_dir.h"

namespace rampart::tls {
namespace {

TEST(FilesTest, SecretFilesAreOwnerOnlyAndReadBack) {
  testing::ScopedTempDir dir;
  const std::string path = dir.File("agent.key");
  ASSERT_TRUE(WriteSecretFile(path, "secret").ok());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadSecretFile(path).value(), "secret");
  // Replacing keeps the mode and the new content.
  ASSERT_TRUE(WriteSecretFile(path, "rotated").ok());
  EXPECT_EQ(ReadSecretFile(path).value(), "rotated");
}

TEST(FilesTest, SecretReadableByOthersIsRefused) {
  testing::ScopedTempDir dir;
  const std::string path = dir.File("leaky.key");
  ASSERT_TRUE(WriteFileAtomically(path, "secret", 0644).ok());
  auto r = ReadSecretFile(path);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(r.error().message().find("mode 0644"), std::string::npos) << r.error();
}

TEST(FilesTest, MissingFilesAndDirectoriesAreClear) {
  EXPECT_EQ(ReadFile("/nonexistent/x").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(WriteSecretFile("/nonexistent/dir/x.key", "s").code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace rampart::tls
