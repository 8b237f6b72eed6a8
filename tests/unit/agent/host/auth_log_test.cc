#include "agent/host/auth_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "tests/testing/paths.h"
#include "tests/testing/temp_dir.h"

namespace rampart::host {
namespace {

using ::testing::ElementsAre;
using testing::ScopedTempDir;

constexpr int64_t kNanos = 1000000000;
// 2026-11-21T00:00:00Z: BSD lines of February resolve to February 2026.
constexpr int64_t kNow = 1795219200LL * kNanos;

int64_t Utc(int y, int mo, int d, int h, int mi, int s) {
  struct tm tm {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm)) * kNanos;
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// What each line of elastic/beats' system-auth-test.log (real sshd and sudo
// lines) must give; nullopt lines are not login outcomes.
struct Golden {
  const char* service;
  const char* outcome;
  const char* user;
  const char* target_user;
  const char* src_ip;
  uint16_t src_port;
  const char* method;
  const char* tty;
  const char* command;
  const char* reason;
  const char* hostname;
  int32_t pid;
  int64_t ts;
};

std::vector<std::optional<Golden>> Expected() {
  return {
      Golden{"sshd", "success", "vagrant", "", "10.0.2.2", 63673, "publickey", "", "", "", "localhost", 3402,
             Utc(2026, 2, 21, 21, 54, 44)},
      Golden{"sshd", "success", "vagrant", "", "192.168.33.1", 58803, "password", "", "", "", "localhost", 7483,
             Utc(2026, 2, 23, 0, 13, 35)},
      Golden{"sshd", "failure", "test", "", "10.0.2.2", 0, "", "", "", "invalid user", "localhost", 3430,
             Utc(2026, 2, 21, 21, 56, 12)},
      Golden{"sshd", "failure", "root", "", "216.160.83.57", 29160, "password", "", "", "authentication failed",
             "slave22", 5774, Utc(2026, 2, 20, 8, 35, 22)},
      Golden{"sudo", "success", "vagrant", "root", "", 0, "sudo", "pts/0", "/bin/ls", "", "localhost", 0,
             Utc(2026, 2, 21, 23, 35, 33)},
      std::nullopt,  // Did not receive identification string: not a login.
      Golden{"sudo", "success", "vagrant", "root", "", 0, "sudo", "pts/1", "/bin/cat /var/log/secure", "",
             "localhost", 0, Utc(2026, 2, 23, 0, 8, 48)},
      Golden{"sudo", "failure", "tsg", "root", "", 0, "sudo", "pts/1", "/bin/ls", "user NOT in sudoers",
             "precise32", 0, Utc(2026, 2, 24, 0, 13, 2)},
      std::nullopt,  // groupadd
      std::nullopt,  // useradd
  };
}

void ExpectMatches(const std::optional<AuthEvent>& got, const std::optional<Golden>& want, const std::string& line,
                   int64_t ts_shift = 0) {
  ASSERT_EQ(got.has_value(), want.has_value()) << line;
  if (!want) return;
  EXPECT_EQ(got->service, want->service) << line;
  EXPECT_EQ(got->outcome, want->outcome) << line;
  EXPECT_EQ(got->user, want->user) << line;
  EXPECT_EQ(got->target_user, want->target_user) << line;
  EXPECT_EQ(got->src_ip, want->src_ip) << line;
  EXPECT_EQ(got->src_port, want->src_port) << line;
  EXPECT_EQ(got->method, want->method) << line;
  EXPECT_EQ(got->tty, want->tty) << line;
  EXPECT_EQ(got->command, want->command) << line;
  EXPECT_EQ(got->reason, want->reason) << line;
  EXPECT_EQ(got->hostname, want->hostname) << line;
  EXPECT_EQ(got->pid, want->pid) << line;
  EXPECT_EQ(got->timestamp_nanos, want->ts + ts_shift) << line;
}

const std::string kLog = "/sigma/logs/elastic-beats/system-auth-test.log";

TEST(AuthLogTest, RealAuthLogBsdFormat) {
  const auto lines = Lines(testing::SharedDataDir() + kLog);
  const auto expected = Expected();
  ASSERT_EQ(lines.size(), expected.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    ExpectMatches(ParseAuthLine(lines[i], kNow, 0, "auth.log"), expected[i], lines[i]);
  }
}

TEST(AuthLogTest, RealAuthLogIsoFormatWithZone) {
  // The same lines as rsyslog's RSYSLOG_FileFormat writes them (Debian 12),
  // in the province's zone (+07:00).
  const auto lines = Lines(testing::SharedDataDir() + kLog);
  const auto expected = Expected();
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& bsd = lines[i];
    int month = 0;
    for (int m = 0; m < 12; ++m) {
      if (bsd.compare(0, 3, kMonths[m]) == 0) month = m + 1;
    }
    ASSERT_GT(month, 0) << bsd;
    char iso[64];
    std::snprintf(iso, sizeof(iso), "2026-%02d-%02dT%s.250000+07:00", month, std::stoi(bsd.substr(4, 2)),
                  bsd.substr(7, 8).c_str());
    const std::string line = iso + bsd.substr(15);
    ExpectMatches(ParseAuthLine(line, kNow, 0, "auth.log"), expected[i], line, -7 * 3600 * kNanos + 250000000);
  }
}

TEST(AuthLogTest, BsdTimesUseTheLocalZoneAndThePastYear) {
  // Local zone +07:00: 21:54:44 local is 14:54:44 UTC.
  auto e = ParseAuthLine("Feb 21 21:54:44 web sshd[1]: Accepted password for a from 10.0.0.1 port 22 ssh2", kNow,
                         7 * 3600, "auth.log");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->timestamp_nanos, Utc(2026, 2, 21, 14, 54, 44));
  // "Dec 31" read on 2026-11-21 is last year's, not a date in the future.
  auto old = ParseSyslogLine("Dec 31 23:00:00 web su[2]: (to root) alice on pts/0", kNow, 0);
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->timestamp_nanos, Utc(2025, 12, 31, 23, 0, 0));
  // Space-padded day.
  auto padded = ParseSyslogLine("Feb  1 01:02:03 web sudo: x : TTY=pts/0 ; USER=root ; COMMAND=/bin/id", kNow, 0);
  ASSERT_TRUE(padded.has_value());
  EXPECT_EQ(padded->timestamp_nanos, Utc(2026, 2, 1, 1, 2, 3));
}

