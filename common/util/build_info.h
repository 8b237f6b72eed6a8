#pragma once
// What --version prints: the release, the git revision it was built from
// ("-dirty" when the tree had uncommitted changes) and the build type; and
// the exit codes every Rampart program uses.

#include <string>
#include <string_view>

namespace rampart {

const char* BuildVersion();
const char* BuildRevision();
const char* BuildType();

// "rampart-agent 0.1.0 (git 1a2b3c4d5e6f, RelWithDebInfo)".
std::string VersionLine(std::string_view program);

// Exit codes shared by rampart-agent, rampart-controller and rampartctl.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;      // A runtime failure; the log says what.
inline constexpr int kExitUsage = 2;        // Bad command line.
inline constexpr int kExitBadConfig = 3;    // The configuration has problems (all are printed).
inline constexpr int kExitUnavailable = 4;  // A peer or resource was unreachable (controller down, port taken).

}  // namespace rampart
