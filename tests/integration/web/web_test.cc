// The web API as a browser or a script uses it: a real store, the real
// WebService (HTTPS server, API, users, triage, feed) on loopback, and a
// libcurl client. One test per access rule the issue names: a viewer cannot
// change anything, an analyst scoped to one site sees no other site's
// alerts, a change without the CSRF token is refused, ten wrong passwords
// lock the account. Plus the live feed over WebSocket and the TLS policy.

#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/tls/files.h"
#include "common/tls/pki.h"
#include "controller/auth/access.h"
#include "controller/dispatch/dispatcher.h"
#include "controller/store/store.h"
#include "controller/web/service.h"
#include "tests/testing/controller_seed.h"
#include "tests/testing/temp_dir.h"

namespace rampart::web {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
namespace cs = controller_store;

struct Reply {
  long status = 0;
  std::string body;
  std::string headers;
  json Json() const { return json::parse(body, nullptr, false); }
};

// A browser-like client: cookie jar, CSRF header once logged in.
class Client {
 public:
  Client(uint16_t port, std::string ca) : port_(port), ca_(std::move(ca)), curl_(curl_easy_init()) {
    curl_easy_setopt(curl_, CURLOPT_COOKIEFILE, "");  // In-memory cookie engine.
  }
  ~Client() { curl_easy_cleanup(curl_); }

  Reply Request(const std::string& method, const std::string& path, const std::string& body = "",
                std::vector<std::string> extra = {}) {
    Reply r;
    const std::string url = "https://localhost:" + std::to_string(port_) + path;
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_CAINFO, ca_.c_str());
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, method == "GET" ? nullptr : body.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPGET, method == "GET" ? 1L : 0L);
    if (method != "GET") curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    if (!csrf_.empty() && send_csrf_) headers = curl_slist_append(headers, ("X-CSRF-Token: " + csrf_).c_str());
    for (const auto& h : extra) headers = curl_slist_append(headers, h.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, +[](char* p, size_t s, size_t n, void* u) {
      static_cast<std::string*>(u)->append(p, s * n);
      return s * n;
    });
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, +[](char* p, size_t s, size_t n, void* u) {
      static_cast<std::string*>(u)->append(p, s * n);
      return s * n;
    });
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &r.headers);
    const CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(headers);
    EXPECT_EQ(rc, CURLE_OK) << curl_easy_strerror(rc);
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &r.status);
    return r;
  }

  Reply Login(const std::string& user, const std::string& password) {
    Reply r = Request("POST", "/api/v1/login", json{{"user", user}, {"password", password}}.dump());
    if (r.status == 200) csrf_ = r.Json()["csrf_token"];
    return r;
  }
  std::string Cookie() {
    curl_slist* cookies = nullptr;
    curl_easy_getinfo(curl_, CURLINFO_COOKIELIST, &cookies);
    std::string out;
    for (curl_slist* c = cookies; c; c = c->next) {
      std::string line = c->data;
      auto tab = line.rfind('\t');
      auto tab2 = line.rfind('\t', tab - 1);
      out = line.substr(tab2 + 1, tab - tab2 - 1) + "=" + line.substr(tab + 1);
    }
    curl_slist_free_all(cookies);
    return out;
  }
  void set_send_csrf(bool v) { send_csrf_ = v; }

 private:
  uint16_t port_;
  std::string ca_;
  CURL* curl_;
  std::string csrf_;
  bool send_csrf_ = true;
};

class WebTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = tls::CreateCertificateAuthority("web test CA", std::chrono::hours(24));
    ASSERT_TRUE(ca.has_value());
    auto key = tls::GeneratePrivateKeyPem();
    auto csr = tls::CreateCsrPem(*key, {.common_name = "localhost", .dns_names = {"localhost"}});
    auto cert = tls::SignCsr(*ca, *csr, {.usage = tls::Usage::kServer});
    ASSERT_TRUE(cert.has_value());
    ca_ = dir_.File("ca.crt");
    ASSERT_TRUE(tls::WriteFileAtomically(ca_, ca->certificate_pem, 0644).ok());
    ASSERT_TRUE(tls::WriteFileAtomically(dir_.File("server.crt"), *cert, 0644).ok());
    ASSERT_TRUE(tls::WriteSecretFile(dir_.File("server.key"), *key).ok());

    // Users first (the service opens the same database afterwards).
    {
      auth::Options ao;
      ao.path = dir_.File("data/auth");
      auto ac = auth::AccessControl::Open(ao);
      ASSERT_TRUE(ac.has_value()) << ac.error();
      ASSERT_TRUE((*ac)->AddUser({.name = "admin", .role = auth::Role::kAdmin}, "admin password 1").ok());
      ASSERT_TRUE((*ac)->AddUser({.name = "ana", .role = auth::Role::kAnalyst, .sites = {"so-y-te"}},
                                 "analyst password 1").ok());
      ASSERT_TRUE((*ac)->AddUser({.name = "vy", .role = auth::Role::kViewer}, "viewer password 1").ok());
    }
    cs::Options so;
    so.path = dir_.File("data/store");
    so.sync = false;
    auto store = cs::Store::Open(so);
    ASSERT_TRUE(store.has_value()) << store.error();
    store_ = std::move(*store);
    ASSERT_TRUE(testing::SeedAgent(*store_, "so-y-te", "agent-yte", "web-yte").ok());
    ASSERT_TRUE(testing::SeedAgent(*store_, "so-tai-chinh", "agent-tc", "web-tc").ok());
    std::vector<testing::SeedAlert> alerts;
    for (int i = 0; i < 6; ++i) {
      testing::SeedAlert a;
      const bool yte = i % 2 == 0;
      a.site = yte ? "so-y-te" : "so-tai-chinh";
      a.agent_id = yte ? "agent-yte" : "agent-tc";
      a.signature = std::string(yte ? "ET MALWARE Y-te beacon " : "ET SCAN Tai-chinh probe ") + std::to_string(i);
      a.sid = 2000000 + static_cast<uint64_t>(i);
      a.severity = 1 + i % 4;
      a.flow_id = 1000 + static_cast<uint64_t>(i);
      alerts.push_back(a);
    }
    auto ids = testing::SeedAlerts(*store_, alerts);
    ASSERT_TRUE(ids.has_value()) << ids.error();
    ids_ = *ids;

    WebOptions wo;
    wo.data_dir = dir_.File("data");
    wo.server.address = "127.0.0.1";
    wo.server.port = 0;
    wo.server.cert_file = dir_.File("server.crt");
    wo.server.key_file = dir_.File("server.key");
    wo.api.ui_dir = dir_.File("ui");
    testing::WriteTextFile(dir_.File("ui/index.html"), "<!DOCTYPE html><title>Rampart</title>");
    // The live feed is a consumer of dispatch, as in the controller.
    auto dispatcher = dispatch::Dispatcher::Start({}, *store_);
    ASSERT_TRUE(dispatcher.has_value()) << dispatcher.error();
    dispatcher_ = std::move(*dispatcher);
    auto svc = WebService::Start(wo, *store_, nullptr, dispatcher_.get());
    ASSERT_TRUE(svc.has_value()) << svc.error();
    service_ = std::move(*svc);
  }
  void TearDown() override {
    if (service_) service_->Stop();
  }

  Client NewClient() { return Client(service_->port(), ca_); }

  testing::ScopedTempDir dir_{"web"};
  std::string ca_;
  std::unique_ptr<cs::Store> store_;
  std::unique_ptr<dispatch::Dispatcher> dispatcher_;
  std::unique_ptr<WebService> service_;
  std::vector<cs::EventId> ids_;
};

