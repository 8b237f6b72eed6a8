#include "controller/web/service.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "common/config/config.h"
#include "common/log/log.h"
#include "common/util/ids.h"
#include "controller/auth/access.h"
#include "controller/dispatch/dispatcher.h"
#include "controller/notify/notify.h"
#include "controller/store/store.h"
#include "controller/web/triage.h"

namespace rampart::web {
namespace {

namespace cs = controller_store;

// The live feed: what dispatch hands it goes to the feed's sessions.
class Feed final : public dispatch::Consumer {
 public:
  explicit Feed(HttpsServer& server) : server_(server) {}
  void OnAlert(const cs::EventRecord& alert) override { server_.Publish(Api::AlertMessage(alert.summary)); }
  void OnLinkChange(const cs::LinkChange& change) override { server_.Publish(Api::LinkMessage(change)); }

 private:
  HttpsServer& server_;
};

class WebServiceImpl final : public WebService {
 public:
  WebServiceImpl(const WebOptions& options, cs::Store& store, notify::Notifier* notifier,
                 dispatch::Dispatcher* dispatcher)
      : options_(options), store_(store), notifier_(notifier), dispatcher_(dispatcher) {}
  ~WebServiceImpl() override { Stop(); }

  Status Init() {
    auth::Options ao;
    ao.path = options_.data_dir + "/auth";
    RAMPART_ASSIGN_OR_RETURN(access_, auth::AccessControl::Open(ao));
    RAMPART_ASSIGN_OR_RETURN(bool has_admin, access_->HasAdmin());
    if (!has_admin) {
      // First start: one admin with a random password, shown once on stdout
      // (never logged). rampartctl user passwd admin changes it.
      const std::string password = RandomToken(18);
      RAMPART_RETURN_IF_ERROR(access_->AddUser({.name = "admin", .role = auth::Role::kAdmin}, password));
      (void)access_->Audit({.actor = "system", .action = "user.add", .target = "admin", .detail = "first start"});
      std::printf("rampart-controller: created user 'admin' with password %s (shown once)\n", password.c_str());
      std::fflush(stdout);
    }
    RAMPART_ASSIGN_OR_RETURN(triage_, TriageStore::Open(options_.data_dir + "/web"));
    ApiOptions api_options = options_.api;
    if (api_options.ui_dir.empty()) api_options.ui_dir = DefaultUiDir();
    api_ = std::make_unique<Api>(api_options, ApiDeps{access_.get(), &store_, triage_.get(), notifier_});
    Api* api = api_.get();
    RAMPART_ASSIGN_OR_RETURN(server_, HttpsServer::Start(
                                          options_.server, [api](const HttpRequest& r) { return api->Handle(r); },
                                          [api](const HttpRequest& r) { return api->AuthorizeFeed(r); }));
    if (dispatcher_) {
      feed_ = std::make_unique<Feed>(*server_);
      dispatcher_->AddConsumer(feed_.get());
    }
    return Status::Ok();
  }

  uint16_t port() const override { return server_ ? server_->port() : 0; }

  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    if (feed_) dispatcher_->RemoveConsumer(feed_.get());
    if (server_) server_->Stop();
  }

 private:
  const WebOptions options_;
  cs::Store& store_;
  notify::Notifier* notifier_;
  dispatch::Dispatcher* dispatcher_;
  std::unique_ptr<auth::AccessControl> access_;
  std::unique_ptr<TriageStore> triage_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpsServer> server_;
  std::unique_ptr<Feed> feed_;
  bool stopped_ = false;  // Stop() runs on the thread that owns the service.
};

}  // namespace

std::string DefaultUiDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "/usr/share/rampart/ui";
  return (exe.parent_path().parent_path() / "share" / "rampart" / "ui").string();
}

void ReadOptions(config::Section s, WebOptions* out) {
  s.Bool("enabled", &out->enabled);
  s.String("address", &out->server.address);
  s.Int("port", &out->server.port, 0, 65535);
  s.String("cert_file", &out->server.cert_file, out->enabled);
  s.String("key_file", &out->server.key_file, out->enabled);
  s.Int("threads", &out->server.threads, 1, 64);
  std::chrono::milliseconds hsts(out->server.hsts_max_age);
  s.Duration("hsts_max_age", &hsts, std::chrono::milliseconds(0), std::chrono::milliseconds(2LL * 365 * 86400 * 1000));
  out->server.hsts_max_age = std::chrono::duration_cast<std::chrono::seconds>(hsts);
  s.String("ui_dir", &out->api.ui_dir);
  s.String("chart_js", &out->api.chart_js);
  s.String("crl_file", &out->api.crl_file);
}

Result<std::unique_ptr<WebService>> WebService::Start(const WebOptions& options, cs::Store& store,
                                                      notify::Notifier* notifier, dispatch::Dispatcher* dispatcher) {
  auto service = std::make_unique<WebServiceImpl>(options, store, notifier, dispatcher);
  RAMPART_RETURN_IF_ERROR(service->Init());
  return std::unique_ptr<WebService>(std::move(service));
}

}  // namespace rampart::web
