// controller/notify against real receivers on loopback: aiosmtpd requiring
// STARTTLS, an HTTPS webhook receiver that checks the HMAC, and rsyslog with
// rsyslog-gnutls (RFC 5425). Each receiver is also stopped and restarted in
// the middle of a burst: every alert must still arrive exactly once.

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "common/tls/files.h"
#include "common/tls/pki.h"
#include "common/util/clock.h"
#include "common/util/ids.h"
#include "controller/notify/notify.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

namespace rampart::notify {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

Notification Alert(int i, int severity = 2) {
  Notification n;
  n.id = "alert-" + std::to_string(i) + "-" + RandomToken(4);
  n.time_nanos = WallNanos();
  n.severity = severity;
  n.site = "so-y-te";
  n.agent = "agent-" + std::to_string(i % 3);
  n.signature = "ET MALWARE Test beacon " + std::to_string(i);
  n.signature_id = 2000000 + static_cast<uint64_t>(i);
  n.category = "A Network Trojan was detected";
  n.src_ip = "10.1.2.3";
  n.src_port = 40000;
  n.dest_ip = "203.0.113.7";
  n.dest_port = 443;
  n.proto = "TCP";
  n.eve_json = R"({"event_type":"alert","alert":{"signature_id":)" + std::to_string(n.signature_id) + "}}";
  return n;
}

class NotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = tls::CreateCertificateAuthority("notify test CA", 24h);
    ASSERT_TRUE(ca.has_value()) << ca.error();
    auto key = tls::GeneratePrivateKeyPem();
    ASSERT_TRUE(key.has_value());
    auto csr = tls::CreateCsrPem(*key, {.common_name = "localhost", .dns_names = {"localhost"},
                                        .ip_addresses = {"127.0.0.1"}});
    ASSERT_TRUE(csr.has_value());
    auto cert = tls::SignCsr(*ca, *csr, {.usage = tls::Usage::kServer});
    ASSERT_TRUE(cert.has_value()) << cert.error();
    ca_file_ = dir_.File("ca.crt");
    cert_file_ = dir_.File("server.crt");
    key_file_ = dir_.File("server.key");
    ASSERT_TRUE(tls::WriteFileAtomically(ca_file_, ca->certificate_pem, 0644).ok());
    ASSERT_TRUE(tls::WriteFileAtomically(cert_file_, *cert, 0644).ok());
    ASSERT_TRUE(tls::WriteSecretFile(key_file_, *key).ok());
    ASSERT_TRUE(tls::WriteSecretFile(dir_.File("hmac.key"), "0123456789abcdef-ioc-shared-key\n").ok());
  }

  std::string Tool(const std::string& name) {
    return testing::SourceDir() + "/tests/integration/notify/" + name;
  }

  // --- receivers ---
  std::unique_ptr<testing::ChildProcess> StartSmtp(uint16_t port) {
    fs::create_directories(dir_.File("mail"));
    auto p = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{testing::SystemPython(), Tool("smtp_sink.py"), std::to_string(port), cert_file_,
                                 key_file_, dir_.File("mail")},
        dir_.File("smtp.log"));
    EXPECT_TRUE(p->WaitForLog("smtp_sink ready on port " + std::to_string(port), 20s)) << p->Log();
    return p;
  }
  std::unique_ptr<testing::ChildProcess> StartWebhook(uint16_t port) {
    auto p = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{testing::SystemPython(), Tool("webhook_sink.py"), std::to_string(port), cert_file_,
                                 key_file_, dir_.File("hmac.key"), dir_.File("webhook.jsonl")},
        dir_.File("webhook.log"));
    EXPECT_TRUE(p->WaitForLog("webhook_sink ready on port " + std::to_string(port), 20s)) << p->Log();
    return p;
  }
  std::unique_ptr<testing::ChildProcess> StartRsyslog(uint16_t port) {
    fs::create_directories(dir_.File("rsyslog"));
    const std::string conf = dir_.File("rsyslog.conf");
    testing::WriteTextFile(
        conf, "global(workDirectory=\"" + dir_.File("rsyslog") + "\"\n" +
                  "  DefaultNetstreamDriver=\"gtls\"\n  DefaultNetstreamDriverCAFile=\"" + ca_file_ + "\"\n" +
                  "  DefaultNetstreamDriverCertFile=\"" + cert_file_ + "\"\n  DefaultNetstreamDriverKeyFile=\"" +
                  key_file_ + "\")\n" +
                  "module(load=\"imtcp\" StreamDriver.Name=\"gtls\" StreamDriver.Mode=\"1\" "
                  "StreamDriver.AuthMode=\"anon\")\n" +
                  "input(type=\"imtcp\" port=\"" + std::to_string(port) + "\" address=\"127.0.0.1\")\n" +
                  "template(name=\"raw\" type=\"string\" string=\"%rawmsg%\\n\")\n" +
                  "action(type=\"omfile\" file=\"" + dir_.File("syslog.txt") + "\" template=\"raw\" flushOnTXEnd=\"on\")\n");
    auto p = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{"/usr/sbin/rsyslogd", "-n", "-f", conf, "-i", dir_.File("rsyslog.pid")},
        dir_.File("rsyslogd.log"));
    // rsyslog prints nothing when ready; wait until the port accepts.
    EXPECT_TRUE(WaitUntil([&] {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
      ::close(fd);
      return ok;
    }, 20s)) << p->Log();
    return p;
  }

  // --- notifier ---
  TargetConfig EmailTarget(uint16_t port, int digest_after, std::chrono::milliseconds window) {
    TargetConfig t;
    t.name = "mail";
    t.kind = "email";
    t.email.url = "smtp://127.0.0.1:" + std::to_string(port);
    t.email.from = "Rampart <rampart@soc.example.vn>";
    t.email.to = {"analyst@soc.example.vn"};
    t.email.ca_file = ca_file_;
    t.email.digest_after = digest_after;
    t.email.digest_window = window;
    t.initial_backoff = 100ms;
    t.max_backoff = 500ms;
    t.timeout = 5s;
    return t;
  }
  TargetConfig WebhookTarget(uint16_t port, const std::string& secret_file) {
    TargetConfig t;
    t.name = "ioc";
    t.kind = "webhook";
    t.webhook.url = "https://localhost:" + std::to_string(port) + "/hook";
    t.webhook.secret_file = secret_file;
    t.webhook.ca_file = ca_file_;
    t.initial_backoff = 100ms;
    t.max_backoff = 500ms;
    t.timeout = 5s;
    return t;
  }
  TargetConfig SyslogTarget(uint16_t port) {
    TargetConfig t;
    t.name = "soc";
    t.kind = "syslog";
    t.syslog.host = "127.0.0.1";
    t.syslog.server_name = "localhost";
    t.syslog.port = port;
    t.syslog.ca_file = ca_file_;
    t.syslog.format = "cef";
    t.initial_backoff = 100ms;
    t.max_backoff = 500ms;
    t.timeout = 5s;
    return t;
  }
  std::unique_ptr<Notifier> Start(std::vector<TargetConfig> targets) {
    Options o;
    o.path = dir_.File("outbox");
    o.controller_name = "dc-test";
    o.ui_url = "https://localhost:8443";
    RouteRule all;
    all.name = "all";
    all.links = true;
    for (const auto& t : targets) all.targets.push_back(t.name);
    o.targets = std::move(targets);
    o.routes = {all};
    auto n = Notifier::Start(o);
    EXPECT_TRUE(n.has_value()) << n.error();
    return n ? std::move(*n) : nullptr;
  }

  std::vector<std::string> Mails() {
    std::vector<std::string> out;
    if (!fs::exists(dir_.File("mail"))) return out;
    std::vector<fs::path> paths;
    for (const auto& e : fs::directory_iterator(dir_.File("mail"))) {
      if (e.path().extension() == ".eml") paths.push_back(e.path());
    }
    std::sort(paths.begin(), paths.end());
    for (const auto& p : paths) out.push_back(testing::ReadTextFile(p.string()));
    return out;
  }

  // Decodes the base64 MIME parts of a message into one text.
  static std::string MailText(const std::string& mail) {
    std::string text;
    size_t pos = 0;
    while ((pos = mail.find("Content-Transfer-Encoding: base64\r\n\r\n", pos)) != std::string::npos) {
      pos += 37;
      const size_t end = mail.find("--", pos);
      std::string b64;
      for (char c : mail.substr(pos, end - pos)) {
        if (c != '\r' && c != '\n') b64 += c;
      }
      auto decoded = Base64Decode(b64);
      if (decoded) text += *decoded;
    }
    return text;
  }

  // What the IOC counts: each valid idempotency key once. A POST whose
  // answer was lost (the receiver stopped after reading it) is delivered
  // again with the same key, and the receiver marks it a duplicate; that
  // is the webhook's exactly-once contract.
  std::multiset<std::string> WebhookKeys() {
    std::multiset<std::string> keys;
    for (const auto& line : Lines(dir_.File("webhook.jsonl"))) {
      auto j = nlohmann::json::parse(line);
      if (j["valid"].get<bool>() && !j["duplicate"].get<bool>()) keys.insert(j["key"].get<std::string>());
    }
    return keys;
  }
  // Redeliveries the receiver recognised by their key.
  size_t WebhookRedeliveries() {
    size_t n = 0;
    for (const auto& line : Lines(dir_.File("webhook.jsonl"))) n += nlohmann::json::parse(line)["duplicate"].get<bool>();
    return n;
  }

  std::multiset<std::string> SyslogKeys() {
    std::multiset<std::string> keys;
    static const std::regex re("externalId=([^ ]+)");
    for (const auto& line : Lines(dir_.File("syslog.txt"))) {
      std::smatch m;
      if (std::regex_search(line, m, re)) keys.insert(m[1]);
    }
    return keys;
  }

  std::multiset<std::string> MailKeys() {
    std::multiset<std::string> keys;
    static const std::regex re("Message-ID: <([^@>]+)@rampart>");
    for (const auto& m : Mails()) {
      std::smatch match;
      if (std::regex_search(m, match, re)) keys.insert(match[1]);
    }
    return keys;
  }

  testing::ScopedTempDir dir_{"notify"};
  std::string ca_file_, cert_file_, key_file_;
};

