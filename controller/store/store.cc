// controller/store: names, opening and closing, the signature catalogue and
// subscriptions. Queries are in query.cc, the group-commit writer in
// writer.cc, ingest states in ingest_state.cc, retention in retention.cc.

#include "controller/store/store.h"

#include <pthread.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "common/log/log.h"
#include "controller/store/store_impl.h"

namespace rampart::controller_store {

// --- Names ------------------------------------------------------------------

namespace {

constexpr std::string_view kKindNames[] = {"unspecified", "alert",  "flow",       "dns",    "http",
                                           "tls",         "anomaly", "file",      "process", "auth",
                                           "stats",       "link_probe", "socket", "link_state"};
constexpr std::string_view kSeverityNames[] = {"unspecified", "critical", "high", "medium", "low", "info"};

}  // namespace

std::string_view EventKindName(EventKind kind) {
  const auto i = static_cast<size_t>(kind);
  return i < std::size(kKindNames) ? kKindNames[i] : "unspecified";
}

Result<EventKind> ParseEventKind(std::string_view name) {
  for (size_t i = 0; i < std::size(kKindNames); ++i) {
    if (kKindNames[i] == name) return static_cast<EventKind>(i);
  }
  return InvalidArgumentError("unknown event kind '" + std::string(name) + "'");
}

std::string_view SeverityName(Severity s) {
  const auto i = static_cast<size_t>(s);
  return i < std::size(kSeverityNames) ? kSeverityNames[i] : "unspecified";
}

Result<Severity> ParseSeverity(std::string_view name) {
  for (size_t i = 1; i < std::size(kSeverityNames); ++i) {
    if (kSeverityNames[i] == name) return static_cast<Severity>(i);
  }
  if (name.size() == 1 && name[0] >= '1' && name[0] <= '5') return static_cast<Severity>(name[0] - '0');
  return InvalidArgumentError("unknown severity '" + std::string(name) +
                              "' (critical, high, medium, low, info or 1..5)");
}

std::string EventId::ToString() const { return agent_id + ":" + std::to_string(sequence); }

Result<EventId> EventId::Parse(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return InvalidArgumentError("event id must be AGENT_ID:SEQUENCE, got '" + std::string(text) + "'");
  }
  EventId id;
  id.agent_id.assign(text.substr(0, colon));
  const std::string_view seq = text.substr(colon + 1);
  const auto [end, ec] = std::from_chars(seq.data(), seq.data() + seq.size(), id.sequence);
  if (ec != std::errc() || end != seq.data() + seq.size() || id.sequence == 0) {
    return InvalidArgumentError("event id must be AGENT_ID:SEQUENCE, got '" + std::string(text) + "'");
  }
  return id;
}

// --- Subscription -----------------------------------------------------------

Subscription::Subscription(Subscription&& o) noexcept : cancel_(std::move(o.cancel_)) { o.cancel_ = nullptr; }
Subscription& Subscription::operator=(Subscription&& o) noexcept {
  if (this != &o) {
    Cancel();
    cancel_ = std::move(o.cancel_);
    o.cancel_ = nullptr;
  }
  return *this;
}
Subscription::~Subscription() { Cancel(); }
void Subscription::Cancel() {
  if (cancel_) {
    auto c = std::move(cancel_);
    cancel_ = nullptr;
    c();
  }
}

// --- Open -------------------------------------------------------------------

Result<std::unique_ptr<Store>> Store::Open(const Options& options) {
  if (options.path.empty()) return InvalidArgumentError("store path is empty");
  auto store = std::make_unique<detail::StoreImpl>(options);
  RAMPART_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<Store>(std::move(store));
}

EventWriter& WriterOf(Store& store) { return static_cast<detail::StoreImpl&>(store); }

namespace detail {
namespace {

constexpr char kEventsCf[] = "events";
constexpr char kIdxCf[] = "idx";
constexpr char kSigsCf[] = "signatures";
constexpr char kIngestCf[] = "ingest";

}  // namespace

std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    unsigned char& c = reinterpret_cast<unsigned char&>(prefix.back());
    if (c != 0xff) {
      ++c;
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;  // Empty: no upper bound.
}

// --- StoreImpl: open and close --------------------------------------------------

StoreImpl::~StoreImpl() {
  for (auto& shard : shards_) {
    {
      MutexLock lock(&shard->mu);
      shard->stopping = true;
    }
    shard->queue_cv.SignalAll();
    if (shard->thread.joinable()) shard->thread.join();
  }
  {
    MutexLock lock(&retention_mu_);
    retention_stop_ = true;
  }
  retention_cv_.SignalAll();
  if (retention_.joinable()) retention_.join();
  // The registry persists what it holds in memory, into db_: before db_ closes.
  registry_.reset();
}

Status StoreImpl::Init() {
  rocks::Options ro;
  ro.path = options_.path;
  ro.column_families = {kEventsCf, kIdxCf, kSigsCf, kIngestCf};
  for (std::string_view family : registry::kColumnFamilies) ro.column_families.emplace_back(family);
  ro.workload = rocks::Workload::kIndexed;
  ro.block_cache_bytes = options_.block_cache_bytes;
  ro.write_buffer_bytes = options_.write_buffer_bytes;
  ro.max_total_wal_bytes = 1ull << 30;
  ro.compress_wal = true;
  ro.sorted_insert_families = {kEventsCf, kIdxCf};  // CommitGroup sorts each batch's keys.
  RAMPART_ASSIGN_OR_RETURN(db_, rocks::Database::Open(ro));
  events_ = db_->Family(kEventsCf);
  idx_ = db_->Family(kIdxCf);
  sigs_ = db_->Family(kSigsCf);
  ingest_cf_ = db_->Family(kIngestCf);
  RAMPART_ASSIGN_OR_RETURN(registry_, registry::Registry::Open(*db_, {.clock = options_.clock}));
  const size_t writers = std::clamp<size_t>(options_.writer_threads, 1, 16);
  for (size_t i = 0; i < writers; ++i) {
    shards_.push_back(std::make_unique<WriterShard>());
    shards_.back()->number = static_cast<uint8_t>(i);
  }
  RAMPART_RETURN_IF_ERROR(LoadCatalogue().WithContext("cannot load store " + options_.path));
  for (auto& shard : shards_) {
    shard->thread = std::thread([this, s = shard.get()] {
      pthread_setname_np(pthread_self(), "store-writer");
      WriterLoop(*s);
    });
  }
  retention_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "store-retention");
    RetentionLoop();
  });
  ReaderLock lock(&catalogue_mu_);
  log::Info("store", "opened", {{"path", options_.path}, {"signatures", signatures_.size()}});
  return Status::Ok();
}

