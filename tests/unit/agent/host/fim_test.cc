#include "agent/host/fim.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "common/eve/sink.h"
#include "common/tls/digest.h"
#include "tests/unit/agent/host/host_test_util.h"

namespace rampart::host {
namespace {

using testing::ScopedTempDir;
using testing::WriteTextFile;

class FimTest : public ::testing::Test {
 protected:
  void SetUp() override { OpenDb(); }

  void OpenDb() {
    rocks::Options o;
    o.path = dir_.File("db");
    o.column_families = {std::string(FileIntegrityMonitor::kFamily)};
    o.workload = rocks::Workload::kSmall;
    auto db = rocks::Database::Open(o);
    ASSERT_TRUE(db.has_value()) << db.error();
    db_ = std::move(*db);
  }

  std::unique_ptr<FileIntegrityMonitor> Monitor(FimOptions o = {}) {
    if (o.paths.empty()) o.paths = {dir_.File("watched")};
    o.settle = std::chrono::milliseconds(50);
    auto m = FileIntegrityMonitor::Create(o, db_.get(), &writer_);
    EXPECT_TRUE(m.has_value()) << m.error();
    return m ? std::move(*m) : nullptr;
  }

  // Polls until `n` more records arrived or 10 s passed.
  void PollUntil(FileIntegrityMonitor& m, size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (sink_.Lines().size() < n && std::chrono::steady_clock::now() < deadline) {
      ASSERT_TRUE(m.Poll(std::chrono::milliseconds(50)).has_value());
    }
    // Let settle timers of late events run out, to catch extra records.
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(m.Poll(std::chrono::milliseconds(30)).has_value());
  }

  // path -> the actions reported for it, in order.
  std::map<std::string, std::vector<std::string>> Actions() {
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& j : testutil::Parse(sink_.Lines())) {
      out[j["file"]["path"].get<std::string>()].push_back(j["file"]["action"].get<std::string>());
    }
    return out;
  }

