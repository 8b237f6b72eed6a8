// controller/store: opening, queries, subscriptions and fleet objects. The
// group-commit writer is in writer.cc.

#include "controller/store/store.h"

#include <pthread.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

#include "common/eve/eve.h"
#include "common/log/log.h"
#include "common/status/check.h"
#include "controller/store/store_impl.h"
#include "rampart/v1/event.pb.h"

namespace rampart::controller_store {

// --- Names ------------------------------------------------------------------

namespace {

constexpr std::string_view kKindNames[] = {"unspecified", "alert",  "flow",       "dns",    "http",
                                           "tls",         "anomaly", "file",      "process", "auth",
                                           "stats",       "link_probe", "socket", "link_state"};
constexpr std::string_view kSeverityNames[] = {"unspecified", "critical", "high", "medium", "low", "info"};
constexpr std::string_view kLinkStateNames[] = {"unknown", "up", "degraded", "down"};
constexpr std::string_view kAgentStateNames[] = {"unknown", "up", "down", "unreachable", "stopped", "revoked"};

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

std::string_view LinkStateName(LinkState s) {
  const auto i = static_cast<size_t>(s);
  return i < std::size(kLinkStateNames) ? kLinkStateNames[i] : "unknown";
}

std::string_view AgentStateName(AgentState s) {
  const auto i = static_cast<size_t>(s);
  return i < std::size(kAgentStateNames) ? kAgentStateNames[i] : "unknown";
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

using nlohmann::json;

constexpr char kEventsCf[] = "events";
constexpr char kIdxCf[] = "idx";
constexpr char kSigsCf[] = "signatures";
constexpr char kDictCf[] = "dict";
constexpr char kAgentsCf[] = "agents";
constexpr char kSitesCf[] = "sites";
constexpr char kTokensCf[] = "tokens";
constexpr char kIngestCf[] = "ingest";
constexpr char kLinksCf[] = "links";

constexpr int64_t kSecond = 1'000'000'000;

// Link history tiers: raw 10 s points, 5 min and 1 h buckets.
struct Tier {
  char tag;
  int64_t bucket;
  int64_t keep;
};
constexpr Tier kTiers[] = {{'0', 10 * kSecond, 2 * 86400 * kSecond},
                           {'1', 300 * kSecond, 30 * 86400 * kSecond},
                           {'2', 3600 * kSecond, 400 * 86400 * kSecond}};

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

json LinkMetricsJson(const LinkMetrics& m) {
  return {{"rtt_ms", m.rtt_ms}, {"jitter_ms", m.jitter_ms}, {"loss_ratio", m.loss_ratio},
          {"window_end", m.window_end_unix_nanos}};
}
LinkMetrics LinkMetricsFrom(const json& j) {
  LinkMetrics m;
  m.rtt_ms = j.value("rtt_ms", 0.0);
  m.jitter_ms = j.value("jitter_ms", 0.0);
  m.loss_ratio = j.value("loss_ratio", 0.0);
  m.window_end_unix_nanos = j.value("window_end", int64_t{0});
  return m;
}

json AgentJson(const Agent& a) {
  const AgentHealth& h = a.health;
  return {{"id", a.id},
          {"name", a.name},
          {"site", a.site},
          {"version", a.version},
          {"enrolled", a.enrolled_unix_nanos},
          {"last_seen", a.last_seen_unix_nanos},
          {"address", a.address},
          {"state", static_cast<int>(a.state)},
          {"state_since", a.state_since_unix_nanos},
          {"revoked", a.revoked},
          {"revoked_at", a.revoked_unix_nanos},
          {"serial", a.certificate_serial},
          {"not_after", a.certificate_not_after_unix_seconds},
          {"health",
           {{"reported", h.reported_unix_nanos},
            {"cpu", h.cpu_percent},
            {"rss", h.rss_bytes},
            {"host_cpu", h.host_cpu_percent},
            {"mem_used", h.host_memory_used_bytes},
            {"mem_total", h.host_memory_total_bytes},
            {"load1", h.load_average_1m},
            {"disk_free", h.disk_free_bytes},
            {"queue_depth", h.queue_depth},
            {"queue_bytes", h.queue_bytes},
            {"dropped", h.dropped_events},
            {"capture_drops", h.capture_drops},
            {"last_sequence", h.last_sequence},
            {"link", LinkMetricsJson(h.link)},
            {"policy", h.policy_version},
            {"rules", h.rules_version}}}};
}

Agent AgentFrom(const json& j) {
  Agent a;
  a.id = j.value("id", "");
  a.name = j.value("name", "");
  a.site = j.value("site", "");
  a.version = j.value("version", "");
  a.enrolled_unix_nanos = j.value("enrolled", int64_t{0});
  a.last_seen_unix_nanos = j.value("last_seen", int64_t{0});
  a.address = j.value("address", "");
  a.state = static_cast<AgentState>(j.value("state", 0));
  a.state_since_unix_nanos = j.value("state_since", int64_t{0});
  a.revoked = j.value("revoked", false);
  a.revoked_unix_nanos = j.value("revoked_at", int64_t{0});
  a.certificate_serial = j.value("serial", "");
  a.certificate_not_after_unix_seconds = j.value("not_after", int64_t{0});
  if (j.contains("health")) {
    const json& h = j["health"];
    AgentHealth& o = a.health;
    o.reported_unix_nanos = h.value("reported", int64_t{0});
    o.cpu_percent = h.value("cpu", 0.0);
    o.rss_bytes = h.value("rss", uint64_t{0});
    o.host_cpu_percent = h.value("host_cpu", 0.0);
    o.host_memory_used_bytes = h.value("mem_used", uint64_t{0});
    o.host_memory_total_bytes = h.value("mem_total", uint64_t{0});
    o.load_average_1m = h.value("load1", 0.0);
    o.disk_free_bytes = h.value("disk_free", uint64_t{0});
    o.queue_depth = h.value("queue_depth", uint64_t{0});
    o.queue_bytes = h.value("queue_bytes", uint64_t{0});
    o.dropped_events = h.value("dropped", uint64_t{0});
    o.capture_drops = h.value("capture_drops", uint64_t{0});
    o.last_sequence = h.value("last_sequence", uint64_t{0});
    if (h.contains("link")) o.link = LinkMetricsFrom(h["link"]);
    o.policy_version = h.value("policy", "");
    o.rules_version = h.value("rules", "");
  }
  return a;
}

json SiteJson(const Site& s) {
  return {{"id", s.id},
          {"description", s.description},
          {"created", s.created_unix_nanos},
          {"link",
           {{"state", static_cast<int>(s.link.state)},
            {"since", s.link.since_unix_nanos},
            {"reason", s.link.reason},
            {"metrics", LinkMetricsJson(s.link.metrics)},
            {"availability_24h", s.link.availability_24h}}}};
}

Site SiteFrom(const json& j) {
  Site s;
  s.id = j.value("id", "");
  s.description = j.value("description", "");
  s.created_unix_nanos = j.value("created", int64_t{0});
  if (j.contains("link")) {
    const json& l = j["link"];
    s.link.state = static_cast<LinkState>(l.value("state", 0));
    s.link.since_unix_nanos = l.value("since", int64_t{0});
    s.link.reason = l.value("reason", "");
    if (l.contains("metrics")) s.link.metrics = LinkMetricsFrom(l["metrics"]);
    s.link.availability_24h = l.value("availability_24h", 0.0);
  }
  return s;
}

json TokenJson(const Token& t) {
  return {{"sha256", t.sha256},  {"site", t.site},           {"created", t.created_unix_nanos},
          {"expires", t.expires_unix_nanos}, {"used", t.used}, {"used_at", t.used_unix_nanos},
          {"used_by", t.used_by_agent},      {"created_by", t.created_by}};
}

Token TokenFrom(const json& j) {
  Token t;
  t.sha256 = j.value("sha256", "");
  t.site = j.value("site", "");
  t.created_unix_nanos = j.value("created", int64_t{0});
  t.expires_unix_nanos = j.value("expires", int64_t{0});
  t.used = j.value("used", false);
  t.used_unix_nanos = j.value("used_at", int64_t{0});
  t.used_by_agent = j.value("used_by", "");
  t.created_by = j.value("created_by", "");
  return t;
}

// Link samples: fixed binary (doubles as their bit patterns).
void AppendDouble(std::string* out, double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof(bits));
  rocks::AppendBigEndian64(out, bits);
}
double ReadDouble(std::string_view b) {
  const uint64_t bits = rocks::ReadBigEndian64(b);
  double d;
  std::memcpy(&d, &bits, sizeof(d));
  return d;
}
std::string EncodeSample(const LinkSample& s) {
  std::string out;
  rocks::AppendBigEndian64(&out, static_cast<uint64_t>(s.duration_nanos));
  AppendDouble(&out, s.rtt_ms_avg);
  AppendDouble(&out, s.rtt_ms_max);
  AppendDouble(&out, s.jitter_ms);
  AppendDouble(&out, s.loss_ratio);
  AppendDouble(&out, s.availability);
  out.push_back(static_cast<char>(s.worst));
  return out;
}
std::optional<LinkSample> DecodeSample(int64_t start, std::string_view b) {
  if (b.size() != 49) return std::nullopt;
  LinkSample s;
  s.start_unix_nanos = start;
  s.duration_nanos = static_cast<int64_t>(rocks::ReadBigEndian64(b));
  s.rtt_ms_avg = ReadDouble(b.substr(8));
  s.rtt_ms_max = ReadDouble(b.substr(16));
  s.jitter_ms = ReadDouble(b.substr(24));
  s.loss_ratio = ReadDouble(b.substr(32));
  s.availability = ReadDouble(b.substr(40));
  s.worst = static_cast<LinkState>(static_cast<uint8_t>(b[48]));
  return s;
}
std::string LinkKey(char tier, uint32_t site, int64_t start) {
  std::string k(1, tier);
  AppendU32(&k, site);
  AppendTime(&k, start);
  return k;
}

}  // namespace

// --- Ingest state -------------------------------------------------------------

bool IngestState::Contains(uint64_t seq) const {
  if (seq <= through) return true;
  auto it = above.upper_bound(seq);
  if (it == above.begin()) return false;
  --it;
  return seq <= it->second;
}

uint64_t IngestState::Add(uint64_t first, uint64_t last) {
  if (last < first) return 0;
  if (last <= through) return 0;
  first = std::max(first, through + 1);
  // Count what is new: [first, last] minus the overlapping ranges.
  uint64_t added = last - first + 1;
  uint64_t new_first = first, new_last = last;
  auto it = above.upper_bound(first);
  if (it != above.begin()) {
    auto prev = std::prev(it);
    if (prev->second + 1 >= first) it = prev;
  }
  while (it != above.end() && it->first <= (last == UINT64_MAX ? last : last + 1)) {
    const uint64_t lo = std::max(it->first, first), hi = std::min(it->second, last);
    if (lo <= hi) added -= hi - lo + 1;
    new_first = std::min(new_first, it->first);
    new_last = std::max(new_last, it->second);
    it = above.erase(it);
  }
  above[new_first] = new_last;
  while (!above.empty() && above.begin()->first <= through + 1) {
    through = std::max(through, above.begin()->second);
    above.erase(above.begin());
  }
  return added;
}

// --- StoreImpl: open and close --------------------------------------------------

StoreImpl::~StoreImpl() {
  for (auto& shard : shards_) {
    {
      std::lock_guard lock(shard->mu);
      shard->stopping = true;
    }
    shard->queue_cv.notify_all();
    if (shard->thread.joinable()) shard->thread.join();
  }
  {
    std::lock_guard lock(maintenance_mu_);
    maintenance_stop_ = true;
  }
  maintenance_cv_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  // Persist last-seen times gathered from probes.
  std::unique_lock lock(meta_mu_);
  for (auto& [id, e] : agents_) {
    if (e.agent.last_seen_unix_nanos != e.last_seen_persisted || e.dirty) {
      (void)PersistAgentLocked(e, rocks::Durability::kProcessCrashSafe);
    }
  }
}

Status StoreImpl::Init() {
  rocks::Options ro;
  ro.path = options_.path;
  ro.column_families = {kEventsCf, kIdxCf, kSigsCf, kDictCf, kAgentsCf, kSitesCf, kTokensCf, kIngestCf, kLinksCf};
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
  dict_ = db_->Family(kDictCf);
  agents_cf_ = db_->Family(kAgentsCf);
  sites_cf_ = db_->Family(kSitesCf);
  tokens_cf_ = db_->Family(kTokensCf);
  ingest_cf_ = db_->Family(kIngestCf);
  links_cf_ = db_->Family(kLinksCf);
  const size_t writers = std::clamp<size_t>(options_.writer_threads, 1, 16);
  for (size_t i = 0; i < writers; ++i) {
    shards_.push_back(std::make_unique<WriterShard>());
    shards_.back()->number = static_cast<uint8_t>(i);
  }
  RAMPART_RETURN_IF_ERROR(LoadDictionaries().WithContext("cannot load store " + options_.path));
  for (auto& shard : shards_) {
    shard->thread = std::thread([this, s = shard.get()] {
      pthread_setname_np(pthread_self(), "store-writer");
      WriterLoop(*s);
    });
  }
  maintenance_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "store-maint");
    MaintenanceLoop();
  });
  log::Info("store", "opened", {{"path", options_.path}, {"agents", agents_.size()}, {"sites", sites_.size()},
                                {"signatures", signatures_.size()}});
  return Status::Ok();
}