TEST(AuthLogTest, Rfc5424Lines) {
  auto e = ParseAuthLine(
      "<38>1 2026-11-21T10:00:00.5Z web-01 sshd 4242 - [origin ip=\"10.0.0.5\"] Failed password for invalid user "
      "admin from 203.0.113.9 port 4242 ssh2",
      kNow, 0, "journal");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->service, "sshd");
  EXPECT_EQ(e->outcome, "failure");
  EXPECT_EQ(e->reason, "invalid user");
  EXPECT_EQ(e->user, "admin");
  EXPECT_EQ(e->src_ip, "203.0.113.9");
  EXPECT_EQ(e->pid, 4242);
  EXPECT_EQ(e->hostname, "web-01");
  EXPECT_EQ(e->timestamp_nanos, Utc(2026, 11, 21, 10, 0, 0) + 500000000);
}

TEST(AuthLogTest, SuAndMoreSudoShapes) {
  struct Case {
    const char* line;
    const char* outcome;
    const char* user;
    const char* target;
    const char* reason;
  };
  const Case cases[] = {
      {"Nov 21 10:00:00 web su[811]: (to root) alice on pts/0", "success", "alice", "root", ""},
      {"Nov 21 10:00:01 web su[812]: FAILED SU (to root) alice on pts/0", "failure", "alice", "root",
       "authentication failed"},
      {"Nov 21 10:00:02 web su[813]: Successful su for postgres by root", "success", "root", "postgres", ""},
      {"Nov 21 10:00:03 web su[814]: FAILED su for root by bob", "failure", "bob", "root", "authentication failed"},
      {"Nov 21 10:00:04 web sudo: alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
       "COMMAND=/usr/bin/id",
       "failure", "alice", "root", "3 incorrect password attempts"},
      {"Nov 21 10:00:05 web sshd[9]: error: maximum authentication attempts exceeded for root from 198.51.100.7 port "
       "5555 ssh2 [preauth]",
       "failure", "root", "", "maximum authentication attempts exceeded"},
  };
  for (const Case& c : cases) {
    auto e = ParseAuthLine(c.line, kNow, 0, "auth.log");
    ASSERT_TRUE(e.has_value()) << c.line;
    EXPECT_EQ(e->outcome, c.outcome) << c.line;
    EXPECT_EQ(e->user, c.user) << c.line;
    EXPECT_EQ(e->target_user, c.target) << c.line;
    EXPECT_EQ(e->reason, c.reason) << c.line;
  }
  // PAM's copies and session lines are not separate logins.
  for (const char* line : {
           "Nov 21 10:00:06 web sudo: pam_unix(sudo:auth): authentication failure; logname=alice uid=1000 euid=0 "
           "tty=/dev/pts/0 ruser=alice rhost=  user=alice",
           "Nov 21 10:00:07 web su[815]: pam_unix(su:session): session opened for user root(uid=0) by alice(uid=1000)",
           "Nov 21 10:00:08 web sshd[10]: pam_unix(sshd:session): session opened for user bob(uid=1001) by (uid=0)",
           "Nov 21 10:00:09 web CRON[11]: pam_unix(cron:session): session closed for user root",
           "garbage", "", "Nov 99 10:00:00 web sshd[1]: Accepted password for a from 1.2.3.4 port 1 ssh2",
       }) {
    EXPECT_FALSE(ParseAuthLine(line, kNow, 0, "auth.log").has_value()) << line;
  }
}

