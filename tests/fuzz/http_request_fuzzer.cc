// Any bytes as an HTTP request to the controller's web port: Beast's parser
// and our decoding (path, query, headers, cookies) never crash, and every
// request that parses goes through the whole REST API as a logged-in admin
// (query parameters, cursors, alert ids, JSON bodies for triage and users),
// against a real store with a few alerts. Errors are answers, never crashes.

#include <stdlib.h>

#include <cstddef>
#include <filesystem>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "controller/auth/access.h"
#include "controller/store/store.h"
#include "controller/web/api.h"
#include "controller/web/http.h"
#include "controller/web/triage.h"
#include "tests/testing/controller_seed.h"

namespace {

struct World {
  std::unique_ptr<rampart::auth::AccessControl> access;
  std::unique_ptr<rampart::controller_store::Store> store;
  std::unique_ptr<rampart::web::TriageStore> triage;
  std::unique_ptr<rampart::web::Api> api;
  std::string cookie;
  std::string csrf;
};

World* Setup() {
  auto* w = new World;
  char tmpl[] = "/tmp/rampart-http-fuzz-XXXXXX";
  static const std::string dir = mkdtemp(tmpl);
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  });
  rampart::auth::Options ao;
  ao.path = dir + "/auth";
  ao.argon2_memory_kib = 8;  // Cheap hashes: the fuzzer is after parsing, not Argon2.
  ao.argon2_time_cost = 1;
  ao.logins_per_minute_per_address = 1000000;
  w->access = std::move(*rampart::auth::AccessControl::Open(ao));
  (void)w->access->AddUser({.name = "admin", .role = rampart::auth::Role::kAdmin}, "fuzz admin password");
  auto session = w->access->Login("admin", "fuzz admin password", "127.0.0.1");
  w->cookie = "__Host-rampart_session=" + session->id;
  w->csrf = session->principal.csrf_token;
  rampart::controller_store::Options so;
  so.path = dir + "/store";
  so.sync = false;
  w->store = std::move(*rampart::controller_store::Store::Open(so));
  (void)rampart::testing::SeedAgent(*w->store, "so-y-te", "agent-1", "web-1");
  std::vector<rampart::testing::SeedAlert> alerts(3);
  alerts[1].flow_id = 7;
  alerts[2].severity = 1;
  (void)rampart::testing::SeedAlerts(*w->store, alerts);
  w->triage = std::move(*rampart::web::TriageStore::Open(dir + "/web"));
  rampart::web::ApiOptions options;
  options.ui_dir = dir + "/ui";
  w->api = std::make_unique<rampart::web::Api>(
      options, rampart::web::ApiDeps{w->access.get(), w->store.get(), w->triage.get(), nullptr});
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = Setup();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto req = rampart::web::ParseHttpRequest(bytes, 64 * 1024);
  if (!req) return 0;
  (void)req->Cookie("a");
  (void)req->QueryAll("severity");
  // As the logged-in admin's browser would send it, unless the input brings its own.
  if (req->Header("cookie").empty()) req->headers.emplace_back("cookie", world->cookie);
  if (req->Header("x-csrf-token").empty()) req->headers.emplace_back("x-csrf-token", world->csrf);
  req->remote = "127.0.0.1";
  rampart::web::HttpResponse r = world->api->Handle(*req);
  if (r.status < 100 || r.status > 599) __builtin_trap();
  (void)world->api->AuthorizeFeed(*req);
  return 0;
}