Status StoreImpl::LoadDictionaries() {
  std::unique_lock lock(meta_mu_);
  auto d = db_->Scan(dict_, "", "", [&](std::string_view key, std::string_view value) {
    if (value.size() != 4 || key.size() < 3) return true;
    const uint32_t num = ReadU32(value);
    const std::string name(key.substr(2));
    if (key.substr(0, 2) == "a/") {
      agent_nums_[name] = num;
      agent_by_num_[num] = name;
      next_agent_num_ = std::max(next_agent_num_, num + 1);
    } else if (key.substr(0, 2) == "s/") {
      site_nums_[name] = num;
      site_by_num_[num] = name;
      next_site_num_ = std::max(next_site_num_, num + 1);
    }
    return true;
  });
  if (!d.has_value()) return d.error();
  auto s = db_->Scan(sites_cf_, "", "", [&](std::string_view key, std::string_view value) {
    json j = json::parse(value, nullptr, false);
    if (j.is_discarded()) {
      log::Warn("store", "unreadable site record skipped", {{"site", std::string(key)}});
      return true;
    }
    SiteEntry e;
    e.site = SiteFrom(j);
    auto it = site_nums_.find(e.site.id);
    e.num = it == site_nums_.end() ? 0 : it->second;
    sites_[e.site.id] = std::move(e);
    return true;
  });
  if (!s.has_value()) return s.error();
  auto a = db_->Scan(agents_cf_, "", "", [&](std::string_view key, std::string_view value) {
    json j = json::parse(value, nullptr, false);
    if (j.is_discarded()) {
      log::Warn("store", "unreadable agent record skipped", {{"agent", std::string(key)}});
      return true;
    }
    AgentEntry e;
    e.agent = AgentFrom(j);
    auto it = agent_nums_.find(e.agent.id);
    e.num = it == agent_nums_.end() ? 0 : it->second;
    auto st = site_nums_.find(e.agent.site);
    e.site_num = st == site_nums_.end() ? 0 : st->second;
    e.last_seen_persisted = e.agent.last_seen_unix_nanos;
    // Nothing is connected right after a start.
    e.agent.connected = false;
    agents_[e.agent.id] = std::move(e);
    return true;
  });
  if (!a.has_value()) return a.error();
  // Signature records: sid(8), written by stores before writer shards, or
  // sid(8) shard(1), one per writer shard. The catalogue sums their counts.
  auto g = db_->Scan(sigs_, "", "", [&](std::string_view key, std::string_view value) {
    if (key.size() != 8 && key.size() != 9) return true;
    json j = json::parse(value, nullptr, false);
    if (j.is_discarded()) return true;
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
    return true;
  });
  if (!g.has_value()) return g.error();
  return Status::Ok();
}

