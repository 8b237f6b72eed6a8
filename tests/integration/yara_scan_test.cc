// rampart-agent scan as a user runs it, against the real yara CLI (Debian's
// yara 4.2.3) on the shared rule sets and samples: the same (rule, file)
// pairs, line for line once sorted; bad rule files and unreadable files are
// reported and never stop a scan; --json validates against the EVE schema
// with the project's extension; an unchanged re-scan comes from the cache.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/testing/paths.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

namespace rampart {
namespace {

using ::testing::HasSubstr;
using testing::ProgramPath;
using testing::RunProcess;
using testing::ScopedTempDir;

std::vector<std::string> SortedLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

struct RuleSetCase {
  std::string name;
  std::string rules;  // Relative to ../shared/data/yara.
};

class SameAsYaraCli : public ::testing::TestWithParam<RuleSetCase> {};

TEST_P(SameAsYaraCli, SameRuleFilePairs) {
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/yara")) << "the yara CLI (Debian package yara) is needed";
  const std::string root = testing::SharedDataDir() + "/yara";
  const std::string rules = root + "/" + GetParam().rules;
  auto yara = RunProcess({"/usr/bin/yara", "-w", "-r", rules, root}, std::chrono::seconds(300));
  ASSERT_EQ(yara.exit_code, 0) << yara.err;
  const auto expected = SortedLines(yara.out);
  ASSERT_FALSE(expected.empty());
  for (const char* threads : {"1", "2"}) {
    auto ours = RunProcess({ProgramPath("rampart-agent"), "scan", root, "--yara", rules, "-w", "--threads", threads},
                           std::chrono::seconds(300));
    ASSERT_EQ(ours.exit_code, 0) << ours.err;
    EXPECT_EQ(SortedLines(ours.out), expected) << "threads " << threads;
  }
}

INSTANTIATE_TEST_SUITE_P(
    SharedRuleSets, SameAsYaraCli,
    ::testing::Values(RuleSetCase{"SignatureBase", "signature-base/_index.yar"},
                      RuleSetCase{"Eicar", "eicar/eicar.yar"},
                      RuleSetCase{"IncludeAndAlwaysTrue", "yara-testdata/foo.yar"},
                      RuleSetCase{"EmptyFilesToo", "yara-testdata/baz.yar"}),
    [](const ::testing::TestParamInfo<RuleSetCase>& p) { return p.param.name; });

TEST(ScanCliTest, ProjectRulesMatchYaraCliOnTheirSamples) {
  const std::string rules = testing::SourceDir() + "/rules/yara";
  const std::string samples = testing::SourceDir() + "/tests/data/yara";
  std::string all;
  for (const auto& e : std::filesystem::directory_iterator(rules)) {
    if (e.path().extension() != ".yar") continue;
    auto yara = RunProcess({"/usr/bin/yara", "-w", "-r", e.path().string(), samples});
    ASSERT_EQ(yara.exit_code, 0) << yara.err;
    all += yara.out;
  }
  auto ours = RunProcess({ProgramPath("rampart-agent"), "scan", samples, "--yara", rules, "-w"});
  ASSERT_EQ(ours.exit_code, 0) << ours.err;
  EXPECT_EQ(SortedLines(ours.out), SortedLines(all));
  // Every "hit" sample fires a rule and no "miss" sample does.
  for (const auto& e : std::filesystem::recursive_directory_iterator(samples)) {
    if (!e.is_regular_file()) continue;
    const std::string path = e.path().string();
    const bool hit = path.find("/hit/") != std::string::npos;
    const bool matched = ours.out.find(" " + path + "\n") != std::string::npos;
    EXPECT_EQ(matched, hit) << path;
  }
}

class ScanErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::chmod(dir_.path().c_str(), 0755);
    testing::WriteTextFile(dir_.File("rules/good.yar"),
                           "rule marker { strings: $m = \"RAMPART-MARKER\" condition: $m }\n");
    testing::WriteTextFile(dir_.File("rules/broken.yar"), "rule broken {\n  strings: $a = \"x\"\n  condition: $a and\n}\n");
    testing::WriteTextFile(dir_.File("files/a.txt"), "RAMPART-MARKER one");
    testing::WriteTextFile(dir_.File("files/secret.txt"), "RAMPART-MARKER unreadable");
    testing::WriteTextFile(dir_.File("files/z/b.txt"), "RAMPART-MARKER two");
    ::chmod(dir_.File("files").c_str(), 0755);
    ::chmod(dir_.File("files/z").c_str(), 0755);
    ::chmod(dir_.File("rules").c_str(), 0755);
    for (const char* f : {"files/a.txt", "files/z/b.txt", "rules/good.yar", "rules/broken.yar"}) {
      ::chmod(dir_.File(f).c_str(), 0644);
    }
    ::chmod(dir_.File("files/secret.txt").c_str(), 0);
    ASSERT_EQ(::mkfifo(dir_.File("files/pipe").c_str(), 0644), 0);
  }

