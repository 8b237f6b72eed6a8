// The controller's web side for browser tests: a real store (filled the way
// ingest fills it), the real WebService (HTTPS, API, UI, feed) and users
// with known passwords. Commands on stdin, one per line:
//   alert SITE SEVERITY SIGNATURE...   store one new alert now; prints "stored ID"
//   link SITE STATE                    record a link state change; prints "linked"
//   quit
// Prints "ready PORT" once serving. Test code only: never installed.

#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include "common/util/clock.h"
#include "controller/auth/access.h"
#include "controller/dispatch/dispatcher.h"
#include "controller/store/store.h"
#include "controller/web/service.h"
#include "tests/testing/controller_seed.h"

namespace cs = rampart::controller_store;
using rampart::testing::SeedAlert;

namespace {

int Fail(const rampart::Status& s) {
  std::fprintf(stderr, "ui_harness: %s\n", s.ToString().c_str());
  return 1;
}

const char* kSites[] = {"so-y-te", "so-tai-chinh", "ubnd-huyen-a", "ubnd-xa-b", "so-giao-duc", "cong-an-tinh"};
const char* kSignatures[] = {"ET MALWARE Win32/Agent beacon", "ET SCAN Nmap OS detection probe",
                             "ET POLICY Outbound SSH on non-standard port", "ET EXPLOIT Apache Log4j RCE attempt",
                             "ET DNS Query to a known sinkhole domain", "ET WEB_SERVER SQL injection in URI"};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: ui_harness DATA_DIR CERT KEY UI_DIR PORT\n");
    return 2;
  }
  const std::string dir = argv[1];
  {
    rampart::auth::Options ao;
    ao.path = dir + "/auth";
    auto ac = rampart::auth::AccessControl::Open(ao);
    if (!ac) return Fail(ac.error());
    (void)(*ac)->AddUser({.name = "admin", .role = rampart::auth::Role::kAdmin}, "admin password 1");
    (void)(*ac)->AddUser({.name = "ana", .role = rampart::auth::Role::kAnalyst}, "analyst password 1");
  }
  cs::Options so;
  so.path = dir + "/store";
  so.sync = false;
  auto store = cs::Store::Open(so);
  if (!store) return Fail(store.error());
  cs::Store& st = **store;

  const int64_t now = rampart::WallNanos();
  const int64_t hour = 3600LL * 1'000'000'000;
  int k = 0;
  for (const char* site : kSites) {
    if (auto s = rampart::testing::SeedAgent(st, site, std::string("agent-") + site, std::string("srv-") + site); !s.ok()) {
      return Fail(s);
    }
    // Two hours of 10 s link samples: a daily-looking RTT curve; one site
    // loses packets for a while, one is down now.
    for (int i = 0; i < 720; ++i) {
      rampart::registry::LinkSample p;
      p.start_unix_nanos = now - 2 * hour + i * 10'000'000'000LL;
      p.duration_nanos = 10'000'000'000LL;
      p.rtt_ms_avg = 8 + 4 * k + 3 * std::sin(i / 40.0) + (i % 7);
      p.rtt_ms_max = p.rtt_ms_avg * 1.6;
      p.jitter_ms = 1.5;
      p.loss_ratio = (k == 2 && i > 400 && i < 460) ? 0.15 : (i % 97 == 0 ? 0.02 : 0);
      p.availability = (k == 3 && i > 690) ? 0 : 1;
      p.worst = p.availability == 0 ? rampart::registry::LinkState::kDown : p.loss_ratio > 0.1 ? rampart::registry::LinkState::kDegraded : rampart::registry::LinkState::kUp;
      (void)st.registry().AppendLinkSample(site, p);
    }
    rampart::registry::SiteLink link;
    link.state = k == 3 ? rampart::registry::LinkState::kDown : k == 2 ? rampart::registry::LinkState::kDegraded : rampart::registry::LinkState::kUp;
    link.since_unix_nanos = now - (k == 3 ? 5 : 90) * 60'000'000'000LL;
    link.reason = k == 3 ? "no agent answered for 6s" : k == 2 ? "loss 15% >= 10%" : "";
    link.metrics.rtt_ms = 8 + 4 * k;
    link.metrics.loss_ratio = k == 2 ? 0.15 : 0;
    link.availability_24h = k == 3 ? 0.962 : 0.9993;
    (void)st.registry().SetSiteLink(site, link);
    (void)st.registry().SetAgentState(std::string("agent-") + site, k == 3 ? rampart::registry::AgentState::kUnreachable : rampart::registry::AgentState::kUp,
                           now - hour);
    ++k;
  }
  // A day of alerts across sites and severities.
  std::vector<SeedAlert> alerts;
  for (int i = 0; i < 240; ++i) {
    SeedAlert a;
    a.site = kSites[(i * 7) % 6];
    a.agent_id = std::string("agent-") + a.site;
    a.severity = 1 + (i * 5) % 4;
    a.sid = 2030000 + static_cast<uint64_t>(i % 6);
    a.signature = kSignatures[i % 6];
    a.src_ip = "10.20." + std::to_string(i % 5) + "." + std::to_string(10 + i % 3);
    a.dest_ip = "198.51.100." + std::to_string(1 + i % 9);
    a.dest_port = static_cast<uint16_t>(i % 2 ? 443 : 80);
    a.time_nanos = now - (240 - i) * (hour / 10);
    a.flow_id = 5000 + static_cast<uint64_t>(i);
    alerts.push_back(a);
  }
  if (auto r = rampart::testing::SeedAlerts(st, alerts); !r) return Fail(r.error());

  rampart::web::WebOptions wo;
  wo.data_dir = dir;
  wo.server.address = "127.0.0.1";
  wo.server.port = static_cast<uint16_t>(std::stoi(argv[5]));
  wo.server.cert_file = argv[2];
  wo.server.key_file = argv[3];
  wo.api.ui_dir = argv[4];
  const std::string cert_path = argv[2];
  wo.api.crl_file = cert_path.substr(0, cert_path.rfind('/') + 1) + "ca.crl";
  // The live feed hears of new alerts and link changes through dispatch.
  auto dispatcher = rampart::dispatch::Dispatcher::Start({}, st);
  if (!dispatcher) return Fail(dispatcher.error());
  auto svc = rampart::web::WebService::Start(wo, st, nullptr, dispatcher->get());
  if (!svc) return Fail(svc.error());
  std::printf("ready %u\n", (*svc)->port());
  std::fflush(stdout);

  uint64_t flow = 900000;
  for (std::string line; std::getline(std::cin, line);) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "quit") break;
    if (cmd == "alert") {
      SeedAlert a;
      in >> a.site >> a.severity;
      std::getline(in, a.signature);
      if (!a.signature.empty() && a.signature[0] == ' ') a.signature.erase(0, 1);
      a.agent_id = "agent-" + a.site;
      a.sid = 2099999;
      a.flow_id = ++flow;
      auto ids = rampart::testing::SeedAlerts(st, {a});
      if (!ids) return Fail(ids.error());
      std::printf("stored %s\n", (*ids)[0].ToString().c_str());
    } else if (cmd == "link") {
      cs::LinkChange c;
      std::string state;
      in >> c.site >> state;
      c.from_link = rampart::registry::LinkState::kUp;
      c.to_link = state == "down" ? rampart::registry::LinkState::kDown : rampart::registry::LinkState::kUp;
      c.at_unix_nanos = rampart::WallNanos();
      if (auto s = st.RecordLinkChange(c); !s.ok()) return Fail(s);
      std::printf("linked\n");
    }
    std::fflush(stdout);
  }
  (*svc)->Stop();
  return 0;
}
