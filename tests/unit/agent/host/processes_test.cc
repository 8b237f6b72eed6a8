#include "agent/host/processes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "agent/host/inventory.h"
#include "agent/host/procfs.h"
#include "common/eve/sink.h"
#include "tests/unit/agent/host/host_test_util.h"

namespace rampart::host {
namespace {

using testing::ScopedTempDir;

// sha256sum's answer for a file: the reference the monitor must agree with.
std::string Sha256sum(const std::string& path) {
  auto r = testing::RunProcess({"/usr/bin/sha256sum", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out.substr(0, 64);
}

// A copy of /bin/sleep under a unique name, so its exec is unmistakable.
std::string CopySleep(const ScopedTempDir& dir) {
  const std::string exe = dir.File("rampart-test-sleeper");
  std::filesystem::copy_file("/bin/sleep", exe);
  ::chmod(exe.c_str(), 0755);
  return exe;
}

pid_t Spawn(const std::string& exe, const char* arg) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(exe.c_str(), "rampart-test-sleeper", arg, static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

class ProcessMonitorTest : public ::testing::TestWithParam<bool> {};

TEST_P(ProcessMonitorTest, ProcessStartedByTheTestIsReportedWithTheRightHash) {
  ScopedTempDir dir("proc");
  const std::string exe = CopySleep(dir);
  eve::MemorySink sink;
  EventWriter writer(&sink, {});
  ProcessMonitorOptions options;
  options.use_netlink = GetParam();
  options.poll_interval = std::chrono::milliseconds(100);
  auto monitor = ProcessMonitor::Create(options, &writer);
  ASSERT_TRUE(monitor.has_value());
  ASSERT_TRUE((*monitor)->Start().ok());
  if (GetParam() && (*monitor)->source() != "netlink") {
    GTEST_SKIP() << "the process connector cannot be opened here (needs CAP_NET_ADMIN); /proc polling is tested";
  }
  const pid_t child = Spawn(exe, "0.6");
  ASSERT_GT(child, 0);
  nlohmann::json exec, exit_record;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  bool reaped = false;
  while (std::chrono::steady_clock::now() < deadline && (exec.is_null() || exit_record.is_null())) {
    ASSERT_TRUE((*monitor)->Poll(std::chrono::milliseconds(50)).has_value());
    if (!reaped && ::waitpid(child, &status, WNOHANG) == child) reaped = true;
    for (const auto& j : testutil::Parse(sink.Lines())) {
      if (j["process"]["pid"] != child) continue;
      if (j["process"]["action"] == "exec") exec = j;
      if (j["process"]["action"] == "exit") exit_record = j;
    }
  }
  if (!reaped) ::waitpid(child, &status, 0);
  ASSERT_FALSE(exec.is_null()) << "no exec record for pid " << child;
  EXPECT_EQ(exec["process"]["exe"], exe);
  EXPECT_EQ(exec["process"]["sha256"], Sha256sum(exe));
  EXPECT_EQ(exec["process"]["ppid"], ::getpid());
  EXPECT_EQ(exec["process"]["args"], nlohmann::json::array({"rampart-test-sleeper", "0.6"})) << exec.dump();
  EXPECT_EQ(exec["process"]["uid"], ::getuid());
  EXPECT_EQ(exec["process"]["source"], GetParam() ? "netlink" : "procfs");
  ASSERT_FALSE(exit_record.is_null()) << "no exit record for pid " << child;
  if (GetParam()) {
    EXPECT_EQ(exit_record["process"]["exit_code"], 0);
  }
  bool ok = false;
  const std::string report = testutil::ValidateEve(sink.Lines(), &ok);
  EXPECT_TRUE(ok) << report;
}

INSTANTIATE_TEST_SUITE_P(Sources, ProcessMonitorTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "Netlink" : "Procfs"; });

TEST(ProcessSnapshotTest, ListsThisProcess) {
  ExeHashCache hashes;
  auto self = ReadProcess(::getpid(), &hashes);
  ASSERT_TRUE(self.has_value());
  EXPECT_EQ(self->exe, std::filesystem::read_symlink("/proc/self/exe").string());
  EXPECT_EQ(self->sha256, Sha256sum(self->exe));
  EXPECT_GT(self->start_time_nanos, 0);
  bool found = false;
  for (const auto& p : ListProcesses(nullptr)) found = found || p.pid == ::getpid();
  EXPECT_TRUE(found);
  EXPECT_FALSE(ReadProcess(-5, nullptr).has_value());
}

TEST(ProcfsTest, StatWithHostileComm) {
  auto st = ParseProcStat("4242 (a) b (c) R 1 4242 4242 0 -1 4194560 0 0 0 0 7 3 0 0 20 0 1 0 123456 1000 250 0");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->pid, 4242);
  EXPECT_EQ(st->comm, "a) b (c");
  EXPECT_EQ(st->ppid, 1);
  EXPECT_EQ(st->utime_ticks, 7u);
  EXPECT_EQ(st->start_ticks, 123456u);
  EXPECT_EQ(st->rss_pages, 250u);
  EXPECT_FALSE(ParseProcStat("4242 (x R 1").has_value());
  EXPECT_FALSE(ParseProcStat("").has_value());
  EXPECT_FALSE(ParseProcStat("12 (x) R").has_value());
}

TEST(ProcfsTest, NetLinesAndStatusAndCmdline) {
  auto v4 = ParseProcNetLine(
      "   0: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0 100 0 0 10 0",
      false);
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->local_ip, "127.0.0.1");
  EXPECT_EQ(v4->local_port, 22);
  EXPECT_EQ(v4->state, 0x0A);
  EXPECT_EQ(v4->inode, 12345u);
  auto v6 = ParseProcNetLine(
      "   1: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 "
      "00:00000000 00000000  1000        0 777 1 0 100 0 0 10 0",
      true);
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->local_ip, "::1");
  EXPECT_EQ(v6->local_port, 8080);
  EXPECT_EQ(v6->uid, 1000u);
  EXPECT_FALSE(ParseProcNetLine("  sl  local_address rem_address   st", false).has_value());
  auto status = ParseProcStatus("Name:\tsshd\nPPid:\t1\nUid:\t0\t0\t0\t0\nGid:\t4\t4\t4\t4\n");
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->name, "sshd");
  EXPECT_EQ(status->gid, 4u);
  EXPECT_THAT(ParseCmdline(std::string("a\0b c\0\0d\0", 9)), ::testing::ElementsAre("a", "b c", "", "d"));
}