Result<uint32_t> StoreImpl::SiteNumberLocked(const std::string& site) {
  if (site.empty()) return uint32_t{0};
  auto it = site_nums_.find(site);
  if (it != site_nums_.end()) return it->second;
  const uint32_t num = next_site_num_++;
  std::string v;
  AppendU32(&v, num);
  RAMPART_RETURN_IF_ERROR(db_->Put(dict_, "s/" + site, v, rocks::Durability::kSync));
  site_nums_[site] = num;
  site_by_num_[num] = site;
  return num;
}

Result<uint32_t> StoreImpl::AgentNumberLocked(const std::string& agent) {
  auto it = agent_nums_.find(agent);
  if (it != agent_nums_.end()) return it->second;
  const uint32_t num = next_agent_num_++;
  std::string v;
  AppendU32(&v, num);
  RAMPART_RETURN_IF_ERROR(db_->Put(dict_, "a/" + agent, v, rocks::Durability::kSync));
  agent_nums_[agent] = num;
  agent_by_num_[num] = agent;
  return num;
}

Status StoreImpl::PersistAgentLocked(const AgentEntry& e, rocks::Durability d) {
  return db_->Put(agents_cf_, e.agent.id, AgentJson(e.agent).dump(), d);
}

Status StoreImpl::PersistSiteLocked(const SiteEntry& e) {
  return db_->Put(sites_cf_, e.site.id, SiteJson(e.site).dump(), rocks::Durability::kSync);
}

Agent StoreImpl::AgentViewLocked(const AgentEntry& e) const {
  Agent a = e.agent;
  {
    std::lock_guard lock(const_cast<std::mutex&>(states_mu_));
    auto it = states_.find(e.num);
    if (it != states_.end()) {
      a.stored_through = it->second.through;
      a.events_stored = it->second.stored;
      a.events_lost = it->second.lost;
      return a;
    }
  }
  // Not loaded yet: read the persisted counters.
  auto v = db_->Get(ingest_cf_, IngestKey(e.num));
  if (v.has_value() && v->size() == 24) {
    a.stored_through = rocks::ReadBigEndian64(*v);
    a.events_stored = rocks::ReadBigEndian64(v->substr(8));
    a.events_lost = rocks::ReadBigEndian64(v->substr(16));
  }
  return a;
}

Site StoreImpl::SiteViewLocked(const SiteEntry& e) const {
  Site s = e.site;
  s.agents = 0;
  s.agents_up = 0;
  for (const auto& [id, a] : agents_) {
    if (a.agent.site != s.id || a.agent.revoked) continue;
    ++s.agents;
    if (a.agent.state == AgentState::kUp) ++s.agents_up;
  }
  return s;
}

// --- Queries ------------------------------------------------------------------

EventSummary StoreImpl::ToSummary(const Summary& s, const Position& p) const {
  EventSummary out;
  auto a = agent_by_num_.find(p.agent);
  if (a != agent_by_num_.end()) {
    out.id.agent_id = a->second;
    auto e = agents_.find(a->second);
    if (e != agents_.end()) out.agent_name = e->second.agent.name;
  }
  out.id.sequence = p.seq;
  out.observed_unix_nanos = p.ts;
  out.stored_unix_nanos = s.stored_nanos;
  out.kind = static_cast<EventKind>(s.kind);
  out.severity = static_cast<Severity>(s.severity);
  auto site = site_by_num_.find(s.site);
  if (site != site_by_num_.end()) out.site = site->second;
  if (s.src) out.src_ip = FormatAddress(*s.src);
  if (s.dest) out.dest_ip = FormatAddress(*s.dest);
  out.src_port = s.src_port;
  out.dest_port = s.dest_port;
  if (s.proto != 0) out.proto = std::string(eve::ProtoName(s.proto));
  if (s.kind == static_cast<uint8_t>(EventKind::kAlert)) {
    out.signature_id = s.signature_id;
    auto g = signatures_.find(s.signature_id);
    if (g != signatures_.end()) {
      out.signature = g->second.signature;
      out.category = g->second.category;
      out.gid = g->second.gid;
      out.rev = g->second.rev;
    }
  }
  return out;
}

