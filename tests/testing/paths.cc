#include "tests/testing/paths.h"

#include <cstdlib>
#include <filesystem>

namespace rampart::testing {
namespace {

std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : fallback;
}

}  // namespace

std::string SourceDir() { return Env("RAMPART_SOURCE_DIR", RAMPART_DEFAULT_SOURCE_DIR); }
std::string BinaryDir() { return Env("RAMPART_BINARY_DIR", RAMPART_DEFAULT_BINARY_DIR); }

std::string SharedDataDir() {
  const char* override_dir = std::getenv("RAMPART_SHARED_DATA");
  if (override_dir && *override_dir) return override_dir;
  return (std::filesystem::path(SourceDir()) / ".." / "shared" / "data").lexically_normal().string();
}

std::string SystemPython() {
  return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

}  // namespace rampart::testing