TEST(InventoryTest, ListeningSocketOfThisProcessIsFound) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const uint16_t port = ntohs(addr.sin_port);
  bool found = false;
  for (const auto& s : ListListeningSockets()) {
    if (s.proto == "tcp" && s.local_port == port && s.local_ip == "127.0.0.1") {
      found = true;
      EXPECT_EQ(s.pid, ::getpid());
      EXPECT_FALSE(s.exe.empty());
    }
  }
  ::close(fd);
  EXPECT_TRUE(found) << "port " << port;
  ResourceSampler sampler;
  (void)sampler.Sample();
  const ResourceSample s = sampler.Sample();
  EXPECT_GT(s.memory_total_bytes, 0u);
  EXPECT_GT(s.cpu_count, 0u);
  EXPECT_GT(s.agent_rss_bytes, 0u);
  eve::MemorySink sink;
  EventWriter writer(&sink, {.host = "h"});
  ASSERT_TRUE(writer.WriteStats(s).ok());
  bool ok = false;
  EXPECT_TRUE((testutil::ValidateEve(sink.Lines(), &ok), ok));
}

TEST(EventWriterTest, EveryRecordTypeValidatesAndABadOneDoesNot) {
  eve::MemorySink sink;
  EventWriter writer(&sink, {.host = "web-01"});
  AuthEvent auth;
  auth.service = "sshd";
  auth.outcome = "failure";
  auth.user = "root";
  auth.src_ip = "203.0.113.9";
  auth.src_port = 4242;
  ASSERT_TRUE(writer.WriteAuth(auth).ok());
  SocketEvent sock;
  sock.action = "listening";
  sock.proto = "tcp";
  sock.local_ip = "0.0.0.0";
  sock.local_port = 22;
  ASSERT_TRUE(writer.WriteSocket(sock).ok());
  ScanReport report;
  report.scan_id = "scan-1";
  report.state = "paused";
  report.reason = "outside scan window";
  ASSERT_TRUE(writer.WriteScanReport(report).ok());
  yara::FileResult r;
  r.path = "/srv/x.php";
  r.matches.push_back({.rule = "r", .ns = "default", .tags = {"web"},
                       .meta = {{.key = "ref", .string_value = "a"}, {.key = "ref", .string_value = "b"}}});
  ASSERT_TRUE(writer.WriteScanResult("scan-1", r).ok());
  EXPECT_EQ(writer.records(), 4u);
  bool ok = false;
  std::string out = testutil::ValidateEve(sink.Lines(), &ok);
  EXPECT_TRUE(ok) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("4 records (auth=1, file=1, scan=1, socket=1), 0 invalid"));
  auto lines = sink.Lines();
  EXPECT_EQ(testutil::Parse(lines)[3]["file"]["yara"]["matches"][0]["meta"]["ref"], nlohmann::json::array({"a", "b"}));
  // The schema has teeth: an unknown auth outcome is rejected.
  lines.push_back(R"({"timestamp":"2026-11-21T00:00:00.000000+0000","event_type":"auth","auth":{"service":"sshd","outcome":"maybe"}})");
  out = testutil::ValidateEve(lines, &ok);
  EXPECT_FALSE(ok);
  EXPECT_THAT(out, ::testing::HasSubstr("1 invalid"));
}

}  // namespace
}  // namespace rampart::host