TEST_F(NotifyTest, EmailOverStartTlsThenOneDigestForABurst) {
  const uint16_t port = FreePort();
  auto smtp = StartSmtp(port);
  auto notifier = Start({EmailTarget(port, /*digest_after=*/1, /*window=*/2500ms)});
  ASSERT_TRUE(notifier);
  const Notification first = Alert(1, 1);
  ASSERT_EQ(notifier->Submit(first).value(), 1);
  ASSERT_TRUE(WaitUntil([&] { return Mails().size() == 1; }, 15s)) << smtp->Log();
  const std::string mail = Mails()[0];
  EXPECT_THAT(mail, HasSubstr("X-Tls: yes"));  // Sent only after STARTTLS.
  EXPECT_THAT(mail, HasSubstr("Message-ID: <" + first.id + "@rampart>"));
  EXPECT_THAT(mail, HasSubstr("multipart/alternative"));
  EXPECT_THAT(mail, HasSubstr("Content-Type: text/plain; charset=UTF-8"));
  EXPECT_THAT(mail, HasSubstr("Content-Type: text/html; charset=UTF-8"));
  const std::string text = MailText(mail);
  EXPECT_THAT(text, HasSubstr("Cảnh báo an ninh"));
  EXPECT_THAT(text, HasSubstr("Security alert"));
  EXPECT_THAT(text, HasSubstr("Nghiêm trọng / Critical"));
  EXPECT_THAT(text, HasSubstr("ET MALWARE Test beacon 1"));
  EXPECT_THAT(text, HasSubstr("(GMT+7)"));
  EXPECT_THAT(text, HasSubstr("<table lang=\"vi\">"));

  // A burst inside the window: no flood, one digest listing all twelve.
  for (int i = 100; i < 112; ++i) ASSERT_EQ(notifier->Submit(Alert(i)).value(), 1);
  ASSERT_TRUE(WaitUntil([&] { return Mails().size() == 2; }, 15s));
  std::this_thread::sleep_for(1500ms);
  ASSERT_EQ(Mails().size(), 2u);
  const std::string digest = MailText(Mails()[1]);
  EXPECT_THAT(digest, HasSubstr("Tóm tắt 12 cảnh báo"));
  EXPECT_THAT(digest, HasSubstr("Digest of 12 alerts"));
  for (int i = 100; i < 112; ++i) EXPECT_THAT(digest, HasSubstr("ET MALWARE Test beacon " + std::to_string(i)));
  auto stats = notifier->Stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].pending, 0u);
  EXPECT_EQ(stats[0].held_for_digest, 0u);
  EXPECT_EQ(stats[0].delivered, 2u);
}