  ScopedTempDir dir_{"fim"};
  std::unique_ptr<rocks::Database> db_;
  eve::MemorySink sink_;
  EventWriter writer_{&sink_, {.host = "test-agent"}};
};

TEST_F(FimTest, FirstStartRecordsABaselineSilently) {
  WriteTextFile(dir_.File("watched/a.conf"), "a=1\n");
  auto m = Monitor();
  ASSERT_TRUE(m->Start().ok());
  EXPECT_TRUE(sink_.Lines().empty());
  EXPECT_GE(m->stats().files_tracked, 2u);  // The folder and the file.
}

TEST_F(FimTest, LiveChangesWithOldAndNewHashes) {
  WriteTextFile(dir_.File("watched/a.conf"), "a=1\n");
  WriteTextFile(dir_.File("watched/gone.txt"), "bye\n");
  WriteTextFile(dir_.File("watched/mode.sh"), "echo\n");
  auto m = Monitor();
  ASSERT_TRUE(m->Start().ok());
  WriteTextFile(dir_.File("watched/a.conf"), "a=2\n");
  WriteTextFile(dir_.File("watched/sub/new.txt"), "fresh\n");
  ASSERT_EQ(::unlink(dir_.File("watched/gone.txt").c_str()), 0);
  ASSERT_EQ(::chmod(dir_.File("watched/mode.sh").c_str(), 0755), 0);
  PollUntil(*m, 5);
  auto actions = Actions();
  EXPECT_THAT(actions[dir_.File("watched/a.conf")], ::testing::ElementsAre("modified"));
  EXPECT_THAT(actions[dir_.File("watched/gone.txt")], ::testing::ElementsAre("deleted"));
  EXPECT_THAT(actions[dir_.File("watched/mode.sh")], ::testing::ElementsAre("attributes_changed"));
  EXPECT_THAT(actions[dir_.File("watched/sub")], ::testing::ElementsAre("created"));
  EXPECT_THAT(actions[dir_.File("watched/sub/new.txt")], ::testing::ElementsAre("created"));
  for (const auto& j : testutil::Parse(sink_.Lines())) {
    if (j["file"]["path"] != dir_.File("watched/a.conf")) continue;
    EXPECT_EQ(j["file"]["old"]["sha256"], tls::Sha256Hex("a=1\n"));
    EXPECT_EQ(j["file"]["new"]["sha256"], tls::Sha256Hex("a=2\n"));
    EXPECT_EQ(j["file"]["detected_by"], "inotify");
    EXPECT_EQ(j["host"], "test-agent");
  }
  bool ok = false;
  const std::string report = testutil::ValidateEve(sink_.Lines(), &ok);
  EXPECT_TRUE(ok) << report;
}

TEST_F(FimTest, ChangesWhileStoppedAreReportedAtStart) {
  WriteTextFile(dir_.File("watched/keep.txt"), "same\n");
  WriteTextFile(dir_.File("watched/edit.txt"), "before\n");
  WriteTextFile(dir_.File("watched/remove.txt"), "x\n");
  {
    auto m = Monitor();
    ASSERT_TRUE(m->Start().ok());
  }
  // The agent is stopped (monitor and database closed) while files change.
  db_.reset();
  WriteTextFile(dir_.File("watched/edit.txt"), "after\n");
  ASSERT_EQ(::unlink(dir_.File("watched/remove.txt").c_str()), 0);
  WriteTextFile(dir_.File("watched/added.txt"), "new\n");
  OpenDb();
  auto m = Monitor();
  ASSERT_TRUE(m->Start().ok());
  auto actions = Actions();
  EXPECT_EQ(actions.size(), 3u);
  EXPECT_THAT(actions[dir_.File("watched/edit.txt")], ::testing::ElementsAre("modified"));
  EXPECT_THAT(actions[dir_.File("watched/remove.txt")], ::testing::ElementsAre("deleted"));
  EXPECT_THAT(actions[dir_.File("watched/added.txt")], ::testing::ElementsAre("created"));
  for (const auto& j : testutil::Parse(sink_.Lines())) {
    EXPECT_EQ(j["file"]["detected_by"], "startup");
    if (j["file"]["action"] == "modified") {
      EXPECT_EQ(j["file"]["old"]["sha256"], tls::Sha256Hex("before\n"));
      EXPECT_EQ(j["file"]["new"]["sha256"], tls::Sha256Hex("after\n"));
    }
  }
}

TEST_F(FimTest, IgnorePatternsLeavePathsOut) {
  FimOptions o;
  o.paths = {dir_.File("watched")};
  o.ignore = {"*.swp", "*/cache/*"};
  std::filesystem::create_directories(dir_.File("watched/cache"));
  auto m = Monitor(o);
  ASSERT_TRUE(m->Start().ok());
  WriteTextFile(dir_.File("watched/x.swp"), "1");
  WriteTextFile(dir_.File("watched/cache/c"), "1");
  WriteTextFile(dir_.File("watched/real"), "1");
  PollUntil(*m, 1);
  auto actions = Actions();
  EXPECT_EQ(actions.size(), 1u);
  EXPECT_TRUE(actions.count(dir_.File("watched/real")));
}

TEST_F(FimTest, InotifyOverflowLosesNoChange) {
  // Overflow the kernel's event queue while nobody reads it: writes that
  // alternate between two files are never merged into one event.
  std::ifstream limit_file("/proc/sys/fs/inotify/max_queued_events");
  size_t limit = 16384;
  limit_file >> limit;
  ASSERT_LT(limit, 2000000u) << "max_queued_events is too large to overflow in a unit test";
  for (int i = 0; i < 20; ++i) WriteTextFile(dir_.File("watched/pre" + std::to_string(i)), "v1");
  WriteTextFile(dir_.File("watched/a.log"), "");
  WriteTextFile(dir_.File("watched/b.log"), "");
  auto m = Monitor();
  ASSERT_TRUE(m->Start().ok());
  for (int i = 0; i < 10; ++i) WriteTextFile(dir_.File("watched/pre" + std::to_string(i)), "v2");
  for (int i = 10; i < 15; ++i) ASSERT_EQ(::unlink(dir_.File("watched/pre" + std::to_string(i)).c_str()), 0);
  const size_t created = 200;
  for (size_t i = 0; i < created; ++i) WriteTextFile(dir_.File("watched/new" + std::to_string(i)), "n");
  const int a = ::open(dir_.File("watched/a.log").c_str(), O_WRONLY | O_APPEND);
  const int b = ::open(dir_.File("watched/b.log").c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  for (size_t i = 0; i < limit / 2 + 100; ++i) {
    ASSERT_EQ(::write(a, "x", 1), 1);
    ASSERT_EQ(::write(b, "y", 1), 1);
  }
  ::close(a);
  ::close(b);
  const size_t expected = 10 + 5 + created + 2;
  PollUntil(*m, expected);
  EXPECT_GE(m->stats().overflows, 1u);
  auto actions = Actions();
  EXPECT_EQ(sink_.Lines().size(), expected);
  for (size_t i = 0; i < created; ++i) {
    EXPECT_THAT(actions[dir_.File("watched/new" + std::to_string(i))], ::testing::ElementsAre("created")) << i;
  }
  for (int i = 0; i < 10; ++i) {
    EXPECT_THAT(actions[dir_.File("watched/pre" + std::to_string(i))], ::testing::ElementsAre("modified")) << i;
  }
  for (int i = 10; i < 15; ++i) {
    EXPECT_THAT(actions[dir_.File("watched/pre" + std::to_string(i))], ::testing::ElementsAre("deleted")) << i;
  }
  for (int i = 15; i < 20; ++i) EXPECT_FALSE(actions.count(dir_.File("watched/pre" + std::to_string(i)))) << i;
  EXPECT_THAT(actions[dir_.File("watched/a.log")], ::testing::ElementsAre("modified"));
  EXPECT_THAT(actions[dir_.File("watched/b.log")], ::testing::ElementsAre("modified"));
  for (const auto& j : testutil::Parse(sink_.Lines())) EXPECT_EQ(j["file"]["detected_by"], "rescan");
  // And it keeps watching after the rescan.
  const size_t before = sink_.Lines().size();
  WriteTextFile(dir_.File("watched/new0"), "changed");
  PollUntil(*m, before + 1);
  EXPECT_THAT(Actions()[dir_.File("watched/new0")], ::testing::ElementsAre("created", "modified"));
}

TEST_F(FimTest, ChangedFilesAreScannedWithYara) {
  auto rules = yara::CompileRulesFromString("rule dropped_shell { strings: $a = \"eval(base64_decode(\" condition: $a }",
                                            "fim-test");
  ASSERT_TRUE(rules.has_value());
  FimOptions o;
  o.paths = {dir_.File("watched")};
  o.yara_rules = rules->rules;
  std::filesystem::create_directories(dir_.File("watched"));
  auto m = Monitor(o);
  ASSERT_TRUE(m->Start().ok());
  WriteTextFile(dir_.File("watched/up.php"), "<?php eval(base64_decode($x));");
  PollUntil(*m, 1);
  auto lines = testutil::Parse(sink_.Lines());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["file"]["yara"]["matches"][0]["rule"], "dropped_shell");
}

}  // namespace
}  // namespace rampart::host