Result<Page> StoreImpl::QueryAlerts(const Query& query) const { return Run(query, true); }
Result<Page> StoreImpl::QueryEvents(const Query& query) const { return Run(query, false); }

Result<Page> StoreImpl::Run(const Query& q, bool alerts_only) const {
  if (q.limit < 1 || q.limit > 1000) return InvalidArgumentError("limit must be 1..1000");
  if (q.to_unix_nanos != 0 && q.to_unix_nanos <= q.from_unix_nanos) {
    return InvalidArgumentError("empty time range: 'to' must be after 'from'");
  }
  std::optional<std::string> cursor;
  if (!q.cursor.empty()) {
    cursor = DecodeCursor(q.cursor, q.oldest_first);
    if (!cursor) return InvalidArgumentError("bad cursor (take it from the previous page with the same order)");
  }
  std::optional<std::array<uint8_t, 16>> address;
  if (!q.address.empty()) {
    address = ParseAddress(q.address);
    if (!address) return InvalidArgumentError("'" + q.address + "' is not an IPv4 or IPv6 address");
  }
  if (q.signature_id || !q.signature_text.empty()) alerts_only = true;
  if (!q.kinds.empty() &&
      std::all_of(q.kinds.begin(), q.kinds.end(), [](EventKind k) { return k == EventKind::kAlert; })) {
    alerts_only = true;
  }
  if (alerts_only && !q.kinds.empty() &&
      std::none_of(q.kinds.begin(), q.kinds.end(), [](EventKind k) { return k == EventKind::kAlert; })) {
    return Page{};  // Alerts of no alert kind.
  }

  std::shared_lock lock(meta_mu_);
  // Resolve names to numbers; an unknown name matches nothing.
  std::set<uint32_t> site_nums, agent_nums;
  for (const std::string& s : q.sites) {
    auto it = site_nums_.find(s);
    if (it != site_nums_.end()) site_nums.insert(it->second);
  }
  for (const std::string& a : q.agents) {
    auto it = agent_nums_.find(a);
    if (it != agent_nums_.end()) agent_nums.insert(it->second);
  }
  if ((!q.sites.empty() && site_nums.empty()) || (!q.agents.empty() && agent_nums.empty())) return Page{};
  std::set<uint64_t> text_sids;
  if (!q.signature_text.empty()) {
    for (const auto& [sid, info] : signatures_) {
      if (ContainsFolded(info.signature, q.signature_text)) text_sids.insert(sid);
    }
    if (text_sids.empty()) return Page{};
  }
  std::set<uint8_t> severities, kinds;
  for (Severity s : q.severities) severities.insert(static_cast<uint8_t>(s));
  for (EventKind k : q.kinds) kinds.insert(static_cast<uint8_t>(k));

  // The most selective index the filters allow.
  std::vector<std::string> prefixes;
  auto u32 = [](IndexTag tag, uint32_t v) {
    std::string p = IndexPrefix(tag);
    AppendU32(&p, v);
    return p;
  };
  auto u64 = [](IndexTag tag, uint64_t v) {
    std::string p = IndexPrefix(tag);
    rocks::AppendBigEndian64(&p, v);
    return p;
  };
  if (alerts_only) {
    if (q.signature_id) {
      prefixes.push_back(u64(IndexTag::kSignature, *q.signature_id));
    } else if (!text_sids.empty() && text_sids.size() <= 64) {
      for (uint64_t sid : text_sids) prefixes.push_back(u64(IndexTag::kSignature, sid));
    } else if (address) {
      prefixes.push_back(IndexPrefix(IndexTag::kAddress) + std::string(reinterpret_cast<const char*>(address->data()), 16));
    } else if (!agent_nums.empty()) {
      for (uint32_t a : agent_nums) prefixes.push_back(u32(IndexTag::kAgent, a));
    } else if (!site_nums.empty()) {
      for (uint32_t s : site_nums) prefixes.push_back(u32(IndexTag::kAlertSite, s));
    } else if (!severities.empty()) {
      for (uint8_t s : severities) prefixes.push_back(IndexPrefix(IndexTag::kSeverity) + static_cast<char>(s));
    } else {
      prefixes.push_back(IndexPrefix(IndexTag::kKind) + static_cast<char>(EventKind::kAlert));
    }
  } else if (!site_nums.empty()) {
    for (uint32_t s : site_nums) prefixes.push_back(u32(IndexTag::kSite, s));
  } else if (!kinds.empty() && std::all_of(kinds.begin(), kinds.end(), KindHasOwnIndex)) {
    for (uint8_t k : kinds) prefixes.push_back(IndexPrefix(IndexTag::kKind) + static_cast<char>(k));
  } else {
    // Every event has one S row: the sites of the agents asked for, or all
    // of them (site 0: events of no site), merged by position below.
    std::set<uint32_t> sites;
    bool every_site = agent_nums.empty();
    for (uint32_t a : agent_nums) {
      auto id = agent_by_num_.find(a);
      auto e = id == agent_by_num_.end() ? agents_.end() : agents_.find(id->second);
      if (e == agents_.end()) {
        every_site = true;  // Not enrolled ("controller"): its events name any site.
        break;
      }
      sites.insert(e->second.site_num);
    }
    if (every_site) {
      sites = {0};
      for (const auto& [num, id] : site_by_num_) sites.insert(num);
    }
    for (uint32_t s : sites) prefixes.push_back(u32(IndexTag::kSite, s));
  }

  struct Range {
    std::string lower, upper;
    rocksdb::Slice lo, hi;
    std::unique_ptr<rocksdb::Iterator> it;
    size_t prefix_len = 0;
  };
  std::vector<std::unique_ptr<Range>> ranges;
  for (const std::string& p : prefixes) {
    auto r = std::make_unique<Range>();
    r->prefix_len = p.size();
    r->lower = p;
    if (q.from_unix_nanos != 0) AppendTime(&r->lower, q.from_unix_nanos);
    if (q.to_unix_nanos != 0) {
      r->upper = p;
      AppendTime(&r->upper, q.to_unix_nanos);
    } else {
      r->upper = PrefixEnd(p);
    }
    if (cursor) {
      const std::string at = p + *cursor;
      if (q.oldest_first) {
        r->lower = std::max(r->lower, at);
      } else {
        r->upper = std::min(r->upper, at);
      }
    }
    rocksdb::ReadOptions ro;
    r->lo = rocksdb::Slice(r->lower);
    r->hi = rocksdb::Slice(r->upper);
    ro.iterate_lower_bound = &r->lo;
    ro.iterate_upper_bound = &r->hi;
    r->it.reset(db_->raw()->NewIterator(ro, idx_));
    if (q.oldest_first) {
      r->it->SeekToFirst();
      // The cursor row itself was on the previous page.
      if (cursor && r->it->Valid() && r->it->key().ToStringView().substr(r->prefix_len) == *cursor) r->it->Next();
    } else {
      r->it->SeekToLast();
    }
    ranges.push_back(std::move(r));
  }

  // A heap of the ranges by their next position: the merge of all sites'
  // ranges costs log(sites) per row examined, not the number of sites.
  auto position = [](const Range* r) { return r->it->key().ToStringView().substr(r->prefix_len); };
  auto later_in_page = [&](const Range* a, const Range* b) {
    return q.oldest_first ? position(a) > position(b) : position(a) < position(b);
  };
  std::vector<Range*> heap;
  for (auto& r : ranges) {
    if (r->it->Valid()) {
      heap.push_back(r.get());
    } else if (!r->it->status().ok()) {
      return rocks::FromRocks(r->it->status(), "query");
    }
  }
  std::make_heap(heap.begin(), heap.end(), later_in_page);

  Page page;
  std::string last_position;
  const uint64_t max_examined = options_.query.max_examined;
  while (true) {
    if (heap.empty()) break;  // Exhausted: no next page.
    if (page.rows.size() >= q.limit || page.examined >= max_examined) break;  // More remain.
    std::pop_heap(heap.begin(), heap.end(), later_in_page);
    Range* best = heap.back();
    heap.pop_back();
    ++page.examined;
    const std::string_view best_pos = position(best);
    last_position.assign(best_pos);
    const auto pos = DecodePosition(best_pos);
    const auto s = DecodeSummary(best->it->value().ToStringView());
    if (q.oldest_first) best->it->Next(); else best->it->Prev();
    if (best->it->Valid()) {
      heap.push_back(best);
      std::push_heap(heap.begin(), heap.end(), later_in_page);
    } else if (!best->it->status().ok()) {
      return rocks::FromRocks(best->it->status(), "query");
    }
    if (!pos || !s) continue;  // Not ours; never written by this version.
    if (alerts_only && s->kind != static_cast<uint8_t>(EventKind::kAlert)) continue;
    if (!kinds.empty() && !kinds.contains(s->kind)) continue;
    if (!severities.empty() && !severities.contains(s->severity)) continue;
    if (!site_nums.empty() && !site_nums.contains(s->site)) continue;
    if (!agent_nums.empty() && !agent_nums.contains(pos->agent)) continue;
    if (q.signature_id && s->signature_id != *q.signature_id) continue;
    if (!text_sids.empty() && !text_sids.contains(s->signature_id)) continue;
    if (address && !((s->src && *s->src == *address) || (s->dest && *s->dest == *address))) continue;
    page.rows.push_back(ToSummary(*s, *pos));
  }
  if (heap.empty()) last_position.clear();
  if (!last_position.empty()) page.next_cursor = EncodeCursor(last_position, q.oldest_first);
  return page;
}

