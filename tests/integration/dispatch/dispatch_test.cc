// controller/dispatch in the running controller: with `web.enabled: false`
// the SOC still hears of alerts. Real programs on loopback: rampartctl
// makes the PKI and a token, rampart-controller runs with no web UI and an
// email target, rampart-agent enrols and follows an EVE file, and aiosmtpd
// (requiring STARTTLS) receives the email.

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "common/tls/files.h"
#include "common/tls/pki.h"
#include "common/util/ids.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

namespace rampart {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

uint16_t FreePort(int type) {
  int fd = ::socket(AF_INET, type, 0);
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
    std::this_thread::sleep_for(100ms);
  }
  return done();
}

// Every message the SMTP sink accepted, in order.
std::vector<std::string> Mails(const std::string& dir) {
  std::vector<fs::path> paths;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".eml") paths.push_back(e.path());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    out.push_back(ss.str());
  }
  return out;
}

// The decoded text and HTML parts of a message (each base64).
std::string Body(const std::string& mail) {
  static constexpr std::string_view kPart = "Content-Transfer-Encoding: base64\r\n\r\n";
  std::string body;
  for (size_t at = mail.find(kPart); at != std::string::npos; at = mail.find(kPart, at)) {
    at += kPart.size();
    std::string b64 = mail.substr(at, mail.find("--", at) - at);
    std::erase_if(b64, [](char c) { return c == '\r' || c == '\n'; });
    if (auto part = Base64Decode(b64)) body += *part;
  }
  return body;
}

class DispatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The SMTP server's own certificate (localhost), from a CA the
    // controller's email target trusts.
    auto ca = tls::CreateCertificateAuthority("smtp test CA", 24h);
    ASSERT_TRUE(ca.has_value()) << ca.error();
    auto key = tls::GeneratePrivateKeyPem();
    ASSERT_TRUE(key.has_value());
    auto csr = tls::CreateCsrPem(*key, {.common_name = "localhost", .dns_names = {"localhost"},
                                        .ip_addresses = {"127.0.0.1"}});
    ASSERT_TRUE(csr.has_value());
    auto cert = tls::SignCsr(*ca, *csr, {.usage = tls::Usage::kServer});
    ASSERT_TRUE(cert.has_value()) << cert.error();
    ASSERT_TRUE(tls::WriteFileAtomically(dir_.File("smtp-ca.crt"), ca->certificate_pem, 0644).ok());
    ASSERT_TRUE(tls::WriteFileAtomically(dir_.File("smtp.crt"), *cert, 0644).ok());
    ASSERT_TRUE(tls::WriteSecretFile(dir_.File("smtp.key"), *key).ok());
    fs::create_directories(dir_.File("mail"));
  }

  testing::ProcessResult Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), testing::ProgramPath("rampartctl"));
    return testing::RunProcess(args, 60s);
  }

  testing::ScopedTempDir dir_{"dispatch"};
};