// Signature records: sid(8), written by stores before writer shards, or
// sid(8) shard(1), one per writer shard. The catalogue sums their counts.
Status StoreImpl::LoadCatalogue() {
  std::vector<std::pair<std::string, nlohmann::json>> records;
  auto g = db_->Scan(sigs_, "", "", [&](std::string_view key, std::string_view value) {
    if (key.size() != 8 && key.size() != 9) return true;
    nlohmann::json j = nlohmann::json::parse(value, nullptr, false);
    if (!j.is_discarded()) records.emplace_back(key, std::move(j));
    return true;
  });
  if (!g.has_value()) return g.error();
  WriterLock lock(&catalogue_mu_);
  for (const auto& [key, j] : records) {
    const uint64_t sid = rocks::ReadBigEndian64(key);
    const uint64_t alerts = j.value("alerts", uint64_t{0});
    SignatureInfo& info = signatures_[sid];
    // The newest metadata is in the shards' records, after the older one.
    if (std::string t = j.value("signature", ""); !t.empty()) info.signature = std::move(t);
    if (std::string c = j.value("category", ""); !c.empty()) info.category = std::move(c);
    if (const uint32_t gid = j.value("gid", 0u); gid != 0) info.gid = gid;
    if (const uint32_t rev = j.value("rev", 0u); rev != 0) info.rev = rev;
    info.alerts += alerts;
    if (key.size() == 9) {
      const auto shard = static_cast<uint8_t>(key[8]);
      // A shard that no longer exists keeps its record; its count still adds up.
      if (shard < shards_.size()) shards_[shard]->signature_alerts[sid] = alerts;
    }
  }
  return Status::Ok();
}

// --- Subscriptions ----------------------------------------------------------

Subscription StoreImpl::Subscribe(const EventFilter& filter, std::function<void(const EventRecord&)> callback) {
  const uint64_t id = next_sub_id_++;
  {
    MutexLock lock(&subs_->events_mu);
    subs_->events.push_back({id, filter, std::move(callback)});
    subs_->event_count = subs_->events.size();
  }
  return Subscription([weak = std::weak_ptr<Subscribers>(subs_), id] {
    const std::shared_ptr<Subscribers> subs = weak.lock();
    if (!subs) return;  // The store is gone, and its subscribers with it.
    MutexLock lock(&subs->events_mu);
    std::erase_if(subs->events, [id](const Subscriber& s) { return s.id == id; });
    subs->event_count = subs->events.size();
  });
}

Subscription StoreImpl::SubscribeLinkChanges(std::function<void(const LinkChange&)> callback) {
  const uint64_t id = next_sub_id_++;
  {
    MutexLock lock(&subs_->links_mu);
    subs_->links.push_back({id, std::move(callback)});
  }
  return Subscription([weak = std::weak_ptr<Subscribers>(subs_), id] {
    const std::shared_ptr<Subscribers> subs = weak.lock();
    if (!subs) return;
    MutexLock lock(&subs->links_mu);
    std::erase_if(subs->links, [id](const LinkSubscriber& s) { return s.id == id; });
  });
}

void StoreImpl::Notify(const std::vector<EventRecord>& records) {
  MutexLock lock(&subs_->events_mu);
  for (const EventRecord& r : records) {
    for (const Subscriber& s : subs_->events) {
      const EventFilter& f = s.filter;
      if (!f.kinds.empty() && std::find(f.kinds.begin(), f.kinds.end(), r.summary.kind) == f.kinds.end()) continue;
      if (!f.severities.empty() &&
          std::find(f.severities.begin(), f.severities.end(), r.summary.severity) == f.severities.end()) {
        continue;
      }
      if (!f.sites.empty() && std::find(f.sites.begin(), f.sites.end(), r.summary.site) == f.sites.end()) continue;
      s.callback(r);
    }
  }
}

}  // namespace detail
}  // namespace rampart::controller_store
