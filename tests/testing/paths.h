#pragma once
// Where tests find the source tree, the build tree and the shared test data
// (../shared/data beside the repository, as CI lays it out).

#include <string>

namespace rampart::testing {

// The repository root (RAMPART_SOURCE_DIR, set by ctest).
std::string SourceDir();
// The build tree (RAMPART_BINARY_DIR); programs are in BinaryDir() + "/bin".
std::string BinaryDir();
// ../shared/data relative to the repository. A test that needs it fails
// (does not skip) when it is missing: CI always provides it.
std::string SharedDataDir();
// The Debian system python, which has python3-jsonschema and friends.
std::string SystemPython();

}  // namespace rampart::testing
