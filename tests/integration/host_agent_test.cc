// The host sensors inside the real daemon (rampart-agent run): a file
// modified while the agent is stopped is reported at the next start, real
// auth.log lines appended while it runs become auth records, a process
// started by the test is reported with the right hash, and a scheduled scan
// reports its matches and its life (started, finished). Events are read
// back from the agent's spool, where the daemon put them, and validated
// against the EVE schema with the project's extension.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <thread>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agent/store/spool.h"
#include "rampart/v1/event.pb.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

namespace rampart {
namespace {

using testing::ProgramPath;
using testing::ScopedTempDir;

class HostAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WriteTextFile(dir_.File("watched/app.conf"), "listen 80\n");
    testing::WriteTextFile(dir_.File("watched/keep.conf"), "same\n");
    testing::WriteTextFile(dir_.File("auth.log"), "");
    testing::WriteTextFile(dir_.File("scan/clean.txt"), "nothing\n");
    std::filesystem::copy_file(testing::SourceDir() + "/tests/data/yara/hit/revshell.sh", dir_.File("scan/revshell.sh"));
    config_ = dir_.File("agent.yaml");
    testing::WriteTextFile(config_, "agent:\n"
                                    "  name: host-it\n"
                                    "  data_dir: " + dir_.File("data") + "\n"
                                    "  host:\n"
                                    "    fim: {paths: [" + dir_.File("watched") + "]}\n"
                                    "    logins: {source: files, files: [" + dir_.File("auth.log") + "], poll_interval: 100ms}\n"
                                    "    sockets: {interval: 1s}\n"
                                    "    resources: {interval: 1s}\n"
                                    "  yara:\n"
                                    "    rules: [" + testing::SourceDir() + "/rules/yara]\n"
                                    "    scan: {paths: [" + dir_.File("scan") + "], first_delay: 0s, interval: 1h}\n");
  }

  // Starts the daemon, runs `during`, stops it with SIGTERM.
  void RunAgent(const std::string& name, const std::function<void(testing::ChildProcess&)>& during) {
    testing::ChildProcess agent({ProgramPath("rampart-agent"), "run", "--config", config_}, dir_.File(name + ".log"));
    ASSERT_TRUE(agent.WaitForLog("fim: watching", std::chrono::seconds(30))) << agent.Log();
    ASSERT_TRUE(agent.WaitForLog("agent: host sensors running", std::chrono::seconds(30))) << agent.Log();
    during(agent);
    agent.Signal(SIGTERM);
    auto r = agent.Wait(std::chrono::seconds(30));
    ASSERT_EQ(r.exit_code, 0) << agent.Log();
  }

  // Every EVE record in the spool, in sequence order.
  std::vector<nlohmann::json> SpoolRecords(std::vector<std::string>* lines = nullptr) {
    auto spool = agent_store::Spool::Open({.path = dir_.File("data/spool")});
    EXPECT_TRUE(spool.has_value()) << spool.error();
    if (!spool) return {};
    std::vector<agent_store::OutboxEntry> entries;
    auto n = (*spool)->Read(agent_store::Lane::kAll, 0, 1000000, 1ull << 30, &entries);
    EXPECT_TRUE(n.has_value());
    std::vector<nlohmann::json> out;
    for (const auto& e : entries) {
      rampart::v1::Event event;
      EXPECT_TRUE(event.ParseFromString(e.event));
      out.push_back(nlohmann::json::parse(event.eve_json()));
      if (lines) lines->push_back(event.eve_json());
    }
    return out;
  }

  ScopedTempDir dir_{"hostagent"};
  std::string config_;
};

