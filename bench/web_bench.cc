// Web API and alert delivery figures (docs/PERFORMANCE.md):
//  1. p50/p95 latency of the alert-list API over HTTPS (keep-alive client,
//     as the UI calls it) with N alerts stored (default 1,000,000), for the
//     queries the UI makes: first page, severity, site, signature text,
//     address, and a page deep in the keyset pagination.
//  2. Alert to IOC webhook: from the moment an alert is handed to the
//     store's ingest writer until the local HTTPS receiver has verified the
//     webhook (p50/p99), through the store subscription, dispatch, routing,
//     the durable outbox and libcurl.
//
//   web_bench [--alerts N] [--requests R] [--webhooks W] [--interval-ms MS] [--dir DIR]
// With --dir, the store is kept and reused by the next run (no re-seeding).

#include <curl/curl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/tls/files.h"
#include "common/tls/pki.h"
#include "common/util/clock.h"
#include "controller/auth/access.h"
#include "controller/dispatch/dispatcher.h"
#include "controller/dispatch/notifications.h"
#include "controller/notify/notify.h"
#include "controller/store/store.h"
#include "controller/web/service.h"
#include "tests/testing/controller_seed.h"

namespace {

namespace cs = rampart::controller_store;
using Clock = std::chrono::steady_clock;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

struct Http {
  CURL* curl = curl_easy_init();
  std::string base, ca, body;
  ~Http() { curl_easy_cleanup(curl); }
  long Get(const std::string& path, const std::string& post = "") {
    body.clear();
    const std::string url = base + path;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_CAINFO, ca.c_str());
    curl_easy_setopt(curl, CURLOPT_COOKIEFILE, "");
    if (post.empty()) {
      curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, +[](char* p, size_t s, size_t n, void* u) {
      static_cast<std::string*>(u)->append(p, s * n);
      return s * n;
    });
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    if (curl_easy_perform(curl) != CURLE_OK) return 0;
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    return code;
  }
};

int Fail(const std::string& what) {
  std::fprintf(stderr, "web_bench: %s\n", what.c_str());
  return 1;
}

struct Args {
  size_t alerts = 1'000'000, requests = 200, webhooks = 200, interval_ms = 100;
  std::string dir;
};

Args ParseArgs(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--alerts") args.alerts = std::stoul(argv[i + 1]);
    else if (a == "--requests") args.requests = std::stoul(argv[i + 1]);
    else if (a == "--webhooks") args.webhooks = std::stoul(argv[i + 1]);
    else if (a == "--dir") args.dir = argv[i + 1];
    else if (a == "--interval-ms") args.interval_ms = std::stoul(argv[i + 1]);
  }
  return args;
}

// A CA and the server's certificate, the webhook's HMAC key, and the admin user.
rampart::Status MakePkiAndUsers(const std::string& dir) {
  auto ca = rampart::tls::CreateCertificateAuthority("bench CA", std::chrono::hours(24));
  auto key = rampart::tls::GeneratePrivateKeyPem();
  auto csr = rampart::tls::CreateCsrPem(*key, {.common_name = "localhost", .dns_names = {"localhost"}});
  auto cert = rampart::tls::SignCsr(*ca, *csr, {.usage = rampart::tls::Usage::kServer});
  (void)rampart::tls::WriteFileAtomically(dir + "/ca.crt", ca->certificate_pem, 0644);
  (void)rampart::tls::WriteFileAtomically(dir + "/server.crt", *cert, 0644);
  (void)rampart::tls::WriteSecretFile(dir + "/server.key", *key);
  (void)rampart::tls::WriteSecretFile(dir + "/hmac.key", "bench-shared-secret-0123456789");
  rampart::auth::Options ao;
  ao.path = dir + "/data/auth";
  auto ac = rampart::auth::AccessControl::Open(ao);
  if (!ac) return ac.error();
  (void)(*ac)->AddUser({.name = "admin", .role = rampart::auth::Role::kAdmin}, "bench admin password");
  return rampart::Status::Ok();
}