TEST_F(NotifyTest, WebhookCarriesAVerifiableHmacTimestampAndIdempotencyKey) {
  const uint16_t port = FreePort();
  auto sink = StartWebhook(port);
  auto notifier = Start({WebhookTarget(port, dir_.File("hmac.key"))});
  ASSERT_TRUE(notifier);
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    Notification n = Alert(i);
    ids.insert(n.id);
    ASSERT_EQ(notifier->Submit(n).value(), 1);
  }
  Notification link;
  link.kind = Notification::Kind::kLink;
  link.id = "link-change-1";
  link.time_nanos = WallNanos();
  link.site = "ubnd-huyen-a";
  link.link = "wan-huyen-a";
  link.link_state = "down";
  link.signature = "WAN link wan-huyen-a down";
  ids.insert(link.id);
  ASSERT_EQ(notifier->Submit(link).value(), 1);
  ASSERT_TRUE(WaitUntil([&] { return WebhookKeys().size() == 6; }, 15s)) << sink->Log();
  auto keys = WebhookKeys();
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()), ids);
  // The same alert submitted again (a replay) is not sent again.
  ASSERT_EQ(notifier->Submit(link).value(), 0);
  for (const auto& line : Lines(dir_.File("webhook.jsonl"))) {
    EXPECT_THAT(line, HasSubstr("\"valid\": true"));
    EXPECT_THAT(line, HasSubstr("\"duplicate\": false"));
  }
}

