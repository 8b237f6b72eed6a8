#include "agent/host/host_sensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "common/eve/sink.h"
#include "common/util/clock.h"
#include "tests/unit/agent/host/host_test_util.h"

namespace rampart::host {
namespace {

using testing::ScopedTempDir;

HostSensorsOptions Quiet(const ScopedTempDir& dir) {
  HostSensorsOptions o;
  o.state_dir = dir.File("state");
  o.agent_name = "unit";
  o.processes_enabled = false;
  o.sockets_enabled = false;
  o.resources_enabled = false;
  o.logins_enabled = false;
  return o;
}

// Journal entries written the way a journal reaches a collector: the export
// format through systemd-journal-remote into a journal file.
void WriteJournal(const std::string& file, const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string text;
  int64_t us = WallNanos() / 1000;
  int i = 0;
  for (const auto& [identifier, message] : entries) {
    ++i;
    text += "__CURSOR=s=0;i=" + std::to_string(i) + "\n__REALTIME_TIMESTAMP=" + std::to_string(us++) +
            "\n__MONOTONIC_TIMESTAMP=" + std::to_string(i * 1000) +
            "\n_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=web-01\nSYSLOG_IDENTIFIER=" + identifier +
            "\n_PID=" + std::to_string(4000 + i) + "\nMESSAGE=" + message + "\n\n";
  }
  auto r = testing::RunProcess({"/lib/systemd/systemd-journal-remote", "-o", file, "-"}, std::chrono::seconds(30), text);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

TEST(HostSensorsTest, LoginsFromTheJournal) {
#ifndef RAMPART_TEST_HAVE_SYSTEMD
  GTEST_SKIP() << "built without libsystemd (libsystemd-dev): the journal reader is not compiled";
#endif
  ASSERT_TRUE(std::filesystem::exists("/lib/systemd/systemd-journal-remote"))
      << "the Debian package systemd-journal-remote is needed to write journal files";
  ScopedTempDir dir("journal");
  std::filesystem::create_directories(dir.File("journal"));
  HostSensorsOptions o = Quiet(dir);
  o.logins_enabled = true;
  o.logins_source = "journal";
  o.journal_directory = dir.File("journal");
  eve::MemorySink sink;
  auto sensors = HostSensors::Start(o, &sink);
  ASSERT_TRUE(sensors.has_value()) << sensors.error();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // The reader is at the (empty) tail.
  WriteJournal(dir.File("journal/remote-1.journal"),
               {{"sshd", "Accepted publickey for ops from 198.51.100.7 port 5555 ssh2: ED25519 SHA256:abc"},
                {"cron", "pam_unix(cron:session): session opened for user root"},
                {"sudo", "    bob : user NOT in sudoers ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/sh"}});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (sink.Lines().size() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  (*sensors)->Stop();
  auto records = testutil::Parse(sink.Lines());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["auth"]["service"], "sshd");
  EXPECT_EQ(records[0]["auth"]["outcome"], "success");
  EXPECT_EQ(records[0]["auth"]["user"], "ops");
  EXPECT_EQ(records[0]["auth"]["method"], "publickey");
  EXPECT_EQ(records[0]["auth"]["origin"], "journal");
  EXPECT_EQ(records[0]["auth"]["hostname"], "web-01");
  EXPECT_EQ(records[0]["src_ip"], "198.51.100.7");
  EXPECT_EQ(records[1]["auth"]["service"], "sudo");
  EXPECT_EQ(records[1]["auth"]["outcome"], "failure");
  EXPECT_EQ(records[1]["auth"]["reason"], "user NOT in sudoers");
  EXPECT_EQ(records[1]["host"], "unit");
}

TEST(HostSensorsTest, ScanWindows) {
  EXPECT_TRUE(InScanWindow("", 123).value());
  EXPECT_TRUE(InScanWindow("01:00-05:00", 60).value());
  EXPECT_FALSE(InScanWindow("01:00-05:00", 300).value());
  EXPECT_TRUE(InScanWindow("22:00-02:00", 23 * 60).value());  // Wraps past midnight.
  EXPECT_TRUE(InScanWindow("22:00-02:00", 30).value());
  EXPECT_FALSE(InScanWindow("22:00-02:00", 12 * 60).value());
  EXPECT_FALSE(InScanWindow("1:00-05:00", 0).has_value());
  EXPECT_FALSE(InScanWindow("01:00", 0).has_value());
}

TEST(HostSensorsTest, CgroupLimitSaysWhyWhenItCannotBeMade) {
  auto cg = PrepareScanCgroup(50);
  if (cg) {
    EXPECT_THAT(*cg, ::testing::EndsWith("/rampart-scan/cgroup.threads"));
    std::filesystem::remove(std::filesystem::path(*cg).parent_path());
  } else {
    EXPECT_THAT(cg.error().message(), ::testing::AnyOf(::testing::HasSubstr("cgroup v2"),
                                                       ::testing::HasSubstr("cpu controller"),
                                                       ::testing::HasSubstr("cannot")));
  }
  EXPECT_FALSE(PrepareScanCgroup(0).has_value());
}

TEST(HostSensorsTest, OnDemandScanWithoutRulesIsRefused) {
  ScopedTempDir dir("ondemand");
  eve::MemorySink sink;
  auto sensors = HostSensors::Start(Quiet(dir), &sink);
  ASSERT_TRUE(sensors.has_value()) << sensors.error();
  EXPECT_EQ((*sensors)->RequestScan({"/tmp"}).code(), StatusCode::kFailedPrecondition);
}

TEST(HostSensorsTest, OnDemandScanReportsItsMatchesAndLife) {
  ScopedTempDir dir("ondemand");
  testing::WriteTextFile(dir.File("www/up.php"), "<?php exit(0); @eval(base64_decode($_POST['z']));");
  HostSensorsOptions o = Quiet(dir);
  o.yara_rules = {testing::SourceDir() + "/rules/yara"};
  o.scan.paths.clear();
  o.scan.max_rate = 0;
  eve::MemorySink sink;
  auto sensors = HostSensors::Start(o, &sink);
  ASSERT_TRUE(sensors.has_value()) << sensors.error();
  ASSERT_TRUE((*sensors)->RequestScan({dir.File("www")}).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool finished = false;
  while (!finished && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (const auto& r : testutil::Parse(sink.Lines())) {
      finished = finished || (r.contains("scan") && r["scan"]["state"] == "finished");
    }
  }
  (*sensors)->Stop();
  auto records = testutil::Parse(sink.Lines());
  ASSERT_TRUE(finished);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0]["scan"]["state"], "started");
  EXPECT_THAT(records[0]["scan"]["reason"].get<std::string>(), ::testing::StartsWith("on demand"));
  EXPECT_EQ(records[1]["file"]["yara"]["matches"][0]["rule"], "RAMPART_Webshell_PHP_Eval_Request");
  EXPECT_EQ(records[2]["scan"]["files_matched"], 1);
  bool ok = false;
  const std::string report = testutil::ValidateEve(sink.Lines(), &ok);
  EXPECT_TRUE(ok) << report;
}

}  // namespace
}  // namespace rampart::host