// N alerts over 30 days, 20 sites, 40 agents, 300 signatures (unless the
// store already holds alerts). Prints the seeding rate.
rampart::Status Seed(cs::Store& st, size_t n_alerts, int64_t now) {
  const int64_t span = 30LL * 86400 * 1'000'000'000;
  std::vector<std::string> sites;
  for (int s = 0; s < 20; ++s) {
    sites.push_back("site-" + std::to_string(s));
    for (int a = 0; a < 2; ++a) {
      (void)rampart::testing::SeedAgent(st, sites.back(), "agent-" + std::to_string(s) + "-" + std::to_string(a),
                                        "srv");
    }
  }
  uint64_t existing = 0;
  if (auto page = st.QueryAlerts({.limit = 1}); page && !page->rows.empty()) existing = 1;
  const auto seed_start = Clock::now();
  if (!existing) {
    const size_t kBatch = 20000;
    for (size_t done = 0; done < n_alerts; done += kBatch) {
      std::vector<rampart::testing::SeedAlert> batch;
      for (size_t i = done; i < std::min(n_alerts, done + kBatch); ++i) {
        rampart::testing::SeedAlert a;
        const size_t s = (i * 7) % 20;
        a.site = sites[s];
        a.agent_id = "agent-" + std::to_string(s) + "-" + std::to_string(i % 2);
        a.severity = 1 + static_cast<int>((i * 13) % 4);
        a.sid = 2100000 + (i * 31) % 300;
        a.signature = "ET BENCH signature number " + std::to_string(a.sid - 2100000);
        a.src_ip = "10." + std::to_string(s) + "." + std::to_string((i / 7) % 250) + "." + std::to_string(1 + i % 200);
        a.dest_ip = "198.51.100." + std::to_string(1 + i % 250);
        a.time_nanos = now - span + static_cast<int64_t>(i) * (span / static_cast<int64_t>(n_alerts));
        batch.push_back(a);
      }
      auto r = rampart::testing::SeedAlerts(st, batch);
      if (!r) return r.error();
    }
  }
  const double seed_s = std::chrono::duration<double>(Clock::now() - seed_start).count();
  std::printf("stored %zu alerts in %.1f s (%.0f alerts/s, ingest writer, sync off)\n", existing ? 0 : n_alerts, seed_s,
              existing ? 0.0 : static_cast<double>(n_alerts) / seed_s);
  return rampart::Status::Ok();
}

