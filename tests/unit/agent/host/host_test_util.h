#pragma once
// Helpers for the host tests: validate EVE lines with the project's schema
// extension (a real run of tests/tools/eve_validate.py) and parse records.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "tests/testing/paths.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

namespace rampart::host::testutil {

// Runs eve_validate.py on `lines`; returns its stdout+stderr and sets *ok.
inline std::string ValidateEve(const std::vector<std::string>& lines, bool* ok) {
  testing::ScopedTempDir dir("evecheck");
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  testing::WriteTextFile(dir.File("eve.json"), text);
  auto r = testing::RunProcess({testing::SystemPython(), testing::SourceDir() + "/tests/tools/eve_validate.py",
                                "--schema", testing::SharedDataDir() + "/eve-schema/schema.json", "--extension",
                                testing::SourceDir() + "/common/eve/rampart-eve-extension.json", dir.File("eve.json")});
  *ok = r.exit_code == 0;
  return r.out + r.err;
}

inline std::vector<nlohmann::json> Parse(const std::vector<std::string>& lines) {
  std::vector<nlohmann::json> out;
  for (const auto& l : lines) out.push_back(nlohmann::json::parse(l));
  return out;
}

}  // namespace rampart::host::testutil