TEST(LogTailTest, FollowsAppendsRotationAndTruncation) {
  ScopedTempDir dir("tail");
  const std::string path = dir.File("auth.log");
  testing::WriteTextFile(path, "one\ntwo\npart");
  LogTail tail(path, /*start_at_end=*/false);
  std::vector<std::string> got;
  auto collect = [&](std::string_view l) { got.emplace_back(l); };
  ASSERT_EQ(tail.Poll(collect).value(), 2u);
  EXPECT_THAT(got, ElementsAre("one", "two"));
  {
    std::ofstream out(path, std::ios::app);
    out << "ial\nthree\n";
  }
  got.clear();
  ASSERT_TRUE(tail.Poll(collect).has_value());
  EXPECT_THAT(got, ElementsAre("partial", "three"));
  // logrotate: the old file gets one more line, then is renamed; a new file appears.
  {
    std::ofstream out(path, std::ios::app);
    out << "last-of-old\n";
  }
  ASSERT_EQ(std::rename(path.c_str(), (path + ".1").c_str()), 0);
  testing::WriteTextFile(path, "first-of-new\n");
  got.clear();
  ASSERT_TRUE(tail.Poll(collect).has_value());
  EXPECT_THAT(got, ElementsAre("last-of-old", "first-of-new"));
  // A saved position resumes without repeating or skipping.
  const LogTail::Position saved = tail.position();
  {
    std::ofstream out(path, std::ios::app);
    out << "while-stopped\n";
  }
  LogTail resumed(path, true);
  resumed.Restore(saved);
  got.clear();
  ASSERT_TRUE(resumed.Poll(collect).has_value());
  EXPECT_THAT(got, ElementsAre("while-stopped"));
  // copytruncate: the file shrinks under us.
  testing::WriteTextFile(path, "after-truncate\n");
  got.clear();
  ASSERT_TRUE(resumed.Poll(collect).has_value());
  EXPECT_THAT(got, ElementsAre("after-truncate"));
}

TEST(LogTailTest, MissingFileIsNotFoundAndStartAtEndSkipsHistory) {
  ScopedTempDir dir("tail");
  LogTail absent(dir.File("none.log"), true);
  auto r = absent.Poll([](std::string_view) {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kNotFound);
  testing::WriteTextFile(dir.File("a.log"), "old\n");
  LogTail tail(dir.File("a.log"), true);
  std::vector<std::string> got;
  ASSERT_EQ(tail.Poll([&](std::string_view l) { got.emplace_back(l); }).value(), 0u);
  {
    std::ofstream out(dir.File("a.log"), std::ios::app);
    out << "new\n";
  }
  ASSERT_EQ(tail.Poll([&](std::string_view l) { got.emplace_back(l); }).value(), 1u);
  EXPECT_THAT(got, ElementsAre("new"));
}

}  // namespace
}  // namespace rampart::host