// The integration tests' HMAC-checking HTTPS sink, as a child process.
pid_t StartWebhookSink(const std::string& dir, int port, const std::string& log) {
  const std::string source = RAMPART_SOURCE_DIR;
  pid_t sink = fork();
  if (sink == 0) {
    execl("/usr/bin/python3", "python3", (source + "/tests/integration/notify/webhook_sink.py").c_str(),
          std::to_string(port).c_str(), (dir + "/server.crt").c_str(), (dir + "/server.key").c_str(),
          (dir + "/hmac.key").c_str(), log.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return sink;
}

rampart::notify::Options WebhookNotifierOptions(const std::string& dir, int port) {
  rampart::notify::Options no;
  no.path = dir + "/data/notify";
  rampart::notify::TargetConfig hook;
  hook.name = "ioc";
  hook.kind = "webhook";
  hook.webhook.url = "https://localhost:" + std::to_string(port) + "/hook";
  hook.webhook.secret_file = dir + "/hmac.key";
  hook.webhook.ca_file = dir + "/ca.crt";
  hook.initial_backoff = std::chrono::milliseconds(100);
  no.targets = {hook};
  no.routes = {{.name = "all", .targets = {"ioc"}}};
  return no;
}

// 1. The alert-list API's latency for the UI's queries.
int MeasureApi(Http& http, size_t n_alerts, size_t n_requests, int64_t now) {
  if (http.Get("/api/v1/login", R"({"user":"admin","password":"bench admin password"})") != 200) {
    return Fail("login failed: " + http.body);
  }
  // A cursor 100 pages deep, for the deep-page query.
  std::string deep_cursor;
  for (int p = 0; p < 100; ++p) {
    http.Get("/api/v1/alerts?limit=50" + (deep_cursor.empty() ? "" : "&cursor=" + deep_cursor));
    deep_cursor = nlohmann::json::parse(http.body)["next_cursor"];
  }
  const std::vector<std::pair<std::string, std::string>> queries = {
      {"first page (50 newest)", "/api/v1/alerts?limit=50"},
      {"severity=1", "/api/v1/alerts?limit=50&severity=1"},
      {"site", "/api/v1/alerts?limit=50&site=site-7"},
      {"signature text", "/api/v1/alerts?limit=50&q=number%20123"},
      {"address", "/api/v1/alerts?limit=50&address=198.51.100.77"},
      {"site+severity+last 24h", "/api/v1/alerts?limit=50&site=site-3&severity=2&from=" +
                                     std::to_string((now - 86400LL * 1'000'000'000) / 1'000'000)},
      {"page 101 (keyset cursor)", "/api/v1/alerts?limit=50&cursor=" + deep_cursor},
  };
  std::vector<double> all;
  std::printf("\nalert-list API over HTTPS, %zu alerts stored, %zu requests per query:\n", n_alerts, n_requests);
  std::printf("  %-28s %9s %9s %9s %6s\n", "query", "p50 ms", "p95 ms", "max ms", "rows");
  for (const auto& [name, path] : queries) {
    std::vector<double> ms;
    size_t rows = 0;
    for (size_t i = 0; i < n_requests; ++i) {
      const auto t0 = Clock::now();
      const long code = http.Get(path);
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      if (code != 200) return Fail(name + ": HTTP " + std::to_string(code) + " " + http.body);
      if (i == 0) rows = nlohmann::json::parse(http.body)["rows"].size();
    }
    all.insert(all.end(), ms.begin(), ms.end());
    std::printf("  %-28s %9.2f %9.2f %9.2f %6zu\n", name.c_str(), Percentile(ms, 0.5), Percentile(ms, 0.95),
                Percentile(ms, 1.0), rows);
  }
  std::printf("  %-28s %9.2f %9.2f %9.2f\n", "all queries", Percentile(all, 0.5), Percentile(all, 0.95),
              Percentile(all, 1.0));
  return 0;
}

// 2. Alert handed to the ingest writer -> webhook verified by the receiver.
// Returns how many of them arrived.
size_t MeasureWebhooks(cs::Store& st, const std::string& hook_log, size_t n_webhooks, size_t interval_ms) {
  std::vector<std::pair<std::string, double>> sent;  // id, wall seconds.
  for (size_t i = 0; i < n_webhooks; ++i) {
    rampart::testing::SeedAlert a;
    a.site = "site-1";
    a.agent_id = "agent-1-0";
    a.signature = "ET BENCH webhook latency";
    const double t = static_cast<double>(rampart::WallNanos()) / 1e9;
    auto ids = rampart::testing::SeedAlerts(st, {a});
    if (!ids) {
      Fail(ids.error().ToString());
      return 0;
    }
    sent.emplace_back((*ids)[0].ToString(), t);
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
  }
  std::map<std::string, double> received;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (received.size() < sent.size() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::ifstream f(hook_log);
    for (std::string line; std::getline(f, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.value("valid", false)) received[j.value("key", "")] = j.value("received", 0.0);
    }
  }
  std::vector<double> lat;
  for (const auto& [id, t] : sent) {
    auto it = received.find(id);
    if (it != received.end()) lat.push_back((it->second - t) * 1000);
  }
  std::printf("\nalert -> IOC webhook verified (store writer, subscription, dispatch, routing, outbox, HTTPS+HMAC),"
              " %zu alerts, one every %zu ms:\n", sent.size(), interval_ms);
  std::printf("  delivered %zu/%zu  p50 %.1f ms  p99 %.1f ms  max %.1f ms\n", lat.size(), sent.size(),
              Percentile(lat, 0.5), Percentile(lat, 0.99), Percentile(lat, 1.0));
  return lat.size() == sent.size() ? sent.size() : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args = ParseArgs(argc, argv);
  const bool own_dir = args.dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/rampart-web-bench-XXXXXX";
    args.dir = mkdtemp(tmpl);
  }
  const std::string& dir = args.dir;
  if (auto s = MakePkiAndUsers(dir); !s.ok()) return Fail(s.ToString());

  cs::Options so;
  so.path = dir + "/data/store";
  so.sync = false;
  auto store = cs::Store::Open(so);
  if (!store) return Fail(store.error().ToString());
  cs::Store& st = **store;
  const int64_t now = rampart::WallNanos();
  if (auto s = Seed(st, args.alerts, now); !s.ok()) return Fail(s.ToString());

  // The webhook receiver and the notifier, wired as the controller does:
  // dispatch hands new alerts to the notifier and to the web's feed.
  const int hook_port = 20000 + getpid() % 20000;
  const std::string hook_log = dir + "/webhook.jsonl";
  std::filesystem::remove(hook_log);
  const pid_t sink = StartWebhookSink(dir, hook_port, hook_log);
  auto notifier = rampart::notify::Notifier::Start(WebhookNotifierOptions(dir, hook_port));
  if (!notifier) return Fail(notifier.error().ToString());
  rampart::dispatch::NotifierConsumer to_notifier(**notifier);
  auto dispatcher = rampart::dispatch::Dispatcher::Start({}, st);
  if (!dispatcher) return Fail(dispatcher.error().ToString());

  rampart::web::WebOptions wo;
  wo.data_dir = dir + "/data";
  wo.server.address = "127.0.0.1";
  wo.server.port = 0;
  wo.server.cert_file = dir + "/server.crt";
  wo.server.key_file = dir + "/server.key";
  auto svc = rampart::web::WebService::Start(wo, st, notifier->get(), dispatcher->get());
  if (!svc) return Fail(svc.error().ToString());
  (*dispatcher)->AddConsumer(&to_notifier);

  Http http;
  http.base = "https://localhost:" + std::to_string((*svc)->port());
  http.ca = dir + "/ca.crt";
  if (int rc = MeasureApi(http, args.alerts, args.requests, now); rc != 0) return rc;
  const size_t delivered = MeasureWebhooks(st, hook_log, args.webhooks, args.interval_ms);

  (*dispatcher)->Stop();
  (*svc)->Stop();
  (*notifier)->Stop();
  kill(sink, SIGTERM);
  waitpid(sink, nullptr, 0);
  svc->reset();
  dispatcher->reset();
  store->reset();
  if (own_dir) std::filesystem::remove_all(dir);
  return delivered == args.webhooks ? 0 : 1;
}
