// The three programs as a user runs them: --version, --help, bad command
// lines, bad configs (every problem printed, exit 3), a clean start and a
// clean stop on SIGTERM and SIGINT.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

namespace rampart {
namespace {

using ::testing::HasSubstr;
using testing::ProgramPath;
using testing::RunProcess;

class ProgramsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ProgramsTest, VersionNamesReleaseAndRevision) {
  auto r = RunProcess({ProgramPath(GetParam()), "--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::MatchesRegex(GetParam() +
                                             " [0-9]+\\.[0-9]+\\.[0-9]+ \\(git ([0-9a-f]+(-dirty)?|unknown), [A-Za-z]+\\)\n"));
}

TEST_P(ProgramsTest, HelpAndUsageErrors) {
  auto help = RunProcess({ProgramPath(GetParam()), "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("Exit codes:"));
  auto bad = RunProcess({ProgramPath(GetParam()), "--no-such-flag"});
  EXPECT_EQ(bad.exit_code, 2);
  auto none = RunProcess({ProgramPath(GetParam())});
  EXPECT_EQ(none.exit_code, 2);
}

INSTANTIATE_TEST_SUITE_P(All, ProgramsTest, ::testing::Values("rampart-agent", "rampart-controller", "rampartctl"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           for (char& c : name) c = (c == '-') ? '_' : c;
                           return name;
                         });

struct Daemon {
  std::string program;
  std::string section;
};

class DaemonTest : public ::testing::TestWithParam<Daemon> {
 protected:
  testing::ScopedTempDir dir_{"daemon"};
};

TEST_P(DaemonTest, BadConfigPrintsEveryProblemAndExits3) {
  const std::string cfg = dir_.File("bad.yaml");
  testing::WriteTextFile(cfg, GetParam().section + ":\n  data_dir: \"\"\n  log:\n    level: loud\n    formt: json\n");
  for (const char* cmd : {"run", "check-config"}) {
    auto r = RunProcess({ProgramPath(GetParam().program), cmd, "--config", cfg});
    EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr("3 problems"));
    EXPECT_THAT(r.err, HasSubstr(GetParam().section + ".data_dir: must not be empty (line 2)"));
    EXPECT_THAT(r.err, HasSubstr(GetParam().section +
                                 ".log.level: must be one of trace, debug, info, warn, error, off, got 'loud' (line 4)"));
    EXPECT_THAT(r.err, HasSubstr(GetParam().section + ".log.formt: unknown key; did you mean 'format'? (line 5)"));
  }
}

TEST_P(DaemonTest, MissingConfigIsAUsageError) {
  auto r = RunProcess({ProgramPath(GetParam().program), "run", "--config", dir_.File("absent.yaml")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("absent.yaml"));
}

TEST_P(DaemonTest, StartsAndStopsCleanlyOnSigtermAndSigint) {
  for (int sig : {SIGTERM, SIGINT}) {
    const std::string cfg = dir_.File("good.yaml");
    testing::WriteTextFile(cfg, GetParam().section + ":\n  name: t1\n  data_dir: " + dir_.File("data") + "\n");
    testing::ChildProcess p({ProgramPath(GetParam().program), "run", "--config", cfg},
                          dir_.File("log-" + std::to_string(sig) + ".txt"));
    ASSERT_TRUE(p.WaitForLog("started", std::chrono::seconds(20))) << p.Log();
    p.Signal(sig);
    auto r = p.Wait(std::chrono::seconds(20));
    EXPECT_FALSE(r.timed_out) << p.Log();
    EXPECT_EQ(r.exit_code, 0) << "signal " << r.signal << "\n" << p.Log();
    EXPECT_THAT(p.Log(), HasSubstr("stopped"));
  }
}

INSTANTIATE_TEST_SUITE_P(All, DaemonTest,
                         ::testing::Values(Daemon{"rampart-agent", "agent"}, Daemon{"rampart-controller", "controller"}),
                         [](const auto& param_info) { return param_info.param.section; });

}  // namespace
}  // namespace rampart