TEST_F(HostAgentTest, ChangesWhileStoppedLoginsProcessesAndScans) {
  // First run: baseline, a scheduled scan, real auth.log lines, a process.
  const std::string exe = dir_.File("rampart-it-sleeper");
  std::filesystem::copy_file("/bin/sleep", exe);
  ::chmod(exe.c_str(), 0755);
  pid_t child = -1;
  RunAgent("first", [&](testing::ChildProcess& agent) {
    ASSERT_TRUE(agent.WaitForLog("scan: finished", std::chrono::seconds(60))) << agent.Log();
    std::ifstream real(testing::SharedDataDir() + "/sigma/logs/elastic-beats/system-auth-test.log");
    std::ofstream log(dir_.File("auth.log"), std::ios::app);
    log << real.rdbuf();
    log.close();
    child = ::fork();
    if (child == 0) {
      // Long enough for a busy machine: a process gone before the agent read
      // /proc is reported with its pid only.
      ::execl(exe.c_str(), "rampart-it-sleeper", "2", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    std::this_thread::sleep_for(std::chrono::seconds(1));  // Log polling and process events settle.
  });
  // Stopped: change the watched tree.
  testing::WriteTextFile(dir_.File("watched/app.conf"), "listen 8080\n");
  testing::WriteTextFile(dir_.File("watched/new.conf"), "added while stopped\n");
  RunAgent("second", [&](testing::ChildProcess&) { std::this_thread::sleep_for(std::chrono::seconds(1)); });

  std::vector<std::string> lines;
  const auto records = SpoolRecords(&lines);
  ASSERT_FALSE(records.empty());
  int auth = 0, stats = 0, sockets = 0;
  bool modified = false, created = false, exec_seen = false;
  int scan_matches = 0;
  std::vector<nlohmann::json> finished;
  for (const auto& r : records) {
    EXPECT_EQ(r["host"], "host-it");
    const std::string type = r["event_type"];
    if (type == "auth") ++auth;
    if (type == "stats") ++stats;
    if (type == "socket") ++sockets;
    if (type == "file" && r["file"]["path"] == dir_.File("watched/app.conf")) {
      EXPECT_EQ(r["file"]["action"], "modified");
      EXPECT_EQ(r["file"]["detected_by"], "startup");
      EXPECT_EQ(r["file"]["old"]["size"], 10);
      EXPECT_EQ(r["file"]["new"]["size"], 12);
      EXPECT_NE(r["file"]["old"]["sha256"], r["file"]["new"]["sha256"]);
      modified = true;
    }
    if (type == "file" && r["file"]["path"] == dir_.File("watched/new.conf")) {
      EXPECT_EQ(r["file"]["action"], "created");
      EXPECT_EQ(r["file"]["detected_by"], "startup");
      created = true;
    }
    EXPECT_FALSE(type == "file" && r["file"]["path"] == dir_.File("watched/keep.conf")) << r.dump();
    if (type == "process" && r["process"]["action"] == "exec" && r["process"]["pid"] == child) {
      EXPECT_EQ(r["process"]["exe"], exe);
      auto sum = testing::RunProcess({"/usr/bin/sha256sum", exe});
      EXPECT_EQ(r["process"]["sha256"], sum.out.substr(0, 64));
      exec_seen = true;
    }
    if (type == "file" && r["file"]["action"] == "yara_match") {
      EXPECT_EQ(r["file"]["path"], dir_.File("scan") + "/revshell.sh");
      EXPECT_EQ(r["file"]["yara"]["matches"][0]["rule"], "RAMPART_ReverseShell_Bash_DevTcp");
      ++scan_matches;
    }
    if (type == "scan" && r["scan"]["state"] == "finished") finished.push_back(r["scan"]);
  }
  EXPECT_TRUE(modified);
  EXPECT_TRUE(created);
  EXPECT_TRUE(exec_seen) << "no exec record for pid " << child;
  // One scheduled scan per start: the second finds both files unchanged in
  // the scan cache and still reports the match.
  ASSERT_EQ(finished.size(), 2u);
  EXPECT_EQ(finished[0]["files_scanned"], 2);
  EXPECT_EQ(finished[0]["files_matched"], 1);
  EXPECT_EQ(finished[1]["files_scanned"], 0);
  EXPECT_EQ(finished[1]["files_cached"], 2);
  EXPECT_EQ(finished[1]["files_matched"], 1);
  EXPECT_EQ(scan_matches, 2);
  EXPECT_EQ(auth, 7);  // The seven login outcomes of the real log (see the unit test's golden parse).
  EXPECT_GE(stats, 2);
  EXPECT_GE(sockets, 1);
  testing::WriteTextFile(dir_.File("eve.json"), [&] {
    std::string all;
    for (const auto& l : lines) all += l + "\n";
    return all;
  }());
  auto check = testing::RunProcess({testing::SystemPython(), testing::SourceDir() + "/tests/tools/eve_validate.py",
                                    "--schema", testing::SharedDataDir() + "/eve-schema/schema.json", "--extension",
                                    testing::SourceDir() + "/common/eve/rampart-eve-extension.json", dir_.File("eve.json")});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

TEST_F(HostAgentTest, BadHostConfigIsReportedWithKeyPathsAndLines) {
  testing::WriteTextFile(config_, "agent:\n"
                                  "  data_dir: " + dir_.File("data") + "\n"
                                  "  host:\n"
                                  "    fim: {paths: [relative/path]}\n"
                                  "    logins: {source: syslog}\n"
                                  "  yara:\n"
                                  "    scan: {paths: [/srv], window: \"25:00-26:00\"}\n");
  auto r = testing::RunProcess({ProgramPath("rampart-agent"), "check-config", "--config", config_});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, ::testing::HasSubstr("agent.host.fim.paths: 'relative/path' is not an absolute path (line 4)"));
  EXPECT_THAT(r.err, ::testing::HasSubstr("agent.host.logins.source: must be one of auto, journal, files"));
  EXPECT_THAT(r.err, ::testing::HasSubstr("agent.yara.scan.window: want HH:MM, got '25:00'"));
  EXPECT_THAT(r.err, ::testing::HasSubstr("agent.yara.scan.paths: scheduled scans need agent.yara.rules"));
}

TEST(HostSnapshotTest, OnceJsonListsResourcesOurSocketAndOurProcess) {
  // A listening socket held by this test process must show up with our pid.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  auto r = testing::RunProcess({ProgramPath("rampart-agent"), "host", "--once", "--json"}, std::chrono::seconds(120));
  ::close(fd);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int stats = 0;
  bool socket_found = false, process_found = false;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j["event_type"] == "stats") {
      ++stats;
      EXPECT_GT(j["stats"]["host"]["memory"]["total"].get<uint64_t>(), 0u);
    }
    if (j["event_type"] == "socket" && j["socket"]["local_port"] == port) {
      EXPECT_EQ(j["socket"]["pid"], ::getpid());
      socket_found = true;
    }
    if (j["event_type"] == "process" && j["process"]["pid"] == ::getpid()) {
      EXPECT_EQ(j["process"]["exe"], std::filesystem::read_symlink("/proc/self/exe").string());
      EXPECT_EQ(j["process"]["sha256"].get<std::string>().size(), 64u);
      process_found = true;
    }
  }
  EXPECT_EQ(stats, 1);
  EXPECT_TRUE(socket_found) << "port " << port;
  EXPECT_TRUE(process_found);
  ScopedTempDir dir("snapshot");
  testing::WriteTextFile(dir.File("eve.json"), r.out);
  auto check = testing::RunProcess({testing::SystemPython(), testing::SourceDir() + "/tests/tools/eve_validate.py",
                                    "--schema", testing::SharedDataDir() + "/eve-schema/schema.json", "--extension",
                                    testing::SourceDir() + "/common/eve/rampart-eve-extension.json", dir.File("eve.json")});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  auto usage = testing::RunProcess({ProgramPath("rampart-agent"), "host"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_THAT(usage.err, ::testing::HasSubstr("only --once is supported"));
}

}  // namespace
}  // namespace rampart
