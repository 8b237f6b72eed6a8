#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/config/config.h"
#include "common/log/log.h"
#include "common/rocks/rocks.h"
#include "common/tls/files.h"
#include "common/util/ids.h"
#include "common/util/mutex.h"
#include "controller/notify/format.h"
#include "controller/notify/notify.h"
#include "controller/notify/senders.h"

namespace rampart::notify {
namespace {

using nlohmann::json;

constexpr std::string_view kOutboxCf = "outbox";
constexpr std::string_view kDigestCf = "digest";
constexpr std::string_view kFailuresCf = "failures";
constexpr std::string_view kSeenCf = "seen";
constexpr size_t kFailuresKept = 1000;
constexpr int64_t kSeenKeepNanos = 3LL * 24 * 3600 * 1'000'000'000;

std::string Prefix(const std::string& target) { return target + std::string(1, '\0'); }
std::string PrefixEnd(const std::string& target) { return target + std::string(1, '\1'); }
std::string Key(const std::string& target, uint64_t seq) {
  std::string k = Prefix(target);
  rocks::AppendBigEndian64(&k, seq);
  return k;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

int64_t Nanos(std::chrono::milliseconds d) { return static_cast<int64_t>(d.count()) * 1'000'000; }

struct Target {
  TargetConfig config;
  std::string secret;  // Email password or webhook HMAC key.
  std::unique_ptr<detail::SyslogConnection> syslog;
  std::unique_ptr<detail::WebhookClient> webhook;
  std::thread thread;
  // Digest state (email targets), guarded by NotifierImpl::mu_ (which the
  // analysis cannot name from here: Submit and FlushDigest hold it).
  std::deque<int64_t> recent_individual;
  int64_t digest_due_nanos = 0;
  // Stats.
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<int64_t> last_delivered_nanos{0};
  std::string last_error;  // Guarded by NotifierImpl::stats_mu_, as is last_error_nanos.
  int64_t last_error_nanos = 0;
};

class NotifierImpl final : public Notifier {
 public:
  NotifierImpl(Options options, std::unique_ptr<rocks::Database> db) : options_(std::move(options)), db_(std::move(db)) {
    outbox_ = db_->Family(kOutboxCf);
    digest_ = db_->Family(kDigestCf);
    failures_ = db_->Family(kFailuresCf);
    seen_ = db_->Family(kSeenCf);
  }

  ~NotifierImpl() override { Stop(); }

  Status Init() EXCLUDES(mu_) {
    const int64_t now = options_.clock->NowNanos();
    for (const auto& tc : options_.targets) {
      auto t = std::make_unique<Target>();
      t->config = tc;
      if (tc.kind == "email" && !tc.email.password_file.empty()) {
        RAMPART_ASSIGN_OR_RETURN(t->secret, tls::ReadSecretFile(tc.email.password_file));
      } else if (tc.kind == "webhook") {
        RAMPART_ASSIGN_OR_RETURN(t->secret, tls::ReadSecretFile(tc.webhook.secret_file));
      }
      while (!t->secret.empty() && (t->secret.back() == '\n' || t->secret.back() == '\r')) t->secret.pop_back();
      if (tc.kind == "webhook" && t->secret.size() < 16) {
        return InvalidArgumentError("notify target " + tc.name + ": webhook secret must have at least 16 bytes");
      }
      if (tc.kind == "syslog") t->syslog = detail::SyslogConnection::Create(tc.syslog, tc.timeout);
      if (tc.kind == "webhook") t->webhook = detail::WebhookClient::Create(tc.webhook, tc.timeout);
      // Sequence numbers continue after what the outbox and digest hold.
      uint64_t last = 0;
      for (auto* cf : {outbox_, digest_}) {
        RAMPART_RETURN_IF_ERROR(db_->ScanReverse(cf, Prefix(tc.name), PrefixEnd(tc.name),
                                                 [&](std::string_view k, std::string_view) {
                                                   last = std::max(last, rocks::ReadBigEndian64(k.substr(k.size() - 8)));
                                                   return false;
                                                 }, 1));
      }
      {
        MutexLock lock(&mu_);
        seq_ = std::max(seq_, last);
      }
      // Alerts held for a digest when the controller stopped go out now.
      uint64_t held = 0;
      RAMPART_RETURN_IF_ERROR(db_->Scan(digest_, Prefix(tc.name), PrefixEnd(tc.name),
                                        [&](std::string_view, std::string_view) { return ++held < 1; }, 1));
      if (held) t->digest_due_nanos = now;
      targets_.emplace(tc.name, std::move(t));
    }
    for (auto& [name, t] : targets_) {
      Target* target = t.get();
      target->thread = std::thread([this, target] { Worker(target); });
    }
    log::Info("notify", "started", {{"targets", targets_.size()}, {"routes", options_.routes.size()}});
    return Status::Ok();
  }

  Result<int> Submit(const Notification& in) override EXCLUDES(mu_) {
    Notification n = in;
    if (n.id.empty()) n.id = NewUuidV7(options_.clock->NowNanos());
    const int64_t now = options_.clock->NowNanos();
    std::vector<std::string> chosen;
    for (const auto& rule : options_.routes) {
      if (!Matches(rule, n)) continue;
      for (const auto& t : rule.targets) {
        if (std::find(chosen.begin(), chosen.end(), t) == chosen.end()) chosen.push_back(t);
      }
    }
    int taken = 0;
    MutexLock lock(&mu_);
    for (const auto& name : chosen) {
      auto it = targets_.find(name);
      if (it == targets_.end()) continue;
      Target& t = *it->second;
      const std::string seen_key = Prefix(name) + n.id;
      if (db_->Get(seen_, seen_key).has_value()) continue;  // Submitted before (a replay): once only.
      rocksdb::WriteBatch batch;
      std::string time_value;
      rocks::AppendBigEndian64(&time_value, static_cast<uint64_t>(now));
      batch.Put(seen_, seen_key, time_value);
      const uint64_t seq = ++seq_;
      bool to_digest = false;
      if (t.config.kind == "email") {
        const int64_t window = Nanos(t.config.email.digest_window);
        while (!t.recent_individual.empty() && t.recent_individual.front() <= now - window) {
          t.recent_individual.pop_front();
        }
        if (static_cast<int>(t.recent_individual.size()) >= t.config.email.digest_after) {
          to_digest = true;
          if (t.digest_due_nanos == 0) t.digest_due_nanos = now + window;
        } else {
          t.recent_individual.push_back(now);
        }
      }
      if (to_digest) {
        batch.Put(digest_, Key(name, seq), NotificationToJson(n));
      } else {
        json item{{"key", n.id}, {"n", NotificationToJson(n)}};
        batch.Put(outbox_, Key(name, seq), item.dump());
      }
      RAMPART_RETURN_IF_ERROR(db_->Write(batch, rocks::Durability::kSync));
      ++taken;
    }
    if (taken) {
      ++work_seq_;
      cv_.SignalAll();
    }
    return taken;
  }

  std::vector<TargetStats> Stats() const override EXCLUDES(stats_mu_) {
    std::vector<TargetStats> out;
    for (const auto& [name, t] : targets_) {
      TargetStats s;
      s.name = name;
      s.kind = t->config.kind;
      auto count = [&](rocksdb::ColumnFamilyHandle* cf) {
        auto n = db_->Scan(cf, Prefix(name), PrefixEnd(name), [](std::string_view, std::string_view) { return true; },
                           1'000'000);
        return n ? *n : 0;
      };
      s.pending = count(outbox_);
      s.held_for_digest = count(digest_);
      s.delivered = t->delivered.load();
      s.failures = t->failures.load();
      s.last_delivered_nanos = t->last_delivered_nanos.load();
      {
        MutexLock lock(&stats_mu_);
        s.last_error = t->last_error;
        s.last_error_nanos = t->last_error_nanos;
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  std::vector<FailedAttempt> Failures(size_t limit) const override {
    std::vector<FailedAttempt> out;
    for (const auto& [name, t] : targets_) {
      (void)db_->ScanReverse(failures_, Prefix(name), PrefixEnd(name),
                             [&](std::string_view k, std::string_view v) {
                               json j = json::parse(v, nullptr, false);
                               if (j.is_discarded()) return true;
                               out.push_back({name, j.value("id", ""),
                                              static_cast<int64_t>(rocks::ReadBigEndian64(k.substr(k.size() - 8))),
                                              j.value("attempt", 0), j.value("error", "")});
                               return true;
                             },
                             limit);
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.time_nanos > b.time_nanos; });
    if (out.size() > limit) out.resize(limit);
    return out;
  }

  const std::vector<RouteRule>& routes() const override { return options_.routes; }

  void Stop() override EXCLUDES(mu_) {
    {
      MutexLock lock(&mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.SignalAll();
    for (auto& [name, t] : targets_) {
      if (t->thread.joinable()) t->thread.join();
    }
  }

 private:
  // Moves every held alert of a due digest into one outbox message.
  void FlushDigest(Target& t) EXCLUDES(mu_) {
    const std::string& name = t.config.name;
    MutexLock lock(&mu_);
    if (t.digest_due_nanos == 0 || options_.clock->NowNanos() < t.digest_due_nanos) return;
    json items = json::array();
    std::vector<std::string> keys;
    std::string first_id;
    (void)db_->Scan(digest_, Prefix(name), PrefixEnd(name), [&](std::string_view k, std::string_view v) {
      keys.emplace_back(k);
      items.push_back(std::string(v));
      Notification n;
      if (first_id.empty() && NotificationFromJson(v, &n)) first_id = n.id;
      return true;
    }, 10000);
    t.digest_due_nanos = 0;
    if (keys.empty()) return;
    rocksdb::WriteBatch batch;
    for (const auto& k : keys) batch.Delete(digest_, k);
    json item{{"key", "digest-" + std::to_string(keys.size()) + "-" + first_id}, {"items", items}};
    batch.Put(outbox_, Key(name, ++seq_), item.dump());
    if (auto s = db_->Write(batch, rocks::Durability::kSync); !s.ok()) {
      log::Error("notify", "cannot move digest to outbox", {{"target", name}, {"error", s}});
      t.digest_due_nanos = options_.clock->NowNanos();
    }
  }

  Status Deliver(Target& t, const std::vector<json>& items) {
    const auto& c = t.config;
    const int64_t now = options_.clock->NowNanos();
    if (c.kind == "syslog") {
      std::vector<std::string> messages;
      for (const auto& item : items) {
        Notification n;
        if (!NotificationFromJson(item.value("n", ""), &n)) continue;
        messages.push_back(RenderSyslog(n, c.syslog.format, options_.controller_name, item.value("key", "")));
      }
      return t.syslog->Send(messages);
    }
    const json& item = items.front();
    const std::string key = item.value("key", "");
    if (c.kind == "email") {
      EmailContext ctx{c.email.from, c.email.to, key, now, options_.controller_name, options_.ui_url};
      std::string message;
      if (item.contains("items")) {
        std::vector<Notification> list;
        for (const auto& s : item["items"]) {
          Notification n;
          if (s.is_string() && NotificationFromJson(s.get<std::string>(), &n)) list.push_back(std::move(n));
        }
        message = RenderDigestEmail(list, ctx);
      } else {
        Notification n;
        NotificationFromJson(item.value("n", ""), &n);
        message = RenderAlertEmail(n, ctx);
      }
      return detail::SendEmail(c.email, t.secret, message, c.timeout);
    }
    Notification n;
    NotificationFromJson(item.value("n", ""), &n);
    return t.webhook->Post(t.secret, RenderWebhookJson(n, key), key, now);
  }

  void RecordFailure(Target& t, const std::string& id, int attempt, const Status& error) EXCLUDES(stats_mu_) {
    t.failures++;
    const int64_t now = options_.clock->NowNanos();
    {
      MutexLock lock(&stats_mu_);
      t.last_error = error.message();
      t.last_error_nanos = now;
    }
    json j{{"id", id}, {"attempt", attempt}, {"error", error.message()}};
    std::string key = Prefix(t.config.name);
    rocks::AppendBigEndian64(&key, static_cast<uint64_t>(now));
    (void)db_->Put(failures_, key, j.dump(-1, ' ', false, json::error_handler_t::replace));
    // Keep the newest kFailuresKept per target.
    std::string cut;
    (void)db_->ScanReverse(failures_, Prefix(t.config.name), PrefixEnd(t.config.name),
                           [&](std::string_view k, std::string_view) {
                             cut = std::string(k);
                             return true;
                           },
                           kFailuresKept + 1);
    auto n = db_->ScanReverse(failures_, Prefix(t.config.name), PrefixEnd(t.config.name),
                              [](std::string_view, std::string_view) { return true; }, kFailuresKept + 1);
    if (n && *n > kFailuresKept) (void)db_->DeleteRange(failures_, Prefix(t.config.name), cut + std::string(1, '\0'));
    if (attempt == 1 || attempt % 10 == 0) {
      log::Warn("notify", "delivery failed; will retry",
                {{"target", t.config.name}, {"id", id}, {"attempt", attempt}, {"error", error}});
    }
  }

  void SweepSeen(int64_t now) {
    std::vector<std::string> old;
    (void)db_->Scan(seen_, "", "", [&](std::string_view k, std::string_view v) {
      if (v.size() >= 8 && static_cast<int64_t>(rocks::ReadBigEndian64(v)) < now - kSeenKeepNanos) old.emplace_back(k);
      return old.size() < 100000;
    });
    for (const auto& k : old) (void)db_->Delete(seen_, k);
  }

  // Sleeps `d` unless stopping; true when stopping.
  bool WaitFor(std::chrono::milliseconds d) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    const auto deadline = std::chrono::steady_clock::now() + d;
    while (!stopping_ && cv_.WaitUntil(&mu_, deadline)) {
    }
    return stopping_;
  }

  // Sleeps until Submit() adds work after `*seen_work` (at most 250 ms: a
  // digest may fall due), then notes the work seen.
  void WaitForWork(uint64_t* seen_work) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(250);
    while (!stopping_ && work_seq_ == *seen_work && cv_.WaitUntil(&mu_, deadline)) {
    }
    *seen_work = work_seq_;
  }

  void Worker(Target* t) EXCLUDES(mu_, stats_mu_) {
    const auto& c = t->config;
    const size_t batch_size = c.kind == "syslog" ? 50 : 1;
    auto backoff = c.initial_backoff;
    int attempt = 0;
    int64_t last_sweep = 0;
    uint64_t seen_work = 0;
    for (;;) {
      {
        MutexLock lock(&mu_);
        seen_work = work_seq_;  // Work submitted after this is seen by the scan below or wakes the wait.
      }
      {
        MutexLock lock(&mu_);
        if (stopping_) return;
      }
      if (c.kind == "email") FlushDigest(*t);
      const int64_t now = options_.clock->NowNanos();
      // The first target's worker also forgets old replay-protection keys.
      if (t == targets_.begin()->second.get() && now - last_sweep > 3600LL * 1'000'000'000) {
        SweepSeen(now);
        last_sweep = now;
      }
      std::vector<std::string> keys;
      std::vector<json> items;
      (void)db_->Scan(outbox_, Prefix(c.name), PrefixEnd(c.name), [&](std::string_view k, std::string_view v) {
        json j = json::parse(v, nullptr, false);
        keys.emplace_back(k);
        if (!j.is_discarded()) items.push_back(std::move(j));
        return true;
      }, batch_size);
      if (keys.empty()) {
        WaitForWork(&seen_work);
        continue;
      }
      Status s = items.empty() ? Status::Ok() : Deliver(*t, items);
      if (s.ok()) {
        rocksdb::WriteBatch batch;
        for (const auto& k : keys) batch.Delete(outbox_, k);
        if (auto w = db_->Write(batch, rocks::Durability::kSync); !w.ok()) {
          log::Error("notify", "cannot remove delivered messages", {{"target", c.name}, {"error", w}});
        }
        t->delivered += items.size();
        t->last_delivered_nanos = options_.clock->NowNanos();
        {
          MutexLock lock(&stats_mu_);
          t->last_error.clear();
        }
        backoff = c.initial_backoff;
        attempt = 0;
        continue;
      }
      ++attempt;
      RecordFailure(*t, items.empty() ? "" : items.front().value("key", ""), attempt, s);
      if (WaitFor(backoff)) return;
      backoff = std::min(backoff * 2, c.max_backoff);
    }
  }

  const Options options_;
  std::unique_ptr<rocks::Database> db_;
  rocksdb::ColumnFamilyHandle* outbox_ = nullptr;
  rocksdb::ColumnFamilyHandle* digest_ = nullptr;
  rocksdb::ColumnFamilyHandle* failures_ = nullptr;
  rocksdb::ColumnFamilyHandle* seen_ = nullptr;
  std::map<std::string, std::unique_ptr<Target>> targets_;
  // Routing into the outboxes, digests and the workers' wake-ups.
  mutable Mutex mu_;
  mutable Mutex stats_mu_;  // Targets' last errors.
  CondVar cv_;
  bool stopping_ GUARDED_BY(mu_) = false;
  uint64_t work_seq_ GUARDED_BY(mu_) = 0;  // Bumped by Submit(); workers wait for it to change.
  uint64_t seq_ GUARDED_BY(mu_) = 0;       // The outboxes' and digests' last key.
};

std::chrono::milliseconds Ms(int64_t v) { return std::chrono::milliseconds(v); }

}  // namespace

bool Matches(const RouteRule& rule, const Notification& n) {
  if (n.kind == Notification::Kind::kAlert) {
    if (!rule.alerts) return false;
    if (n.severity > rule.max_severity) return false;
    if (!rule.signature_contains.empty() &&
        Lower(n.signature).find(Lower(rule.signature_contains)) == std::string::npos) {
      return false;
    }
  } else {
    if (!rule.links) return false;
    if (!rule.link_states.empty() &&
        std::find(rule.link_states.begin(), rule.link_states.end(), n.link_state) == rule.link_states.end()) {
      return false;
    }
  }
  if (!rule.sites.empty() && std::find(rule.sites.begin(), rule.sites.end(), n.site) == rule.sites.end()) return false;
  return true;
}

void ReadOptions(config::Section section, Options* out) {
  for (config::Section t : section.List("targets")) {
    TargetConfig tc;
    t.String("name", &tc.name, config::kRequired);
    t.OneOf("kind", &tc.kind, {"email", "webhook", "syslog"}, config::kRequired);
    t.Duration("initial_backoff", &tc.initial_backoff, Ms(10), Ms(3'600'000));
    t.Duration("max_backoff", &tc.max_backoff, Ms(10), Ms(86'400'000));
    t.Duration("timeout", &tc.timeout, Ms(100), Ms(300'000));
    if (tc.kind == "email") {
      t.String("url", &tc.email.url, config::kRequired);
      t.String("from", &tc.email.from, config::kRequired);
      t.StringList("to", &tc.email.to, config::kRequired);
      t.String("username", &tc.email.username);
      t.String("password_file", &tc.email.password_file);
      t.String("ca_file", &tc.email.ca_file);
      t.Int("digest_after", &tc.email.digest_after, 0, 100000);
      t.Duration("digest_window", &tc.email.digest_window, Ms(100), Ms(86'400'000));
      if (!tc.email.url.starts_with("smtp://")) t.Problem("url", "must start with smtp:// (STARTTLS is required)");
      if (tc.email.to.empty()) t.Problem("to", "must list at least one address");
    } else if (tc.kind == "webhook") {
      t.String("url", &tc.webhook.url, config::kRequired);
      t.String("secret_file", &tc.webhook.secret_file, config::kRequired);
      t.String("ca_file", &tc.webhook.ca_file);
      if (!tc.webhook.url.starts_with("https://")) t.Problem("url", "must start with https://");
    } else if (tc.kind == "syslog") {
      t.String("host", &tc.syslog.host, config::kRequired);
      t.Int("port", &tc.syslog.port, 1, 65535);
      t.String("ca_file", &tc.syslog.ca_file);
      t.String("server_name", &tc.syslog.server_name);
      t.OneOf("format", &tc.syslog.format, {"cef", "ecs"});
      t.Duration("settle", &tc.syslog.settle, Ms(0), Ms(10'000));
    }
    out->targets.push_back(std::move(tc));
  }
  for (config::Section r : section.List("routes")) {
    RouteRule rule;
    r.String("name", &rule.name, config::kRequired);
    r.Bool("alerts", &rule.alerts);
    r.Bool("links", &rule.links);
    r.Int("max_severity", &rule.max_severity, 1, 4);
    r.StringList("sites", &rule.sites);
    r.String("signature_contains", &rule.signature_contains);
    r.StringList("link_states", &rule.link_states);
    r.StringList("targets", &rule.targets, config::kRequired);
    for (const auto& name : rule.targets) {
      if (std::none_of(out->targets.begin(), out->targets.end(), [&](const auto& t) { return t.name == name; })) {
        r.Problem("targets", "no target named '" + name + "'");
      }
    }
    out->routes.push_back(std::move(rule));
  }
}

Status Validate(const Options& options) {
  std::vector<std::string> names;
  for (const auto& t : options.targets) {
    if (t.name.empty() || t.name.find('\0') != std::string::npos) return InvalidArgumentError("a target has no name");
    if (std::find(names.begin(), names.end(), t.name) != names.end()) {
      return InvalidArgumentError("two targets are named '" + t.name + "'");
    }
    names.push_back(t.name);
    if (t.kind != "email" && t.kind != "webhook" && t.kind != "syslog") {
      return InvalidArgumentError("target " + t.name + ": kind must be email, webhook or syslog");
    }
  }
  for (const auto& r : options.routes) {
    for (const auto& t : r.targets) {
      if (std::find(names.begin(), names.end(), t) == names.end()) {
        return InvalidArgumentError("route " + r.name + ": no target named '" + t + "'");
      }
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<Notifier>> Notifier::Start(const Options& options) {
  RAMPART_RETURN_IF_ERROR(Validate(options));
  rocks::Options ro;
  ro.path = options.path;
  ro.column_families = {std::string(kOutboxCf), std::string(kDigestCf), std::string(kFailuresCf), std::string(kSeenCf)};
  ro.workload = rocks::Workload::kQueue;
  ro.block_cache_bytes = 8ull << 20;
  ro.write_buffer_bytes = 4ull << 20;
  ro.background_jobs = 1;
  RAMPART_ASSIGN_OR_RETURN(auto db, rocks::Database::Open(ro));
  auto n = std::make_unique<NotifierImpl>(options, std::move(db));
  RAMPART_RETURN_IF_ERROR(n->Init());
  return std::unique_ptr<Notifier>(std::move(n));
}

}  // namespace rampart::notify
