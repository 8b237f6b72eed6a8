#pragma once
// A directory that exists for the life of the object, under $TMPDIR.

#include <filesystem>
#include <string>

namespace rampart::testing {

class ScopedTempDir {
 public:
  explicit ScopedTempDir(const std::string& prefix = "rampart");
  ~ScopedTempDir();
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // path() / name, as a string.
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Writes `content` to `path`, creating parent directories. Aborts the test on failure.
void WriteTextFile(const std::string& path, const std::string& content);
std::string ReadTextFile(const std::string& path);

}  // namespace rampart::testing