Result<EventRecord> StoreImpl::GetEvent(const EventId& id) const {
  uint32_t num;
  {
    std::shared_lock lock(meta_mu_);
    auto it = agent_nums_.find(id.agent_id);
    if (it == agent_nums_.end()) return NotFoundError("no event " + id.ToString());
    num = it->second;
  }
  auto v = db_->Get(events_, EventKey(num, id.sequence));
  if (!v.has_value()) {
    if (v.error().code() == StatusCode::kNotFound) return NotFoundError("no event " + id.ToString());
    return v.error();
  }
  rampart::v1::Event e;
  if (!e.ParseFromString(*v)) return DataLossError("event " + id.ToString() + " is unreadable");
  std::shared_lock lock(meta_mu_);
  auto site = site_nums_.find(e.site());
  const Summary s = SummaryOfEvent(e, site == site_nums_.end() ? 0 : site->second);
  EventRecord r;
  r.summary = ToSummary(s, Position{e.observed_unix_nanos(), num, e.sequence()});
  r.eve_json = e.eve_json();
  return r;
}

Result<std::vector<EventRecord>> StoreImpl::AgentEvents(std::string_view agent_id, uint64_t from_sequence,
                                                        size_t limit) const {
  uint32_t num;
  {
    std::shared_lock lock(meta_mu_);
    auto it = agent_nums_.find(agent_id);
    if (it == agent_nums_.end()) return std::vector<EventRecord>{};
    num = it->second;
  }
  std::vector<EventRecord> out;
  Status bad;
  const std::string begin = EventKey(num, from_sequence);
  const std::string end = EventKey(num + 1, 0);
  std::shared_lock lock(meta_mu_);
  auto n = db_->Scan(events_, begin, end, [&](std::string_view, std::string_view value) {
    rampart::v1::Event e;
    if (!e.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      bad = DataLossError("unreadable event of agent " + std::string(agent_id));
      return false;
    }
    auto site = site_nums_.find(e.site());
    EventRecord r;
    r.summary = ToSummary(SummaryOfEvent(e, site == site_nums_.end() ? 0 : site->second),
                          Position{e.observed_unix_nanos(), num, e.sequence()});
    r.eve_json = e.eve_json();
    out.push_back(std::move(r));
    return true;
  }, limit);
  if (!n.has_value()) return n.error();
  if (!bad.ok()) return bad;
  return out;
}