TEST_F(DispatchTest, AnAlertIsEmailedWithTheWebUiDisabled) {
  const uint16_t smtp_port = FreePort(SOCK_STREAM);
  testing::ChildProcess smtp({testing::SystemPython(), testing::SourceDir() + "/tests/integration/notify/smtp_sink.py",
                              std::to_string(smtp_port), dir_.File("smtp.crt"), dir_.File("smtp.key"),
                              dir_.File("mail")},
                             dir_.File("smtp.log"));
  ASSERT_TRUE(smtp.WaitForLog("smtp_sink ready on port " + std::to_string(smtp_port), 20s)) << smtp.Log();

  const std::string data = dir_.File("controller");
  const std::string pki = dir_.File("pki");
  auto init = Ctl({"pki", "init", "--dir", pki, "--host", "127.0.0.1"});
  ASSERT_EQ(init.exit_code, 0) << init.out << init.err;
  const uint16_t agent_port = FreePort(SOCK_STREAM);
  const std::string config = dir_.File("controller.yaml");
  testing::WriteTextFile(config, "controller:\n"
                                 "  name: dispatch-test\n"
                                 "  data_dir: " + data + "\n"
                                 "  web:\n"
                                 "    enabled: false\n"
                                 "  agents:\n"
                                 "    listen: 127.0.0.1:" + std::to_string(agent_port) + "\n"
                                 "    pki_dir: " + pki + "\n"
                                 "    heartbeat_interval: 1s\n"
                                 "  links:\n"
                                 "    reflector: 127.0.0.1:0\n"
                                 "  notify:\n"
                                 "    targets:\n"
                                 "      - name: soc-mail\n"
                                 "        kind: email\n"
                                 "        url: smtp://127.0.0.1:" + std::to_string(smtp_port) + "\n"
                                 "        from: Rampart <rampart@soc.example.vn>\n"
                                 "        to: [analyst@soc.example.vn]\n"
                                 "        ca_file: " + dir_.File("smtp-ca.crt") + "\n"
                                 "        initial_backoff: 100ms\n"
                                 "    routes:\n"
                                 "      - name: every-alert\n"
                                 "        alerts: true\n"
                                 "        targets: [soc-mail]\n");
  testing::ChildProcess controller({testing::ProgramPath("rampart-controller"), "run", "--config", config},
                                   dir_.File("controller.log"));
  ASSERT_TRUE(controller.WaitForLog("agent port ready", 30s)) << controller.Log();
  EXPECT_THAT(controller.Log(), Not(HasSubstr("created user 'admin'"))) << "the web UI must not have started";

  auto token = Ctl({"token", "create", "--data-dir", data, "--site", "so-y-te"});
  ASSERT_EQ(token.exit_code, 0) << token.out << token.err;
  auto fingerprint = Ctl({"pki", "fingerprint", pki + "/ca.crt"});
  ASSERT_EQ(fingerprint.exit_code, 0) << fingerprint.err;
  auto trim = [](std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  };
  const std::string agent_dir = dir_.File("agent");
  ASSERT_TRUE(tls::WriteSecretFile(dir_.File("token"), trim(token.out)).ok());
  auto enroll = testing::RunProcess({testing::ProgramPath("rampart-agent"), "enroll", "--controller",
                                     "127.0.0.1:" + std::to_string(agent_port), "--token-file", dir_.File("token"),
                                     "--ca-sha256", trim(fingerprint.out), "--data-dir", agent_dir, "--name",
                                     "sensor-yte"},
                                    60s);
  ASSERT_EQ(enroll.exit_code, 0) << enroll.out << enroll.err << controller.Log();

  const std::string eve = dir_.File("eve.json");
  testing::WriteTextFile(eve, "");
  const std::string agent_config = dir_.File("agent.yaml");
  testing::WriteTextFile(agent_config, "agent:\n"
                                       "  name: sensor-yte\n"
                                       "  data_dir: " + agent_dir + "\n"
                                       "  controller:\n"
                                       "    reconnect_initial: 200ms\n"
                                       "    reconnect_max: 1s\n"
                                       "  inputs:\n"
                                       "    eve_files: [" + eve + "]\n"
                                       "  host:\n"
                                       "    processes: {enabled: false}\n"
                                       "    logins: {enabled: false}\n"
                                       "    sockets: {enabled: false}\n"
                                       "    resources: {enabled: false}\n");
  testing::ChildProcess agent({testing::ProgramPath("rampart-agent"), "run", "--config", agent_config},
                              dir_.File("agent.log"));
  ASSERT_TRUE(WaitUntil([&] {
    auto list = Ctl({"agent", "list", "--data-dir", data, "--json"});
    const auto j = nlohmann::json::parse(list.out, nullptr, false);
    return j.is_array() && j.size() == 1 && j[0].value("connected", false);
  }, 60s)) << agent.Log() << controller.Log();

  {
    std::ofstream f(eve, std::ios::app);
    f << R"({"timestamp":"2026-12-07T10:00:01.000001+0000","flow_id":77,"event_type":"alert",)"
         R"("src_ip":"192.0.2.7","src_port":4444,"dest_ip":"10.0.0.5","dest_port":80,"proto":"TCP",)"
         R"("alert":{"action":"allowed","gid":1,"signature_id":9100077,"rev":1,)"
         R"("signature":"RAMPART DISPATCH test alert","category":"Test","severity":1}})"
      << "\n";
  }
  ASSERT_TRUE(WaitUntil([&] { return !Mails(dir_.File("mail")).empty(); }, 60s))
      << smtp.Log() << controller.Log() << agent.Log();
  const std::string mail = Mails(dir_.File("mail")).front();
  EXPECT_THAT(mail, HasSubstr("X-Tls: yes"));  // Sent after STARTTLS.
  std::ifstream enrolment(agent_dir + "/enrolment.json");
  const auto id = nlohmann::json::parse(enrolment, nullptr, false);
  ASSERT_TRUE(id.is_object());
  // The alert's id (agent:sequence) is the message's idempotency key.
  EXPECT_THAT(mail, HasSubstr("Message-ID: <" + id.value("agent_id", "?") + ":"));
  const std::string body = Body(mail);
  EXPECT_THAT(body, HasSubstr("RAMPART DISPATCH test alert"));
  EXPECT_THAT(body, HasSubstr("so-y-te"));
  EXPECT_THAT(body, HasSubstr("sensor-yte"));
}

}  // namespace
}  // namespace rampart
