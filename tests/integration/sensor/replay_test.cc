// rampart-agent replay and the daemon's capture section as a user meets
// them: output files and stdout, threads, broken capture files, unsupported
// link types, bad flags and bad configuration.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/testing/packets.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

namespace rampart {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;
using testing::ProgramPath;
using testing::RunProcess;

std::vector<json> ReadEve(const std::string& text) {
  std::vector<json> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    if (nl > pos) out.push_back(json::parse(text.substr(pos, nl - pos)));
    pos = nl + 1;
  }
  return out;
}

size_t Count(const std::vector<json>& recs, const std::string& type) {
  size_t n = 0;
  for (const json& r : recs) n += r["event_type"] == type ? 1 : 0;
  return n;
}

class ReplayTest : public ::testing::Test {
 protected:
  std::string MakeCapture(const std::string& name, int conversations) {
    testing::PcapWriter w(dir_.File(name));
    for (int i = 0; i < conversations; ++i) {
      testing::TcpConversation c("10.9.0." + std::to_string(1 + i % 200), static_cast<uint16_t>(20000 + i),
                                 "10.9.1.1", 80);
      w.Add(c.Handshake());
      w.Add(c.Client("GET /item/" + std::to_string(i) + " HTTP/1.1\r\nHost: shop.example\r\n\r\n"));
      w.Add(c.Server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
      w.Add(c.Close());
    }
    EXPECT_TRUE(w.Close().ok());
    return dir_.File(name);
  }
  testing::ScopedTempDir dir_{"replay"};
};

TEST_F(ReplayTest, WritesEveFileOrStdoutAndASummary) {
  const std::string pcap = MakeCapture("http.pcap", 5);
  const std::string eve = dir_.File("out.json");
  auto r = RunProcess({ProgramPath("rampart-agent"), "replay", pcap, "--eve", eve});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("replay: 40 packets, 5 flows"));
  const auto recs = ReadEve(testing::ReadTextFile(eve));
  EXPECT_EQ(Count(recs, "http"), 5u);
  EXPECT_EQ(Count(recs, "flow"), 5u);
  EXPECT_EQ(Count(recs, "stats"), 1u);
  auto out = RunProcess({ProgramPath("rampart-agent"), "replay", pcap, "--eve", "-", "-q"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(ReadEve(out.out).size(), recs.size());
  EXPECT_TRUE(out.err.empty()) << out.err;
}

TEST_F(ReplayTest, ThreadsGiveTheSameRecords) {
  const std::string pcap = MakeCapture("many.pcap", 300);
  auto canon = [](const std::string& text) {
    std::multiset<std::string> s;
    for (json r : ReadEve(text)) {
      if (r["event_type"] == "stats") continue;
      r.erase("flow_id");
      s.insert(r.dump());
    }
    return s;
  };
  auto one = RunProcess({ProgramPath("rampart-agent"), "replay", pcap, "--eve", "-", "-q"});
  auto three = RunProcess({ProgramPath("rampart-agent"), "replay", pcap, "--eve", "-", "-q", "--threads", "3"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(three.exit_code, 0) << three.err;
  const auto a = canon(one.out);
  EXPECT_EQ(a.size(), 600u);
  EXPECT_EQ(canon(three.out), a);
}

// A damaged capture ends the analysis where the damage starts, as with
// suricata -r: everything before it is analysed and the run succeeds, with
// a warning that says where.
TEST_F(ReplayTest, TruncatedCaptureWritesWhatItDecodedAndWarns) {
  const std::string pcap = MakeCapture("t.pcap", 3);
  std::string data = testing::ReadTextFile(pcap);
  data.resize(data.size() - 7);
  testing::WriteTextFile(dir_.File("cut.pcap"), data);
  const std::string eve = dir_.File("cut.json");
  auto r = RunProcess({ProgramPath("rampart-agent"), "replay", dir_.File("cut.pcap"), "--eve", eve, "-q"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("warning: " + dir_.File("cut.pcap") + ": capture file truncated: packet 24"));
  EXPECT_THAT(r.err, HasSubstr("the 23 packets before it were analysed"));
  const auto recs = ReadEve(testing::ReadTextFile(eve));
  EXPECT_EQ(Count(recs, "http"), 3u);
  EXPECT_EQ(Count(recs, "stats"), 1u);
}

TEST_F(ReplayTest, OversizedRecordEndsTheCaptureKeepingTheAlertsBefore) {
  // Suricata's bug-1450 captures: after the last packet, a record header
  // claiming 4 MiB (more than libpcap's 262,144-byte limit) and garbage.
  const std::string pcap = MakeCapture("t.pcap", 2);
  std::string data = testing::ReadTextFile(pcap);
  const size_t whole = data.size();
  const uint32_t hdr[4] = {1929287540, 4325376, 4325376, 0};
  data.append(reinterpret_cast<const char*>(hdr), sizeof(hdr));
  data.append(645, '\x5a');
  testing::WriteTextFile(dir_.File("big.pcap"), data);
  testing::WriteTextFile(dir_.File("r.rules"),
                         "alert http any any -> any any (msg:\"get\"; http.method; content:\"GET\"; sid:7;)\n");
  const std::string eve = dir_.File("big.json");
  for (const char* threads : {"1", "2"}) {
    auto r = RunProcess({ProgramPath("rampart-agent"), "replay", dir_.File("big.pcap"), "--eve", eve, "--rules",
                         dir_.File("r.rules"), "--threads", threads, "-q"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("packet 17 claims 4325376 captured bytes (at most 262144); its record starts at byte " +
                                 std::to_string(whole)));
    const auto recs = ReadEve(testing::ReadTextFile(eve));
    EXPECT_EQ(Count(recs, "http"), 2u);
    EXPECT_EQ(Count(recs, "alert"), 2u);
    EXPECT_EQ(Count(recs, "flow"), 2u);
  }
}

TEST_F(ReplayTest, UnsupportedLinkTypeNamesItself) {
  testing::PcapWriter w(dir_.File("radio.pcap"), 127);
  w.Add(testing::Bytes(60, 1));
  ASSERT_TRUE(w.Close().ok());
  auto r = RunProcess({ProgramPath("rampart-agent"), "replay", dir_.File("radio.pcap"), "--eve", dir_.File("x.json")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("link type 127 (IEEE802_11_RADIO) is not supported"));
}

TEST_F(ReplayTest, BadCommandLines) {
  const std::string pcap = MakeCapture("a.pcap", 1);
  auto missing = RunProcess({ProgramPath("rampart-agent"), "replay", dir_.File("nope.pcap"), "--eve", "-"});
  EXPECT_EQ(missing.exit_code, 2);
  auto no_eve = RunProcess({ProgramPath("rampart-agent"), "replay", pcap});
  EXPECT_EQ(no_eve.exit_code, 2);
  auto bad_checks = RunProcess({ProgramPath("rampart-agent"), "replay", pcap, "--eve", "-", "--checksum-checks", "some"});
  EXPECT_EQ(bad_checks.exit_code, 2);
  auto threads = RunProcess({ProgramPath("rampart-agent"), "replay", pcap, "--eve", "-", "--threads", "0"});
  EXPECT_EQ(threads.exit_code, 2);
  testing::WriteTextFile(dir_.File("text.pcap"), "hello\n");
  auto text = RunProcess({ProgramPath("rampart-agent"), "replay", dir_.File("text.pcap"), "--eve", "-"});
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_THAT(text.err, HasSubstr("not a pcap or pcapng capture file"));
  auto unwritable = RunProcess({ProgramPath("rampart-agent"), "replay", pcap, "--eve", "/nonexistent/dir/out.json"});
  EXPECT_EQ(unwritable.exit_code, 1);
  EXPECT_THAT(unwritable.err, HasSubstr("--eve /nonexistent/dir/out.json"));
}

TEST_F(ReplayTest, DaemonCaptureSectionIsChecked) {
  testing::WriteTextFile(dir_.File("agent.yaml"),
                         "agent:\n  data_dir: " + dir_.File("data") +
                             "\n  capture:\n    enabled: true\n    snaplen: 10\n    checksum_checks: maybe\n"
                             "    workers: 100\n    buffer_sise: 1MiB\n");
  auto r = RunProcess({ProgramPath("rampart-agent"), "check-config", "--config", dir_.File("agent.yaml")});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("agent.capture.interface: is required when capture is enabled"));
  EXPECT_THAT(r.err, HasSubstr("agent.capture.snaplen"));
  EXPECT_THAT(r.err, HasSubstr("agent.capture.checksum_checks"));
  EXPECT_THAT(r.err, HasSubstr("agent.capture.workers"));
  EXPECT_THAT(r.err, HasSubstr("agent.capture.buffer_sise"));
}

TEST_F(ReplayTest, DaemonRefusesAnInterfaceThatDoesNotExist) {
  testing::WriteTextFile(dir_.File("agent.yaml"),
                         "agent:\n  data_dir: " + dir_.File("data") +
                             "\n  host:\n    processes: {enabled: false}\n    logins: {enabled: false}\n"
                             "    sockets: {enabled: false}\n    resources: {enabled: false}\n"
                             "  capture:\n    enabled: true\n    interface: rampart-none0\n");
  auto r = RunProcess({ProgramPath("rampart-agent"), "run", "--config", dir_.File("agent.yaml")},
                      std::chrono::seconds(30));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.out + r.err, HasSubstr("agent.capture"));
  EXPECT_THAT(r.out + r.err, HasSubstr("rampart-none0"));
}

}  // namespace
}  // namespace rampart