TEST_F(NotifyTest, WebhookWithTheWrongSecretIsRefusedAndShowsInTheFailures) {
  const uint16_t port = FreePort();
  auto sink = StartWebhook(port);
  ASSERT_TRUE(tls::WriteSecretFile(dir_.File("wrong.key"), "not-the-shared-secret-at-all").ok());
  auto notifier = Start({WebhookTarget(port, dir_.File("wrong.key"))});
  ASSERT_TRUE(notifier);
  ASSERT_EQ(notifier->Submit(Alert(7)).value(), 1);
  ASSERT_TRUE(WaitUntil([&] { return notifier->Failures(10).size() >= 2; }, 15s));
  EXPECT_TRUE(WebhookKeys().empty());
  auto failures = notifier->Failures(10);
  EXPECT_THAT(failures[0].error, HasSubstr("answered 401"));
  auto stats = notifier->Stats();
  EXPECT_EQ(stats[0].pending, 1u);  // Kept, retried with backoff.
  EXPECT_THAT(stats[0].last_error, HasSubstr("401"));
}

TEST_F(NotifyTest, SyslogOverTlsCarriesCef) {
  const uint16_t port = FreePort();
  auto rsyslog = StartRsyslog(port);
  auto notifier = Start({SyslogTarget(port)});
  ASSERT_TRUE(notifier);
  Notification n = Alert(42, 1);
  n.signature = "ET POLICY pipe | and = sign";
  ASSERT_EQ(notifier->Submit(n).value(), 1);
  ASSERT_TRUE(WaitUntil([&] { return Lines(dir_.File("syslog.txt")).size() == 1; }, 15s)) << rsyslog->Log();
  const std::string line = Lines(dir_.File("syslog.txt"))[0];
  EXPECT_THAT(line, ::testing::StartsWith("<82>1 "));  // authpriv.crit, RFC 5424.
  EXPECT_THAT(line, HasSubstr(" dc-test rampart - alert [rampart@32473 id=\"" + n.id + "\" site=\"so-y-te\"] "));
  EXPECT_THAT(line, HasSubstr("CEF:0|Rampart|rampart-controller|"));
  EXPECT_THAT(line, HasSubstr("|2000042|ET POLICY pipe \\| and = sign|10|"));
  EXPECT_THAT(line, HasSubstr("externalId=" + n.id));
  EXPECT_THAT(line, HasSubstr("src=10.1.2.3 spt=40000 dst=203.0.113.7 dpt=443 proto=TCP"));
  EXPECT_THAT(line, HasSubstr("cs1Label=site cs1=so-y-te"));
}