TEST_F(WebTest, LoginSetsAHardenedCookieAndEveryResponseIsHardened) {
  Client c = NewClient();
  Reply r = c.Login("admin", "admin password 1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.headers, HasSubstr("Set-Cookie: __Host-rampart_session="));
  EXPECT_THAT(r.headers, HasSubstr("; Path=/; Secure; HttpOnly; SameSite=Strict"));
  EXPECT_THAT(r.headers, HasSubstr("Strict-Transport-Security: max-age=31536000; includeSubDomains"));
  EXPECT_THAT(r.headers, HasSubstr("Content-Security-Policy: default-src 'self'"));
  EXPECT_THAT(r.headers, HasSubstr("X-Frame-Options: DENY"));
  EXPECT_EQ(r.Json()["role"], "admin");
  Reply page = c.Request("GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.headers, HasSubstr("Content-Type: text/html"));
  EXPECT_EQ(NewClient().Request("GET", "/api/v1/alerts").status, 401);  // No session.
  EXPECT_EQ(c.Request("GET", "/assets/..%2f..%2fetc%2fpasswd").status, 400);
}

TEST_F(WebTest, AlertListFiltersPagesAndShowsDetailWithFlowContext) {
  Client c = NewClient();
  ASSERT_EQ(c.Login("admin", "admin password 1").status, 200);
  Reply all = c.Request("GET", "/api/v1/alerts?limit=4");
  ASSERT_EQ(all.status, 200) << all.body;
  json j = all.Json();
  ASSERT_EQ(j["rows"].size(), 4u);
  ASSERT_FALSE(j["next_cursor"].get<std::string>().empty());
  Reply next = c.Request("GET", "/api/v1/alerts?limit=4&cursor=" + j["next_cursor"].get<std::string>());
  EXPECT_EQ(next.Json()["rows"].size(), 2u);
  EXPECT_EQ(c.Request("GET", "/api/v1/alerts?q=tai-chinh%20PROBE").Json()["rows"].size(), 3u);
  EXPECT_EQ(c.Request("GET", "/api/v1/alerts?severity=1").Json()["rows"].size(), 2u);
  EXPECT_EQ(c.Request("GET", "/api/v1/alerts?site=so-y-te&sid=2000002").Json()["rows"].size(), 1u);
  EXPECT_EQ(c.Request("GET", "/api/v1/alerts?address=10.10.1.5").Json()["rows"].size(), 6u);
  EXPECT_EQ(c.Request("GET", "/api/v1/alerts?address=not-an-ip").status, 400);
  EXPECT_EQ(c.Request("GET", "/api/v1/alerts?limit=0").status, 400);
  // Found by http_request_fuzzer: milliseconds that overflow nanoseconds.
  EXPECT_EQ(c.Request("GET", "/api/v1/alerts?to=99999999999999").status, 400);
  EXPECT_EQ(c.Request("GET", "/api/v1/sites/so-y-te/history?from=0&to=99999999999999").status, 400);
  EXPECT_EQ(c.Request("GET", "/api/v1/sites/so-y-te/history?from=-5").status, 400);
  EXPECT_EQ(c.Request("GET", "/api/v1/sites/so-y-te/history?from=0").status, 200);

  Reply d = c.Request("GET", "/api/v1/alerts/" + ids_[0].ToString());
  ASSERT_EQ(d.status, 200) << d.body;
  json detail = d.Json();
  EXPECT_EQ(detail["eve"]["event_type"], "alert");
  EXPECT_EQ(detail["eve"]["alert"]["signature_id"], 2000000);
  EXPECT_EQ(detail["triage"]["status"], "new");
  ASSERT_EQ(detail["context"]["flow"].size(), 1u);
  ASSERT_EQ(detail["context"]["tls"].size(), 1u);
  EXPECT_EQ(detail["context"]["tls"][0]["tls"]["sni"], "beacon.example.net");
}

TEST_F(WebTest, BulkTriageIsRecordedAndAudited) {
  Client c = NewClient();
  ASSERT_EQ(c.Login("admin", "admin password 1").status, 200);
  const json ids = {ids_[0].ToString(), ids_[2].ToString()};
  EXPECT_EQ(c.Request("POST", "/api/v1/alerts/triage", json{{"ids", ids}, {"action", "close"}}.dump()).status, 400);
  Reply r = c.Request("POST", "/api/v1/alerts/triage",
                      json{{"ids", ids}, {"action", "close"}, {"reason", "false_positive"}, {"comment", "lab"}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(c.Request("GET", "/api/v1/alerts?status=closed").Json()["rows"].size(), 2u);
  json t = c.Request("GET", "/api/v1/alerts/" + ids_[2].ToString()).Json()["triage"];
  EXPECT_EQ(t["status"], "closed");
  EXPECT_EQ(t["reason"], "false_positive");
  EXPECT_EQ(t["comments"][0]["text"], "lab");
  json audit = c.Request("GET", "/api/v1/audit").Json();
  EXPECT_EQ(audit["rows"][0]["action"], "alert.close");
  EXPECT_EQ(audit["rows"][0]["actor"], "admin");
  EXPECT_THAT(audit["rows"][0]["target"].get<std::string>(), HasSubstr(ids_[0].ToString()));
}

TEST_F(WebTest, ViewerCannotChangeAnything) {
  Client c = NewClient();
  ASSERT_EQ(c.Login("vy", "viewer password 1").status, 200);
  EXPECT_EQ(c.Request("GET", "/api/v1/alerts").Json()["rows"].size(), 6u);  // Reads everything...
  const std::string id = ids_[0].ToString();
  for (const char* action : {"ack", "assign", "close", "reopen", "comment"}) {
    Reply r = c.Request("POST", "/api/v1/alerts/triage",
                        json{{"ids", {id}}, {"action", action}, {"reason", "resolved"}, {"comment", "x"}}.dump());
    EXPECT_EQ(r.status, 403) << action << " " << r.body;
  }
  EXPECT_EQ(c.Request("POST", "/api/v1/users", json{{"name", "eve"}, {"password", "long enough pw 1"}}.dump()).status, 403);
  EXPECT_EQ(c.Request("POST", "/api/v1/users/vy", json{{"role", "admin"}}.dump()).status, 403);
  EXPECT_EQ(c.Request("GET", "/api/v1/users").status, 403);
  EXPECT_EQ(c.Request("GET", "/api/v1/audit").status, 403);
  Client admin = NewClient();
  ASSERT_EQ(admin.Login("admin", "admin password 1").status, 200);
  EXPECT_EQ(admin.Request("GET", "/api/v1/alerts/" + id).Json()["triage"]["status"], "new");  // ...changed nothing.
}

TEST_F(WebTest, AnalystScopedToOneSiteSeesNoOtherSitesAlerts) {
  Client c = NewClient();
  ASSERT_EQ(c.Login("ana", "analyst password 1").status, 200);
  json rows = c.Request("GET", "/api/v1/alerts").Json()["rows"];
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& r : rows) EXPECT_EQ(r["site"], "so-y-te");
  EXPECT_EQ(c.Request("GET", "/api/v1/alerts?site=so-tai-chinh").Json()["rows"].size(), 0u);
  EXPECT_EQ(c.Request("GET", "/api/v1/alerts?q=Tai-chinh").Json()["rows"].size(), 0u);
  // The other site's alert by id: as if it did not exist, and not triageable.
  EXPECT_EQ(c.Request("GET", "/api/v1/alerts/" + ids_[1].ToString()).status, 404);
  EXPECT_EQ(c.Request("POST", "/api/v1/alerts/triage", json{{"ids", {ids_[1].ToString()}}, {"action", "ack"}}.dump()).status,
            404);
  EXPECT_EQ(c.Request("POST", "/api/v1/alerts/triage", json{{"ids", {ids_[0].ToString()}}, {"action", "ack"}}.dump()).status,
            200);
  json dash = c.Request("GET", "/api/v1/dashboard").Json();
  EXPECT_EQ(dash["total"], 3);
  ASSERT_EQ(dash["sites"].size(), 1u);
  EXPECT_EQ(dash["sites"][0]["id"], "so-y-te");
  json agents = c.Request("GET", "/api/v1/agents").Json()["rows"];
  ASSERT_EQ(agents.size(), 1u);
  EXPECT_EQ(agents[0]["site"], "so-y-te");
}

TEST_F(WebTest, RequestWithoutTheCsrfTokenIsRefused) {
  Client c = NewClient();
  ASSERT_EQ(c.Login("admin", "admin password 1").status, 200);
  const std::string body = json{{"ids", {ids_[0].ToString()}}, {"action", "ack"}}.dump();
  c.set_send_csrf(false);
  Reply r = c.Request("POST", "/api/v1/alerts/triage", body);
  EXPECT_EQ(r.status, 403);
  EXPECT_THAT(r.body, HasSubstr("CSRF"));
  EXPECT_EQ(c.Request("POST", "/api/v1/alerts/triage", body, {"X-CSRF-Token: forged"}).status, 403);
  EXPECT_EQ(c.Request("POST", "/api/v1/logout").status, 403);
  c.set_send_csrf(true);
  // A cross-site page cannot use the session even with a token it guessed right.
  EXPECT_EQ(c.Request("POST", "/api/v1/alerts/triage", body, {"Origin: https://evil.example"}).status, 403);
  EXPECT_EQ(c.Request("GET", "/api/v1/alerts/" + ids_[0].ToString()).Json()["triage"]["status"], "new");
  EXPECT_EQ(c.Request("POST", "/api/v1/alerts/triage", body).status, 200);
}

TEST_F(WebTest, TenWrongPasswordsLockTheAccount) {
  Client c = NewClient();
  for (int i = 0; i < 10; ++i) {
    Reply r = c.Login("ana", "wrong password " + std::to_string(i));
    ASSERT_EQ(r.status, 401) << i << r.body;
  }
  Reply locked = c.Login("ana", "analyst password 1");
  EXPECT_EQ(locked.status, 403);
  EXPECT_THAT(locked.body, HasSubstr("locked"));
  Client admin = NewClient();
  ASSERT_EQ(admin.Login("admin", "admin password 1").status, 200);
  json audit = admin.Request("GET", "/api/v1/audit").Json();
  int failures = 0;
  for (const auto& row : audit["rows"]) failures += row["action"] == "login.fail" && row["target"] == "ana";
  EXPECT_EQ(failures, 11);  // Ten wrong passwords, then the right one refused.
  // An admin's new password lifts the lock.
  ASSERT_EQ(admin.Request("POST", "/api/v1/users/ana", json{{"password", "a new password 2"}}.dump()).status, 200);
  EXPECT_EQ(c.Login("ana", "a new password 2").status, 200);
}

TEST_F(WebTest, LiveFeedDeliversNewAlertsOfTheUsersSitesOnly) {
  namespace beast = boost::beast;
  namespace net = boost::asio;
  Client c = NewClient();
  ASSERT_EQ(c.Login("ana", "analyst password 1").status, 200);
  const std::string cookie = c.Cookie();
  ASSERT_THAT(cookie, HasSubstr("__Host-rampart_session="));

  net::io_context ioc;
  net::ssl::context ctx(net::ssl::context::tls_client);
  ctx.load_verify_file(ca_);
  ctx.set_verify_mode(net::ssl::verify_peer);
  beast::websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(ioc, ctx);
  SSL_set_tlsext_host_name(ws.next_layer().native_handle(), "localhost");
  net::ip::tcp::resolver resolver(ioc);
  beast::get_lowest_layer(ws).connect(resolver.resolve("127.0.0.1", std::to_string(service_->port())));
  ws.next_layer().handshake(net::ssl::stream_base::client);
  ws.set_option(beast::websocket::stream_base::decorator([&](beast::websocket::request_type& req) {
    req.set(beast::http::field::cookie, cookie);
  }));
  ws.handshake("localhost:" + std::to_string(service_->port()), "/api/v1/feed");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // The feed registers after the upgrade.
  testing::SeedAlert other;
  other.site = "so-tai-chinh";
  other.agent_id = "agent-tc";
  other.signature = "ET SCAN not for ana";
  testing::SeedAlert mine;
  mine.agent_id = "agent-yte";
  mine.signature = "ET MALWARE live for ana";
  ASSERT_TRUE(testing::SeedAlerts(*store_, {other, mine}).has_value());
  beast::flat_buffer buffer;
  beast::get_lowest_layer(ws).expires_after(std::chrono::seconds(10));
  ws.read(buffer);
  json msg = json::parse(beast::buffers_to_string(buffer.data()));
  EXPECT_EQ(msg["type"], "alert");
  EXPECT_EQ(msg["alert"]["signature"], "ET MALWARE live for ana");
  EXPECT_EQ(msg["alert"]["site"], "so-y-te");
  beast::error_code ec;
  ws.close(beast::websocket::close_code::normal, ec);

  // Without a session, or from another origin, the upgrade is refused.
  beast::websocket::stream<beast::ssl_stream<beast::tcp_stream>> anon(ioc, ctx);
  SSL_set_tlsext_host_name(anon.next_layer().native_handle(), "localhost");
  beast::get_lowest_layer(anon).connect(resolver.resolve("127.0.0.1", std::to_string(service_->port())));
  anon.next_layer().handshake(net::ssl::stream_base::client);
  anon.handshake("localhost", "/api/v1/feed", ec);
  EXPECT_TRUE(ec);
}

TEST_F(WebTest, TlsBelow12IsRefused) {
  CURL* curl = curl_easy_init();
  const std::string url = "https://localhost:" + std::to_string(service_->port()) + "/";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca_.c_str());
  curl_easy_setopt(curl, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_1) | static_cast<long>(CURL_SSLVERSION_MAX_TLSv1_1));
  curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  EXPECT_NE(curl_easy_perform(curl), CURLE_OK);
  curl_easy_setopt(curl, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2) | static_cast<long>(CURL_SSLVERSION_MAX_TLSv1_2));
  EXPECT_EQ(curl_easy_perform(curl), CURLE_OK);
  curl_easy_cleanup(curl);
}

}  // namespace
}  // namespace rampart::web