Result<std::vector<Store::SignatureCount>> StoreImpl::Signatures(std::string_view text, size_t limit) const {
  std::shared_lock lock(meta_mu_);
  std::vector<SignatureCount> out;
  for (const auto& [sid, info] : signatures_) {
    if (ContainsFolded(info.signature, text)) out.push_back({sid, info.signature, info.alerts});
  }
  std::sort(out.begin(), out.end(), [](const SignatureCount& a, const SignatureCount& b) {
    return a.alerts != b.alerts ? a.alerts > b.alerts : a.signature_id < b.signature_id;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

Result<std::vector<Agent>> StoreImpl::ListAgents(std::string_view site) const {
  std::shared_lock lock(meta_mu_);
  std::vector<Agent> out;
  for (const auto& [id, e] : agents_) {
    if (!site.empty() && e.agent.site != site) continue;
    out.push_back(AgentViewLocked(e));
  }
  return out;
}

Result<Agent> StoreImpl::GetAgent(std::string_view agent_id) const {
  std::shared_lock lock(meta_mu_);
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return NotFoundError("no agent '" + std::string(agent_id) + "'");
  return AgentViewLocked(it->second);
}

Result<std::vector<Site>> StoreImpl::ListSites() const {
  std::shared_lock lock(meta_mu_);
  std::vector<Site> out;
  for (const auto& [id, e] : sites_) out.push_back(SiteViewLocked(e));
  return out;
}

Result<Site> StoreImpl::GetSite(std::string_view site_id) const {
  std::shared_lock lock(meta_mu_);
  auto it = sites_.find(site_id);
  if (it == sites_.end()) return NotFoundError("no site '" + std::string(site_id) + "'");
  return SiteViewLocked(it->second);
}

Result<std::vector<LinkSample>> StoreImpl::LinkHistory(std::string_view site_id, int64_t from, int64_t to,
                                                       size_t max_points) const {
  uint32_t num;
  {
    std::shared_lock lock(meta_mu_);
    auto it = site_nums_.find(site_id);
    if (it == site_nums_.end()) return NotFoundError("no site '" + std::string(site_id) + "'");
    num = it->second;
  }
  if (to == 0) to = options_.clock->NowNanos();
  if (to <= from) return InvalidArgumentError("empty time range: 'to' must be after 'from'");
  if (max_points == 0) max_points = 1;
  const Tier* tier = &kTiers[2];
  for (const Tier& t : kTiers) {
    if (static_cast<uint64_t>((to - from) / t.bucket) <= max_points) {
      tier = &t;
      break;
    }
  }
  std::vector<LinkSample> out;
  // Start one bucket early so the bucket containing `from` is included.
  const std::string begin = LinkKey(tier->tag, num, from - tier->bucket + 1);
  const std::string end = LinkKey(tier->tag, num, to);
  auto n = db_->Scan(links_cf_, begin, end, [&](std::string_view key, std::string_view value) {
    if (key.size() != 13) return true;
    auto s = DecodeSample(ReadTime(key.substr(5)), value);
    if (s) out.push_back(*s);
    return true;
  });
  if (!n.has_value()) return n.error();
  if (out.size() > max_points) out.erase(out.begin(), out.end() - static_cast<ptrdiff_t>(max_points));
  return out;
}

// --- Subscriptions ----------------------------------------------------------

Subscription StoreImpl::Subscribe(const EventFilter& filter, std::function<void(const EventRecord&)> callback) {
  const uint64_t id = next_sub_id_++;
  {
    std::lock_guard lock(subs_->events_mu);
    subs_->events.push_back({id, filter, std::move(callback)});
    subs_->event_count = subs_->events.size();
  }
  return Subscription([weak = std::weak_ptr<Subscribers>(subs_), id] {
    const std::shared_ptr<Subscribers> subs = weak.lock();
    if (!subs) return;  // The store is gone, and its subscribers with it.
    std::lock_guard lock(subs->events_mu);
    std::erase_if(subs->events, [id](const Subscriber& s) { return s.id == id; });
    subs->event_count = subs->events.size();
  });
}

Subscription StoreImpl::SubscribeLinkChanges(std::function<void(const LinkChange&)> callback) {
  const uint64_t id = next_sub_id_++;
  {
    std::lock_guard lock(subs_->links_mu);
    subs_->links.push_back({id, std::move(callback)});
  }
  return Subscription([weak = std::weak_ptr<Subscribers>(subs_), id] {
    const std::shared_ptr<Subscribers> subs = weak.lock();
    if (!subs) return;
    std::lock_guard lock(subs->links_mu);
    std::erase_if(subs->links, [id](const LinkSubscriber& s) { return s.id == id; });
  });
}

void StoreImpl::Notify(const std::vector<EventRecord>& records) {
  std::lock_guard lock(subs_->events_mu);
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

// --- Fleet objects ----------------------------------------------------------

Status StoreImpl::CreateSite(const Site& site) {
  if (!ValidSiteId(site.id)) {
    return InvalidArgumentError("site id '" + site.id + "' must be 1-63 of a-z, 0-9 and '-', not starting with '-'");
  }
  std::unique_lock lock(meta_mu_);
  if (sites_.contains(site.id)) return AlreadyExistsError("site '" + site.id + "' already exists");
  SiteEntry e;
  e.site = site;
  e.site.link = SiteLink();
  if (e.site.created_unix_nanos == 0) e.site.created_unix_nanos = options_.clock->NowNanos();
  RAMPART_ASSIGN_OR_RETURN(e.num, SiteNumberLocked(site.id));
  RAMPART_RETURN_IF_ERROR(PersistSiteLocked(e));
  sites_[site.id] = std::move(e);
  return Status::Ok();
}

Status StoreImpl::PutToken(const Token& token) {
  if (token.sha256.size() != 64) return InvalidArgumentError("token hash must be 64 hex digits");
  {
    std::shared_lock lock(meta_mu_);
    if (!sites_.contains(token.site)) return NotFoundError("no site '" + token.site + "'");
  }
  std::lock_guard lock(token_mu_);
  return db_->Put(tokens_cf_, token.sha256, TokenJson(token).dump(), rocks::Durability::kSync);
}

Result<Token> StoreImpl::ConsumeToken(std::string_view sha256, std::string_view agent_id) {
  const Status refused = UnauthenticatedError("enrolment token is unknown, already used or expired");
  std::lock_guard lock(token_mu_);
  auto v = db_->Get(tokens_cf_, sha256);
  if (!v.has_value()) return v.error().code() == StatusCode::kNotFound ? refused : v.error();
  json j = json::parse(*v, nullptr, false);
  if (j.is_discarded()) return DataLossError("unreadable token record");
  Token t = TokenFrom(j);
  const int64_t now = options_.clock->NowNanos();
  if (t.used || now >= t.expires_unix_nanos) return refused;
  t.used = true;
  t.used_unix_nanos = now;
  t.used_by_agent = std::string(agent_id);
  RAMPART_RETURN_IF_ERROR(db_->Put(tokens_cf_, sha256, TokenJson(t).dump(), rocks::Durability::kSync));
  return t;
}

Result<std::vector<Token>> StoreImpl::ListTokens() const {
  std::vector<Token> out;
  auto n = db_->Scan(tokens_cf_, "", "", [&](std::string_view, std::string_view value) {
    json j = json::parse(value, nullptr, false);
    if (!j.is_discarded()) out.push_back(TokenFrom(j));
    return true;
  });
  if (!n.has_value()) return n.error();
  std::sort(out.begin(), out.end(),
            [](const Token& a, const Token& b) { return a.created_unix_nanos > b.created_unix_nanos; });
  return out;
}

Status StoreImpl::PutAgentIdentity(const Agent& agent) {
  if (agent.id.empty() || agent.id == "controller") return InvalidArgumentError("bad agent id '" + agent.id + "'");
  std::unique_lock lock(meta_mu_);
  if (!agent.site.empty() && !sites_.contains(agent.site)) return NotFoundError("no site '" + agent.site + "'");
  AgentEntry& e = agents_[agent.id];
  const bool is_new = e.agent.id.empty();
  if (is_new) {
    RAMPART_ASSIGN_OR_RETURN(e.num, AgentNumberLocked(agent.id));
    e.agent.state = AgentState::kUnknown;
  }
  e.agent.id = agent.id;
  e.agent.name = agent.name;
  e.agent.site = agent.site;
  if (!agent.version.empty()) e.agent.version = agent.version;
  e.agent.enrolled_unix_nanos = agent.enrolled_unix_nanos;
  e.agent.certificate_serial = agent.certificate_serial;
  e.agent.certificate_not_after_unix_seconds = agent.certificate_not_after_unix_seconds;
  if (agent.revoked && !e.agent.revoked) {
    e.agent.revoked_unix_nanos = agent.revoked_unix_nanos ? agent.revoked_unix_nanos : options_.clock->NowNanos();
    e.agent.state = AgentState::kRevoked;
    e.agent.state_since_unix_nanos = e.agent.revoked_unix_nanos;
  }
  e.agent.revoked = agent.revoked;
  auto site = site_nums_.find(agent.site);
  e.site_num = site == site_nums_.end() ? 0 : site->second;
  Status s = PersistAgentLocked(e, rocks::Durability::kSync);
  if (!s.ok() && is_new) agents_.erase(agent.id);
  return s;
}

Status StoreImpl::UpdateAgentHealth(std::string_view agent_id, const AgentHealth& health, std::string_view version) {
  std::unique_lock lock(meta_mu_);
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return NotFoundError("no agent '" + std::string(agent_id) + "'");
  AgentEntry& e = it->second;
  e.agent.health = health;
  if (!version.empty()) e.agent.version = std::string(version);
  e.agent.last_seen_unix_nanos = std::max(e.agent.last_seen_unix_nanos, health.reported_unix_nanos);
  // Persisted by the maintenance pass (see UpdateAgentConnection): a write
  // per heartbeat would queue behind group commits with meta_mu_ held.
  e.dirty = true;
  return Status::Ok();
}

Status StoreImpl::UpdateAgentConnection(std::string_view agent_id, bool connected, std::string_view address,
                                        int64_t at, bool goodbye) {
  std::unique_lock lock(meta_mu_);
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return NotFoundError("no agent '" + std::string(agent_id) + "'");
  AgentEntry& e = it->second;
  e.agent.connected = connected;
  if (!address.empty()) e.agent.address = std::string(address);
  e.agent.last_seen_unix_nanos = std::max(e.agent.last_seen_unix_nanos, at);
  if (goodbye && !e.agent.revoked) {
    e.agent.state = AgentState::kStopped;
    e.agent.state_since_unix_nanos = at;
  }
  if (!goodbye) {
    // Connection state and address are volatile (every start resets them):
    // the maintenance pass persists them. A write here would hold meta_mu_
    // while queued behind the writer's fsynced group commit, so 500 agents
    // reconnecting at once timed out waiting for their Welcome.
    e.dirty = true;
    return Status::Ok();
  }
  e.last_seen_persisted = e.agent.last_seen_unix_nanos;
  e.dirty = false;
  return PersistAgentLocked(e, rocks::Durability::kProcessCrashSafe);
}

void StoreImpl::TouchAgent(std::string_view agent_id, int64_t at) {
  std::unique_lock lock(meta_mu_);
  auto it = agents_.find(agent_id);
  if (it != agents_.end()) it->second.agent.last_seen_unix_nanos = std::max(it->second.agent.last_seen_unix_nanos, at);
}

Status StoreImpl::SetSiteLink(std::string_view site_id, const SiteLink& link) {
  std::unique_lock lock(meta_mu_);
  auto it = sites_.find(site_id);
  if (it == sites_.end()) return NotFoundError("no site '" + std::string(site_id) + "'");
  const bool changed = it->second.site.link.state != link.state;
  it->second.site.link = link;
  // Metrics change every few seconds; only a state change needs an fsync.
  return db_->Put(sites_cf_, it->second.site.id, SiteJson(it->second.site).dump(),
                  changed ? rocks::Durability::kSync : rocks::Durability::kProcessCrashSafe);
}

Status StoreImpl::SetAgentState(std::string_view agent_id, AgentState state, int64_t since) {
  std::unique_lock lock(meta_mu_);
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return NotFoundError("no agent '" + std::string(agent_id) + "'");
  AgentEntry& e = it->second;
  if (e.agent.revoked) state = AgentState::kRevoked;
  if (e.agent.state == state) return Status::Ok();
  e.agent.state = state;
  e.agent.state_since_unix_nanos = since;
  return PersistAgentLocked(e, rocks::Durability::kSync);
}

Status StoreImpl::AppendLinkSample(std::string_view site_id, const LinkSample& sample) {
  uint32_t num;
  {
    std::shared_lock lock(meta_mu_);
    auto it = site_nums_.find(site_id);
    if (it == site_nums_.end()) return NotFoundError("no site '" + std::string(site_id) + "'");
    num = it->second;
  }
  rocksdb::WriteBatch batch;
  batch.Put(links_cf_, LinkKey(kTiers[0].tag, num, sample.start_unix_nanos), EncodeSample(sample));
  // Re-aggregate the coarser buckets that contain this sample from the tier
  // below, so a restart never leaves a half-counted bucket.
  for (size_t t = 1; t < std::size(kTiers); ++t) {
    const Tier& tier = kTiers[t];
    const Tier& below = kTiers[t - 1];
    int64_t start = sample.start_unix_nanos - (sample.start_unix_nanos % tier.bucket);
    if (sample.start_unix_nanos < 0 && sample.start_unix_nanos % tier.bucket != 0) start -= tier.bucket;
    LinkSample agg;
    agg.start_unix_nanos = start;
    double weight = 0;
    auto add = [&](const LinkSample& s) {
      const double w = static_cast<double>(s.duration_nanos);
      agg.rtt_ms_avg += s.rtt_ms_avg * w;
      agg.jitter_ms += s.jitter_ms * w;
      agg.loss_ratio += s.loss_ratio * w;
      agg.availability += s.availability * w;
      agg.rtt_ms_max = std::max(agg.rtt_ms_max, s.rtt_ms_max);
      agg.worst = std::max(agg.worst, s.worst);
      weight += w;
    };
    // The raw tier: the new sample (its stored copy may be an older
    // version of it), and the other raw points of the bucket. Coarser tiers
    // read the tier below, which this loop wrote just before.
    if (t == 1) add(sample);
    auto n = db_->Scan(links_cf_, LinkKey(below.tag, num, start), LinkKey(below.tag, num, start + tier.bucket),
                       [&](std::string_view key, std::string_view value) {
                         const int64_t st = ReadTime(key.substr(5));
                         if (t == 1 && st == sample.start_unix_nanos) return true;
                         auto s = DecodeSample(st, value);
                         if (s) add(*s);
                         return true;
                       });
    if (!n.has_value()) return n.error();
    if (weight > 0) {
      agg.rtt_ms_avg /= weight;
      agg.jitter_ms /= weight;
      agg.loss_ratio /= weight;
      agg.availability /= weight;
    }
    // Duration = the time the bucket's points cover so far.
    agg.duration_nanos = static_cast<int64_t>(weight);
    batch.Put(links_cf_, LinkKey(tier.tag, num, start), EncodeSample(agg));
    // The next tier aggregates this one; write it first so it is read back.
    RAMPART_RETURN_IF_ERROR(db_->Write(batch, rocks::Durability::kProcessCrashSafe));
    batch.Clear();
  }
  return Status::Ok();
}

Result<uint64_t> StoreImpl::RunRetention() {
  const int64_t now = options_.clock->NowNanos();
  auto cutoff = [&](std::chrono::hours h) -> int64_t {
    return h.count() == 0 ? INT64_MIN : now - h.count() * 3600 * kSecond;
  };
  const int64_t event_cutoff = cutoff(options_.retention);
  const int64_t alert_cutoff = options_.alert_retention.count() == 0 ? event_cutoff : cutoff(options_.alert_retention);
  uint64_t deleted = 0;
  // Deletes what `range` holds before `end` in batches of 10,000 rows: each
  // row `sweep` keeps is passed over, each it takes goes with its event and
  // every index row of it (and the scanned row itself, for rows of the old
  // layout that IndexKeys no longer names).
  enum class Sweep { kKeep, kEvent, kRowOnly };
  auto sweep = [&](const std::string& prefix, const std::string& end,
                   const std::function<Sweep(const Summary&)>& take) -> Status {
    std::string begin = prefix;
    while (true) {
      rocksdb::WriteBatch batch;
      uint64_t events_in_batch = 0;
      std::string last;
      auto n = db_->Scan(idx_, begin, end, [&](std::string_view key, std::string_view value) {
        last.assign(key);
        const auto pos = DecodePosition(key.substr(key.size() < kPositionSize ? 0 : key.size() - kPositionSize));
        const auto s = DecodeSummary(value);
        const rocksdb::Slice row(key.data(), key.size());
        if (!pos || !s) {
          batch.Delete(idx_, row);
          return true;
        }
        switch (take(*s)) {
          case Sweep::kKeep: return true;
          case Sweep::kRowOnly: batch.Delete(idx_, row); return true;
          case Sweep::kEvent: break;
        }
        bool row_named = false;
        for (const std::string& k : IndexKeys(*s, pos->ts, pos->agent, pos->seq)) {
          row_named = row_named || k == key;
          batch.Delete(idx_, k);
        }
        if (!row_named) batch.Delete(idx_, row);
        batch.Delete(events_, EventKey(pos->agent, pos->seq));
        ++events_in_batch;
        return true;
      }, 10000);
      if (!n.has_value()) return n.error();
      if (batch.Count() > 0) RAMPART_RETURN_IF_ERROR(db_->Write(batch, rocks::Durability::kProcessCrashSafe));
      deleted += events_in_batch;
      if (*n < 10000) return Status::Ok();
      begin = last;
      begin.push_back('\0');  // The next key after the last one seen.
    }
  };
  // Alerts and the other kinds with their own index, each with its cutoff
  // (and, in stores written before, every kind's K rows).
  for (int kind = 0; kind < 256; ++kind) {  // Every value a summary can hold.
    const int64_t cut = kind == static_cast<int>(EventKind::kAlert) ? alert_cutoff : event_cutoff;
    if (cut == INT64_MIN) continue;
    const std::string prefix = IndexPrefix(IndexTag::kKind) + static_cast<char>(kind);
    std::string end = prefix;
    AppendTime(&end, cut);
    RAMPART_RETURN_IF_ERROR(sweep(prefix, end, [](const Summary&) { return Sweep::kEvent; }));
  }
  // Bulk telemetry, through the site index; the kinds above were done
  // there (those kept longer are passed over).
  if (event_cutoff != INT64_MIN) {
    std::vector<uint32_t> sites = {0};
    {
      std::shared_lock lock(meta_mu_);
      for (const auto& [num, id] : site_by_num_) sites.push_back(num);
    }
    for (uint32_t site : sites) {
      std::string prefix = IndexPrefix(IndexTag::kSite);
      AppendU32(&prefix, site);
      std::string end = prefix;
      AppendTime(&end, event_cutoff);
      RAMPART_RETURN_IF_ERROR(sweep(prefix, end, [](const Summary& s) {
        return KindHasOwnIndex(s.kind) ? Sweep::kKeep : Sweep::kEvent;
      }));
    }
  }
  // The old layout's all-events time index: never read, so all of it goes.
  const std::string old_time = IndexPrefix(IndexTag::kOldTime);
  RAMPART_RETURN_IF_ERROR(sweep(old_time, PrefixEnd(old_time), [](const Summary&) { return Sweep::kRowOnly; }));
  // Link history tiers.
  std::vector<uint32_t> site_numbers;
  {
    std::shared_lock lock(meta_mu_);
    for (const auto& [id, num] : site_nums_) site_numbers.push_back(num);
  }
  for (const Tier& t : kTiers) {
    for (uint32_t num : site_numbers) {
      RAMPART_RETURN_IF_ERROR(db_->DeleteRange(links_cf_, LinkKey(t.tag, num, INT64_MIN),
                                               LinkKey(t.tag, num, now - t.keep)));
    }
  }
  if (deleted > 0) log::Info("store", "retention deleted old events", {{"events", deleted}});
  return deleted;
}

void StoreImpl::MaintenanceLoop() {
  int64_t last_retention = rampart::MonotonicNanos();
  std::unique_lock lock(maintenance_mu_);
  while (true) {
    if (maintenance_cv_.wait_for(lock, std::chrono::seconds(30), [&] { return maintenance_stop_; })) return;
    lock.unlock();
    {
      // Last-seen times from probes and connection state, persisted at an
      // interval in one write, made outside meta_mu_ (it may wait behind a
      // group commit). A change made meanwhile marks the entry again.
      rocksdb::WriteBatch batch;
      std::vector<std::string> ids;
      {
        std::unique_lock meta(meta_mu_);
        for (auto& [id, e] : agents_) {
          if (e.agent.last_seen_unix_nanos != e.last_seen_persisted || e.dirty) {
            batch.Put(agents_cf_, e.agent.id, AgentJson(e.agent).dump());
            e.last_seen_persisted = e.agent.last_seen_unix_nanos;
            e.dirty = false;
            ids.push_back(id);
          }
        }
      }
      if (!ids.empty()) {
        if (Status s = db_->Write(batch, rocks::Durability::kProcessCrashSafe); !s.ok()) {
          log::Warn("store", "agent records not persisted; retried at the next pass", {{"error", s}});
          std::unique_lock meta(meta_mu_);
          for (const std::string& id : ids) {
            auto it = agents_.find(id);
            if (it != agents_.end()) it->second.dirty = true;
          }
        }
      }
    }
    if (rampart::MonotonicNanos() - last_retention > 3600 * kSecond) {
      auto r = RunRetention();
      if (!r.has_value()) log::Warn("store", "retention failed", {{"error", r.error()}});
      last_retention = rampart::MonotonicNanos();
    }
    lock.lock();
  }
}

}  // namespace detail
}  // namespace rampart::controller_store