// Each receiver is stopped after part of a burst and restarted a little
// later; the notifier keeps the rest in its outbox and retries. In the end
// every alert arrived, and none twice.
class RestartTest : public NotifyTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(RestartTest, ReceiverRestartedDuringABurstGetsEveryAlertExactlyOnce) {
  const std::string kind = GetParam();
  const uint16_t port = FreePort();
  std::function<std::unique_ptr<testing::ChildProcess>()> start;
  std::function<std::multiset<std::string>()> keys;
  TargetConfig target;
  if (kind == "email") {
    start = [&] { return StartSmtp(port); };
    keys = [&] { return MailKeys(); };
    target = EmailTarget(port, 100000, 1000ms);
  } else if (kind == "webhook") {
    start = [&] { return StartWebhook(port); };
    keys = [&] { return WebhookKeys(); };
    target = WebhookTarget(port, dir_.File("hmac.key"));
  } else {
    start = [&] { return StartRsyslog(port); };
    keys = [&] { return SyslogKeys(); };
    target = SyslogTarget(port);
  }
  auto receiver = start();
  auto notifier = Start({target});
  ASSERT_TRUE(notifier);
  constexpr int kAlerts = 60;
  std::set<std::string> sent;
  for (int i = 0; i < kAlerts; ++i) {
    Notification n = Alert(i);
    sent.insert(n.id);
    ASSERT_EQ(notifier->Submit(n).value(), 1);
    if (i == 20) {
      ASSERT_TRUE(WaitUntil([&] { return keys().size() >= 5; }, 15s));
      receiver->Signal(SIGTERM);
      receiver->Wait(10s);
    }
    if (i == 40) receiver = start();
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(WaitUntil([&] { return keys().size() >= kAlerts; }, 30s)) << keys().size();
  std::this_thread::sleep_for(1s);
  const auto got = keys();
  EXPECT_EQ(got.size(), static_cast<size_t>(kAlerts)) << "duplicates or extras";
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), sent);
  EXPECT_GE(notifier->Stats()[0].failures, 1u);  // The outage was seen and retried.
  // Only a request cut off by the stop can come again, never the burst.
  if (kind == "webhook") {
    EXPECT_LE(WebhookRedeliveries(), 2u);
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, RestartTest, ::testing::Values("email", "webhook", "syslog"));

TEST(NotifyConfig, EveryProblemIsReportedWithItsKey) {
  // Validation of routes naming unknown targets and duplicate names.
  Options o;
  o.targets.push_back({.name = "a", .kind = "webhook"});
  o.targets.push_back({.name = "a", .kind = "email"});
  EXPECT_THAT(Validate(o).message(), HasSubstr("two targets are named 'a'"));
  o.targets.pop_back();
  o.routes.push_back({.name = "r", .targets = {"nope"}});
  EXPECT_THAT(Validate(o).message(), HasSubstr("route r: no target named 'nope'"));
}

}  // namespace
}  // namespace rampart::notify