  // Runs the scan as an unprivileged user: root reads every file, so an
  // unreadable file needs a user the kernel says no to.
  testing::ProcessResult Scan(std::vector<std::string> args) {
    std::vector<std::string> argv;
    if (::geteuid() == 0) {
      argv = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--"};
    }
    argv.push_back(ProgramPath("rampart-agent"));
    argv.push_back("scan");
    for (auto& a : args) argv.push_back(std::move(a));
    return RunProcess(argv, std::chrono::seconds(60));
  }

  ScopedTempDir dir_{"scanerr"};
};

TEST_F(ScanErrorsTest, MalformedRulesAndUnreadableFilesAreReportedAndTheScanCompletes) {
  auto r = Scan({dir_.File("files"), "--yara", dir_.File("rules"), "--threads", "2"});
  EXPECT_EQ(r.exit_code, 1) << r.err;  // Completed, with errors.
  EXPECT_THAT(r.err, HasSubstr(dir_.File("rules/broken.yar") + ":4: rule \"broken\": syntax error"));
  EXPECT_THAT(r.err, HasSubstr(dir_.File("files") + "/secret.txt: cannot open: Permission denied"));
  EXPECT_THAT(SortedLines(r.out), ::testing::ElementsAre("marker " + dir_.File("files") + "/a.txt",
                                                         "marker " + dir_.File("files") + "/z/b.txt"));
  // The FIFO was skipped, not opened (opening it would have hung the scan).
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr("pipe")));
}

TEST_F(ScanErrorsTest, NoUsableRuleFileExits3) {
  auto r = Scan({dir_.File("files"), "--yara", dir_.File("rules/broken.yar")});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("no usable YARA rule file"));
  EXPECT_THAT(r.err, HasSubstr("broken.yar:4:"));
  auto missing = Scan({dir_.File("files"), "--yara", dir_.File("nope.yar")});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_THAT(missing.err, HasSubstr("nope.yar: no such rule file or folder"));
}

TEST_F(ScanErrorsTest, JsonRecordsValidateAndTheCacheServesAnUnchangedRescan) {
  const std::string cache = dir_.File("cache");
  const int want_exit = ::geteuid() == 0 ? 0 : 1;
  auto first = RunProcess({ProgramPath("rampart-agent"), "scan", dir_.File("files"), "--yara", dir_.File("rules/good.yar"),
                           "--json", "--cache", cache});
  ASSERT_EQ(first.exit_code, want_exit) << first.err;
  auto second = RunProcess({ProgramPath("rampart-agent"), "scan", dir_.File("files"), "--yara",
                            dir_.File("rules/good.yar"), "--json", "--cache", cache});
  ASSERT_EQ(second.exit_code, want_exit) << second.err;
  testing::WriteTextFile(dir_.File("eve.json"), first.out + second.out);
  auto check = RunProcess({testing::SystemPython(), testing::SourceDir() + "/tests/tools/eve_validate.py", "--schema",
                           testing::SharedDataDir() + "/eve-schema/schema.json", "--extension",
                           testing::SourceDir() + "/common/eve/rampart-eve-extension.json", dir_.File("eve.json")});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  auto summary = [](const std::string& out) {
    nlohmann::json last;
    std::istringstream in(out);
    int matches = 0;
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line);
      if (j["event_type"] == "scan") last = j["scan"];
      if (j["event_type"] == "file" && j["file"]["action"] == "yara_match") ++matches;
    }
    last["matches"] = matches;
    return last;
  };
  auto s1 = summary(first.out);
  auto s2 = summary(second.out);
  // Run directly (not through setpriv): root reads secret.txt, others cannot.
  const int readable = ::geteuid() == 0 ? 3 : 2;
  EXPECT_EQ(s1["files_scanned"], readable);
  EXPECT_EQ(s1["files_cached"], 0);
  EXPECT_EQ(s2["files_scanned"], 0);
  EXPECT_EQ(s2["files_cached"], readable);
  EXPECT_EQ(s1["matches"], s2["matches"]);
  EXPECT_EQ(s1["state"], "finished");
}

}  // namespace
}  // namespace rampart
