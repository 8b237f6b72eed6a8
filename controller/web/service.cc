#include "controller/web/service.h"

#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>
#include <variant>

#include "common/config/config.h"
#include "common/log/log.h"
#include "common/util/ids.h"
#include "controller/auth/access.h"
#include "controller/notify/notify.h"
#include "controller/store/store.h"
#include "controller/web/triage.h"

namespace rampart::web {
namespace {

namespace cs = controller_store;

notify::Notification FromAlert(const cs::EventRecord& r) {
  const auto& s = r.summary;
  notify::Notification n;
  n.kind = notify::Notification::Kind::kAlert;
  n.id = s.id.ToString();
  n.time_nanos = s.observed_unix_nanos;
  n.severity = std::clamp(static_cast<int>(s.severity), 1, 4);
  n.site = s.site;
  n.agent = s.agent_name.empty() ? s.id.agent_id : s.agent_name;
  n.signature = s.signature;
  n.signature_id = s.signature_id;
  n.category = s.category;
  n.src_ip = s.src_ip;
  n.src_port = s.src_port;
  n.dest_ip = s.dest_ip;
  n.dest_port = s.dest_port;
  n.proto = s.proto;
  n.eve_json = r.eve_json;
  return n;
}

notify::Notification FromLink(const cs::LinkChange& c) {
  notify::Notification n;
  n.kind = notify::Notification::Kind::kLink;
  n.id = c.event.agent_id.empty() ? NewUuidV7(c.at_unix_nanos) : c.event.ToString();
  n.time_nanos = c.at_unix_nanos;
  n.site = c.site;
  n.agent = c.agent_id;
  n.link = c.agent_id.empty() ? c.site : c.agent_id;
  n.link_state = std::string(c.agent_id.empty() ? registry::LinkStateName(c.to_link) : registry::AgentStateName(c.to_agent));
  n.severity = (n.link_state == "down" || n.link_state == "unreachable") ? 2 : 3;
  n.signature = (c.agent_id.empty() ? "WAN link " : "Agent ") + n.link + " " + n.link_state +
                (c.reason.empty() ? "" : ": " + c.reason);
  return n;
}

class WebServiceImpl final : public WebService {
 public:
  WebServiceImpl(const WebOptions& options, cs::Store& store, notify::Notifier* notifier)
      : options_(options), store_(store), notifier_(notifier) {}
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
    dispatcher_ = std::thread([this] { Dispatch(); });
    alerts_sub_ = store_.Subscribe({.kinds = {cs::EventKind::kAlert}}, [this](const cs::EventRecord& r) {
      Enqueue(Item{r});
    });
    links_sub_ = store_.SubscribeLinkChanges([this](const cs::LinkChange& c) { Enqueue(Item{c}); });
    return Status::Ok();
  }

  uint16_t port() const override { return server_ ? server_->port() : 0; }

  void Stop() override {
    alerts_sub_.Cancel();
    links_sub_.Cancel();
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (dispatcher_.joinable()) dispatcher_.join();
    if (server_) server_->Stop();
  }

 private:
  using Item = std::variant<cs::EventRecord, cs::LinkChange>;

  void Enqueue(Item item) {
    {
      std::lock_guard lock(mu_);
      if (queue_.size() >= options_.max_queued) {
        ++dropped_;
        return;
      }
      queue_.push_back(std::move(item));
    }
    cv_.notify_one();
  }

  void Dispatch() {
    int64_t last_drop_log = 0;
    for (;;) {
      std::deque<Item> batch;
      uint64_t dropped = 0;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_ && queue_.empty()) return;
        batch.swap(queue_);
        dropped = dropped_;
      }
      if (dropped && MonotonicNanos() - last_drop_log > 10'000'000'000LL) {
        log::Warn("web", "events dropped from the feed and notification queue", {{"dropped_total", dropped}});
        last_drop_log = MonotonicNanos();
      }
      for (const Item& item : batch) {
        notify::Notification n;
        if (const auto* r = std::get_if<cs::EventRecord>(&item)) {
          server_->Publish(Api::AlertMessage(r->summary));
          n = FromAlert(*r);
        } else {
          const auto& c = std::get<cs::LinkChange>(item);
          server_->Publish(Api::LinkMessage(c));
          n = FromLink(c);
        }
        if (notifier_) {
          if (auto s = notifier_->Submit(n); !s) {
            log::Error("web", "cannot queue notification", {{"id", n.id}, {"error", s.error()}});
          }
        }
      }
    }
  }

  const WebOptions options_;
  cs::Store& store_;
  notify::Notifier* notifier_;
  std::unique_ptr<auth::AccessControl> access_;
  std::unique_ptr<TriageStore> triage_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpsServer> server_;
  cs::Subscription alerts_sub_, links_sub_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  uint64_t dropped_ = 0;
  bool stopping_ = false;
  std::thread dispatcher_;
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
                                                      notify::Notifier* notifier) {
  auto service = std::make_unique<WebServiceImpl>(options, store, notifier);
  RAMPART_RETURN_IF_ERROR(service->Init());
  return std::unique_ptr<WebService>(std::move(service));
}

}  // namespace rampart::web
