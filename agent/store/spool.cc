#include "agent/store/spool.h"

#include <pthread.h>

#include <algorithm>
#include <deque>
#include <map>
#include <thread>

#include "agent/store/eve_fields.h"
#include "common/log/log.h"
#include "common/rocks/rocks.h"
#include "common/status/check.h"
#include "common/util/mutex.h"
#include "rampart/v1/event.pb.h"

namespace rampart::agent_store {
namespace {

// Column families. Alerts live apart from bulk telemetry so the quota can
// drop telemetry first and the shipper can send alerts ahead of a backlog;
// sequence numbers are shared, so together they are one ordered queue.
constexpr char kEventsFamily[] = "events";
constexpr char kAlertsFamily[] = "alerts";
constexpr char kMetaFamily[] = "meta";

// Meta keys.
constexpr std::string_view kLastSeqKey = "last_seq";
constexpr std::string_view kDroppedKey = "dropped";
constexpr std::string_view kCursorPrefix = "cursor/";
constexpr std::string_view kGonePrefix = "gone/";

// A value is the spool time (8 bytes, big-endian) then the serialized Event.
constexpr size_t kTimePrefix = 8;

std::string SeqKey(uint64_t seq) {
  std::string k;
  rocks::AppendBigEndian64(&k, seq);
  return k;
}

std::string Be64(uint64_t v) { return SeqKey(v); }

void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

rampart::v1::EventKind KindOf(std::string_view type, bool has_alert) {
  using K = rampart::v1::EventKind;
  if (type == "alert" || type == "yara" || type == "sigma" || type == "intel") return K::EVENT_KIND_ALERT;
  if (type == "flow" || type == "netflow") return K::EVENT_KIND_FLOW;
  if (type == "dns") return K::EVENT_KIND_DNS;
  if (type == "http") return K::EVENT_KIND_HTTP;
  if (type == "tls") return K::EVENT_KIND_TLS;
  if (type == "anomaly") return K::EVENT_KIND_ANOMALY;
  if (type == "file" || type == "fim" || type == "file_integrity") return K::EVENT_KIND_FILE;
  if (type == "process") return K::EVENT_KIND_PROCESS;
  if (type == "auth" || type == "login") return K::EVENT_KIND_AUTH;
  if (type == "stats") return K::EVENT_KIND_STATS;
  if (type == "link_probe") return K::EVENT_KIND_LINK_PROBE;
  if (type == "socket") return K::EVENT_KIND_SOCKET;
  if (type == "link") return K::EVENT_KIND_LINK_STATE;
  return has_alert ? K::EVENT_KIND_ALERT : K::EVENT_KIND_UNSPECIFIED;
}

rampart::v1::Severity SeverityOf(rampart::v1::EventKind kind, uint32_t alert_severity) {
  using S = rampart::v1::Severity;
  if (kind != rampart::v1::EVENT_KIND_ALERT) return S::SEVERITY_INFO;
  switch (alert_severity) {
    case 1: return S::SEVERITY_CRITICAL;
    case 2: return S::SEVERITY_HIGH;
    case 0:  // Suricata's default for a rule without classtype or priority is 3.
    case 3: return S::SEVERITY_MEDIUM;
    default: return S::SEVERITY_LOW;
  }
}

// Builds the spool value for one EVE record, without its sequence number
// (appended by the committer as a trailing protobuf field). false when the
// record is not a JSON object.
bool PrepareValue(std::string_view record, int64_t now_nanos, std::string* value, bool* alert) {
  EveFields f;
  if (!ParseEveFields(record, &f)) return false;
  rampart::v1::Event e;
  const rampart::v1::EventKind kind = KindOf(f.event_type, f.has_alert);
  e.set_kind(kind);
  e.set_severity(SeverityOf(kind, f.severity));
  e.set_observed_unix_nanos(f.timestamp_nanos.value_or(now_nanos));
  e.set_spooled_unix_nanos(now_nanos);
  e.set_eve_json(record.data(), record.size());
  if (!f.src_ip.empty() || !f.dest_ip.empty() || f.flow_id) {
    rampart::v1::Endpoints* ep = e.mutable_endpoints();
    ep->set_src_ip(f.src_ip);
    ep->set_src_port(f.src_port);
    ep->set_dest_ip(f.dest_ip);
    ep->set_dest_port(f.dest_port);
    ep->set_proto(f.proto);
    ep->set_flow_id(f.flow_id.value_or(0));
    ep->set_community_id(f.community_id);
    ep->set_app_proto(f.app_proto);
  }
  if (kind == rampart::v1::EVENT_KIND_ALERT) {
    rampart::v1::Alert* a = e.mutable_alert();
    a->set_source(f.event_type == "yara"    ? rampart::v1::Alert::SOURCE_YARA
                  : f.event_type == "sigma" ? rampart::v1::Alert::SOURCE_SIGMA
                  : f.event_type == "intel" ? rampart::v1::Alert::SOURCE_INTEL
                                            : rampart::v1::Alert::SOURCE_NETWORK_RULE);
    a->set_action(f.action);
    a->set_gid(f.gid);
    a->set_signature_id(f.signature_id);
    a->set_rev(f.rev);
    a->set_signature(f.signature);
    a->set_category(f.category);
    a->set_severity(f.severity);
  }
  value->clear();
  rocks::AppendBigEndian64(value, static_cast<uint64_t>(now_nanos));
  if (!e.AppendToString(value)) return false;
  *alert = kind == rampart::v1::EVENT_KIND_ALERT;
  return true;
}

struct Prepared {
  std::string value;
  bool alert = false;
};

// One Append call waiting for the committer. `done` is written and read under
// Spool::Impl::mu; the committer writes `status` and `last_seq` before it
// sets `done`, and the appender reads them only after seeing it.
struct AppendRequest {
  std::vector<Prepared> records;
  const Cursor* cursor = nullptr;
  bool done = false;
  Status status;
  uint64_t last_seq = 0;
};

}  // namespace

struct Spool::Impl {
  SpoolOptions options;
  std::unique_ptr<rocks::Database> db;
  rocksdb::ColumnFamilyHandle* events = nullptr;
  rocksdb::ColumnFamilyHandle* alerts = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;

  // Serializes writers that change the queue's content (commit, ack,
  // retention, renumber), so counters match the database. Taken before
  // state_mu, never after it.
  Mutex write_mu ACQUIRED_BEFORE(state_mu);
  int64_t last_retention_nanos GUARDED_BY(write_mu) = 0;
  uint64_t logged_dropped GUARDED_BY(write_mu) = 0;

  // Commit queue.
  Mutex mu;
  CondVar work_cv;     // Committer waits for requests.
  CondVar done_cv;     // Appenders wait for their request.
  CondVar append_cv;   // WaitForAppend.
  std::deque<AppendRequest*> queue GUARDED_BY(mu);
  bool stopping GUARDED_BY(mu) = false;
  std::thread committer;

  // Never held across a disk write by the committer, except the short
  // sections that update it.
  mutable Mutex state_mu;
  uint64_t last_seq GUARDED_BY(state_mu) = 0;
  uint64_t depth GUARDED_BY(state_mu) = 0;
  uint64_t bytes GUARDED_BY(state_mu) = 0;
  uint64_t alert_count GUARDED_BY(state_mu) = 0;
  uint64_t dropped GUARDED_BY(state_mu) = 0;
  uint64_t appended GUARDED_BY(state_mu) = 0;
  uint64_t acknowledged GUARDED_BY(state_mu) = 0;
  uint64_t rejected GUARDED_BY(state_mu) = 0;
  // first -> last, not yet told to the controller.
  std::map<uint64_t, uint64_t> gone GUARDED_BY(state_mu);

  Status Load() EXCLUDES(state_mu);
  void CommitterLoop() EXCLUDES(mu, write_mu, state_mu);
  void CommitGroup(std::vector<AppendRequest*>& group) EXCLUDES(mu, write_mu, state_mu);
  Result<uint64_t> RetentionLocked() REQUIRES(write_mu) EXCLUDES(state_mu);
  OutboxStats Stats() const EXCLUDES(state_mu);
  Status DropKeys(rocksdb::ColumnFamilyHandle* cf, uint64_t max_drop_bytes, int64_t older_than,
                  uint64_t* dropped_now, rocksdb::WriteBatch* batch, std::vector<SeqRange>* ranges,
                  uint64_t* freed);
};

Status Spool::Impl::Load() {
  // Read into locals: the scans' callbacks cannot show the analysis that
  // state_mu is held, and nothing else runs before the committer starts.
  uint64_t seq = 0, count = 0, size = 0, alerts_found = 0, dropped_total = 0;
  std::map<uint64_t, uint64_t> gone_found;
  auto last = db->Get(meta, kLastSeqKey);
  if (last.has_value() && last->size() == 8) seq = rocks::ReadBigEndian64(*last);
  auto dr = db->Get(meta, kDroppedKey);
  if (dr.has_value() && dr->size() == 8) dropped_total = rocks::ReadBigEndian64(*dr);
  for (auto [cf, is_alert] : {std::pair{events, false}, std::pair{alerts, true}}) {
    auto n = db->Scan(cf, "", "", [&](std::string_view key, std::string_view value) {
      ++count;
      size += key.size() + value.size();
      if (is_alert) ++alerts_found;
      if (key.size() == 8) seq = std::max(seq, rocks::ReadBigEndian64(key));
      return true;
    });
    if (!n.has_value()) return n.error();
  }
  std::string prefix(kGonePrefix);
  std::string end = prefix;
  end.back() = static_cast<char>(end.back() + 1);
  auto g = db->Scan(meta, prefix, end, [&](std::string_view key, std::string_view value) {
    if (key.size() == prefix.size() + 8 && value.size() == 8) {
      gone_found[rocks::ReadBigEndian64(key.substr(prefix.size()))] = rocks::ReadBigEndian64(value);
    }
    return true;
  });
  if (!g.has_value()) return g.error();
  MutexLock lock(&state_mu);
  last_seq = seq;
  depth = count;
  bytes = size;
  alert_count = alerts_found;
  dropped = dropped_total;
  gone = std::move(gone_found);
  return Status::Ok();
}

void Spool::Impl::CommitterLoop() {
  while (true) {
    std::vector<AppendRequest*> group;
    {
      MutexLock lock(&mu);
      if (queue.empty() && !stopping) work_cv.WaitFor(&mu, std::chrono::seconds(10));
      if (queue.empty() && stopping) return;
      group.assign(queue.begin(), queue.end());
      queue.clear();
    }
    if (group.empty()) {
      // Idle: apply the age limit now and then. The tick uses the real
      // monotonic clock: the injected clock only dates events (and may be a
      // test's manual clock on another thread).
      const int64_t now = rampart::MonotonicNanos();
      MutexLock w(&write_mu);
      if (now - last_retention_nanos > 60'000'000'000LL) {
        auto r = RetentionLocked();
        if (!r.has_value()) log::Warn("spool", "retention failed", {{"error", r.error()}});
        last_retention_nanos = now;
      }
      continue;
    }
    CommitGroup(group);
    {
      MutexLock lock(&mu);
      for (AppendRequest* r : group) r->done = true;
    }
    done_cv.SignalAll();
  }
}

void Spool::Impl::CommitGroup(std::vector<AppendRequest*>& group) {
  MutexLock w(&write_mu);
  uint64_t seq;
  {
    MutexLock s(&state_mu);
    seq = last_seq;
  }
  rocksdb::WriteBatch batch;
  uint64_t added_bytes = 0, added_alerts = 0, added = 0;
  std::string key;
  for (AppendRequest* r : group) {
    for (Prepared& p : r->records) {
      ++seq;
      AppendVarint(&p.value, (2 << 3) | 0);  // Event.sequence, field 2, varint.
      AppendVarint(&p.value, seq);
      key = SeqKey(seq);
      batch.Put(p.alert ? alerts : events, key, p.value);
      added_bytes += key.size() + p.value.size();
      added_alerts += p.alert ? 1 : 0;
      ++added;
    }
    r->last_seq = seq;
    if (r->cursor != nullptr) {
      batch.Put(meta, std::string(kCursorPrefix) + r->cursor->name, r->cursor->value);
    }
  }
  if (added > 0) batch.Put(meta, kLastSeqKey, Be64(seq));
  Status s = db->Write(batch, options.sync ? rocks::Durability::kSync : rocks::Durability::kProcessCrashSafe);
  if (!s.ok()) {
    s = s.WithContext("spool write");
    for (AppendRequest* r : group) r->status = s;
    return;
  }
  bool over_quota;
  {
    MutexLock st(&state_mu);
    last_seq = seq;
    depth += added;
    bytes += added_bytes;
    alert_count += added_alerts;
    appended += added;
    over_quota = bytes > options.max_bytes;
  }
  if (added > 0) {
    // Under mu, so a WaitForAppend between its check and its wait cannot
    // miss the wake-up.
    MutexLock lock(&mu);
    append_cv.SignalAll();
  }
  if (over_quota) {
    auto r = RetentionLocked();
    if (!r.has_value()) log::Warn("spool", "retention failed", {{"error", r.error()}});
  }
}

// Drops from the head of one family: entries older than `older_than`
// (spool time), then, while `max_drop_bytes` is not yet freed, the oldest.
Status Spool::Impl::DropKeys(rocksdb::ColumnFamilyHandle* cf, uint64_t max_drop_bytes,
                             int64_t older_than, uint64_t* dropped_now, rocksdb::WriteBatch* batch,
                             std::vector<SeqRange>* ranges, uint64_t* freed) {
  uint64_t freed_here = 0;
  auto n = db->Scan(cf, "", "", [&](std::string_view key, std::string_view value) {
    if (key.size() != 8 || value.size() < kTimePrefix) return true;
    const int64_t spooled = static_cast<int64_t>(rocks::ReadBigEndian64(value));
    const bool too_old = older_than > 0 && spooled < older_than;
    const bool over_quota = freed_here < max_drop_bytes;
    if (!too_old && !over_quota) return false;
    const uint64_t seq = rocks::ReadBigEndian64(key);
    batch->Delete(cf, rocksdb::Slice(key.data(), key.size()));
    freed_here += key.size() + value.size();
    ++*dropped_now;
    if (!ranges->empty() && ranges->back().last + 1 == seq) {
      ranges->back().last = seq;
    } else {
      ranges->push_back({seq, seq});
    }
    return true;
  }, 1'000'000);
  if (!n.has_value()) return n.error();
  *freed += freed_here;
  return Status::Ok();
}

Result<uint64_t> Spool::Impl::RetentionLocked() {
  uint64_t over = 0;
  uint64_t dropped_before = 0;
  {
    MutexLock st(&state_mu);
    dropped_before = dropped;
    // Free a little more than the excess, so a full spool does not run
    // retention on every append.
    if (bytes > options.max_bytes) over = bytes - options.max_bytes + options.max_bytes / 20;
  }
  const int64_t older_than =
      options.max_age.count() > 0 ? options.clock->NowNanos() - options.max_age.count() * 1'000'000'000LL : 0;
  rocksdb::WriteBatch batch;
  std::vector<SeqRange> ranges;
  uint64_t dropped_now = 0, freed = 0;
  // Telemetry first, then alerts only if that was not enough.
  RAMPART_RETURN_IF_ERROR(DropKeys(events, over, older_than, &dropped_now, &batch, &ranges, &freed));
  const uint64_t dropped_telemetry = dropped_now;
  RAMPART_RETURN_IF_ERROR(
      DropKeys(alerts, over > freed ? over - freed : 0, older_than, &dropped_now, &batch, &ranges, &freed));
  const uint64_t dropped_alerts = dropped_now - dropped_telemetry;
  if (dropped_now == 0) return uint64_t{0};
  std::sort(ranges.begin(), ranges.end(), [](const SeqRange& a, const SeqRange& b) { return a.first < b.first; });
  std::vector<SeqRange> merged;
  for (const SeqRange& r : ranges) {
    if (!merged.empty() && merged.back().last + 1 >= r.first) {
      merged.back().last = std::max(merged.back().last, r.last);
    } else {
      merged.push_back(r);
    }
  }
  std::string prefix(kGonePrefix);
  for (const SeqRange& r : merged) batch.Put(meta, prefix + Be64(r.first), Be64(r.last));
  // `dropped` changes only here, under write_mu, so dropped_before is current.
  const uint64_t dropped_total = dropped_before + dropped_now;
  batch.Put(meta, kDroppedKey, Be64(dropped_total));
  Status s = db->Write(batch, rocks::Durability::kProcessCrashSafe);
  if (!s.ok()) return s.WithContext("spool retention");
  {
    MutexLock st(&state_mu);
    alert_count -= std::min(alert_count, dropped_alerts);
    dropped = dropped_total;
    depth -= std::min(depth, dropped_now);
    bytes -= std::min(bytes, freed);
    for (const SeqRange& r : merged) gone[r.first] = r.last;
  }
  if (dropped_total - logged_dropped > 0) {
    log::Warn("spool", "dropped unacknowledged events (quota or age reached)",
              {{"dropped_now", dropped_now}, {"dropped_total", dropped_total}, {"max_bytes", options.max_bytes}});
    logged_dropped = dropped_total;
  }
  return dropped_now;
}

Spool::Spool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Spool::~Spool() {
  {
    MutexLock lock(&impl_->mu);
    impl_->stopping = true;
  }
  impl_->work_cv.SignalAll();
  impl_->append_cv.SignalAll();
  if (impl_->committer.joinable()) impl_->committer.join();
}

Result<std::unique_ptr<Spool>> Spool::Open(const SpoolOptions& options) {
  if (options.path.empty()) return InvalidArgumentError("spool path is empty");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  rocks::Options ro;
  ro.path = options.path;
  ro.column_families = {kEventsFamily, kAlertsFamily, kMetaFamily};
  ro.workload = rocks::Workload::kQueue;
  // A spool is small and short-lived: small memtables and cache keep the
  // idle agent's memory low.
  ro.block_cache_bytes = 4ull << 20;
  ro.write_buffer_bytes = 4ull << 20;
  ro.background_jobs = 1;
  ro.max_total_wal_bytes = 64ull << 20;
  RAMPART_ASSIGN_OR_RETURN(impl->db, rocks::Database::Open(ro));
  impl->events = impl->db->Family(kEventsFamily);
  impl->alerts = impl->db->Family(kAlertsFamily);
  impl->meta = impl->db->Family(kMetaFamily);
  RAMPART_RETURN_IF_ERROR(impl->Load().WithContext("cannot load spool " + options.path));
  {
    MutexLock w(&impl->write_mu);
    impl->last_retention_nanos = rampart::MonotonicNanos();
    impl->logged_dropped = impl->Stats().dropped;
    auto r = impl->RetentionLocked();
    if (!r.has_value()) return r.error();
  }
  Impl* raw = impl.get();
  impl->committer = std::thread([raw] {
    pthread_setname_np(pthread_self(), "spool-commit");
    raw->CommitterLoop();
  });
  const OutboxStats opened = impl->Stats();
  log::Info("spool", "opened", {{"path", options.path}, {"depth", opened.depth}, {"last_sequence", opened.last_sequence},
                                {"dropped_total", opened.dropped}});
  return std::unique_ptr<Spool>(new Spool(std::move(impl)));
}

Result<uint64_t> Spool::Append(std::span<const std::string_view> records, const Cursor* cursor) {
  AppendRequest req;
  req.cursor = cursor;
  req.records.reserve(records.size());
  const int64_t now = impl_->options.clock->NowNanos();
  uint64_t rejected = 0;
  for (std::string_view r : records) {
    Prepared p;
    if (PrepareValue(r, now, &p.value, &p.alert)) {
      req.records.push_back(std::move(p));
    } else {
      ++rejected;
    }
  }
  if (rejected > 0) {
    MutexLock st(&impl_->state_mu);
    impl_->rejected += rejected;
  }
  if (req.records.empty() && cursor == nullptr) {
    MutexLock st(&impl_->state_mu);
    return impl_->last_seq;
  }
  MutexLock lock(&impl_->mu);
  if (impl_->stopping) return UnavailableError("spool is closing");
  impl_->queue.push_back(&req);
  impl_->work_cv.Signal();
  while (!req.done) impl_->done_cv.Wait(&impl_->mu);
  if (!req.status.ok()) return req.status;
  return req.last_seq;
}

Result<std::optional<std::string>> Spool::GetCursor(std::string_view name) const {
  auto v = impl_->db->Get(impl_->meta, std::string(kCursorPrefix) + std::string(name));
  if (v.has_value()) return std::optional<std::string>(std::move(*v));
  if (v.error().code() == StatusCode::kNotFound) return std::optional<std::string>();
  return v.error();
}

Result<size_t> Spool::Read(Lane lane, uint64_t after, size_t max_events, size_t max_bytes,
                           std::vector<OutboxEntry>* out) {
  if (max_events == 0) return size_t{0};
  const std::string begin = SeqKey(after + 1);
  std::vector<OutboxEntry> found;
  auto collect = [&](rocksdb::ColumnFamilyHandle* cf, bool alert) -> Status {
    size_t bytes = 0;
    auto n = impl_->db->Scan(cf, begin, "", [&](std::string_view key, std::string_view value) {
      if (key.size() != 8 || value.size() < kTimePrefix) return true;
      OutboxEntry e;
      e.sequence = rocks::ReadBigEndian64(key);
      e.alert = alert;
      e.event.assign(value.substr(kTimePrefix));
      bytes += e.event.size();
      found.push_back(std::move(e));
      return bytes < max_bytes;
    }, max_events);
    return n.has_value() ? Status::Ok() : n.error();
  };
  RAMPART_RETURN_IF_ERROR(collect(impl_->alerts, true));
  if (lane == Lane::kAll) RAMPART_RETURN_IF_ERROR(collect(impl_->events, false));
  std::sort(found.begin(), found.end(),
            [](const OutboxEntry& a, const OutboxEntry& b) { return a.sequence < b.sequence; });
  size_t added = 0, bytes = 0;
  for (OutboxEntry& e : found) {
    if (added >= max_events || (added > 0 && bytes + e.event.size() > max_bytes)) break;
    bytes += e.event.size();
    out->push_back(std::move(e));
    ++added;
  }
  return added;
}

Status Spool::Ack(std::span<const SeqRange> ranges) {
  if (ranges.empty()) return Status::Ok();
  MutexLock w(&impl_->write_mu);
  rocksdb::WriteBatch batch;
  uint64_t removed = 0, removed_bytes = 0, removed_alerts = 0;
  for (const SeqRange& r : ranges) {
    if (r.last < r.first) continue;
    const std::string begin = SeqKey(r.first);
    const std::string end = r.last == UINT64_MAX ? std::string() : SeqKey(r.last + 1);
    for (auto [cf, is_alert] : {std::pair{impl_->events, false}, std::pair{impl_->alerts, true}}) {
      auto n = impl_->db->Scan(cf, begin, end, [&](std::string_view key, std::string_view value) {
        batch.Delete(cf, rocksdb::Slice(key.data(), key.size()));
        ++removed;
        removed_bytes += key.size() + value.size();
        if (is_alert) ++removed_alerts;
        return true;
      });
      if (!n.has_value()) return n.error();
    }
  }
  // Gone ranges the controller has now accounted for.
  std::vector<uint64_t> gone_done;
  {
    MutexLock st(&impl_->state_mu);
    for (const auto& [first, last] : impl_->gone) {
      for (const SeqRange& r : ranges) {
        if (r.first <= first && last <= r.last) {
          gone_done.push_back(first);
          break;
        }
      }
    }
  }
  const std::string prefix(kGonePrefix);
  for (uint64_t first : gone_done) batch.Delete(impl_->meta, prefix + Be64(first));
  if (removed == 0 && gone_done.empty()) return Status::Ok();
  // An ack that is lost in a crash only means the controller sees the
  // events again and drops them as duplicates: no fsync needed.
  RAMPART_RETURN_IF_ERROR(impl_->db->Write(batch, rocks::Durability::kProcessCrashSafe).WithContext("spool ack"));
  MutexLock st(&impl_->state_mu);
  impl_->depth -= std::min(impl_->depth, removed);
  impl_->bytes -= std::min(impl_->bytes, removed_bytes);
  impl_->alert_count -= std::min(impl_->alert_count, removed_alerts);
  impl_->acknowledged += removed;
  for (uint64_t first : gone_done) impl_->gone.erase(first);
  return Status::Ok();
}

std::vector<SeqRange> Spool::Gone() {
  MutexLock st(&impl_->state_mu);
  std::vector<SeqRange> out;
  for (const auto& [first, last] : impl_->gone) out.push_back({first, last});
  return out;
}

bool Spool::WaitForAppend(uint64_t after, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock lock(&impl_->mu);
  while (!impl_->stopping) {
    {
      MutexLock st(&impl_->state_mu);
      if (impl_->last_seq > after) return true;
    }
    if (!impl_->append_cv.WaitUntil(&impl_->mu, deadline)) {
      MutexLock st(&impl_->state_mu);
      return impl_->last_seq > after && !impl_->stopping;
    }
  }
  return false;
}

Status Spool::Renumber(uint64_t next) {
  MutexLock w(&impl_->write_mu);
  uint64_t last;
  {
    MutexLock st(&impl_->state_mu);
    last = impl_->last_seq;
  }
  if (next <= last) return Status::Ok();  // Nothing overlaps what the controller holds.
  // Old sequences are all below `next`, so rewriting oldest first, in
  // chunks, never collides with a key still to be moved.
  uint64_t seq = next - 1;
  while (true) {
    std::vector<std::pair<std::string, std::pair<bool, std::string>>> chunk;  // old key -> (alert, value)
    for (auto [cf, is_alert] : {std::pair{impl_->events, false}, std::pair{impl_->alerts, true}}) {
      auto n = impl_->db->Scan(cf, "", SeqKey(next), [&](std::string_view key, std::string_view value) {
        chunk.push_back({std::string(key), {is_alert, std::string(value)}});
        return true;
      }, 10000);
      if (!n.has_value()) return n.error();
    }
    if (chunk.empty()) break;
    std::sort(chunk.begin(), chunk.end());
    rocksdb::WriteBatch batch;
    for (auto& [old_key, av] : chunk) {
      auto& [is_alert, value] = av;
      rocksdb::ColumnFamilyHandle* cf = is_alert ? impl_->alerts : impl_->events;
      ++seq;
      // The trailing sequence field overrides the old one when parsed.
      AppendVarint(&value, (2 << 3) | 0);
      AppendVarint(&value, seq);
      batch.Delete(cf, old_key);
      batch.Put(cf, SeqKey(seq), value);
    }
    batch.Put(impl_->meta, kLastSeqKey, Be64(seq));
    RAMPART_RETURN_IF_ERROR(impl_->db->Write(batch, rocks::Durability::kSync).WithContext("spool renumber"));
    MutexLock st(&impl_->state_mu);
    impl_->last_seq = std::max(impl_->last_seq, seq);
  }
  {
    rocksdb::WriteBatch batch;
    batch.Put(impl_->meta, kLastSeqKey, Be64(std::max(seq, next - 1)));
    // Ranges reported gone lie below `next` too: the controller has them.
    const std::string prefix(kGonePrefix);
    MutexLock st0(&impl_->state_mu);
    for (const auto& range : impl_->gone) batch.Delete(impl_->meta, prefix + Be64(range.first));
    RAMPART_RETURN_IF_ERROR(impl_->db->Write(batch, rocks::Durability::kSync).WithContext("spool renumber"));
    impl_->last_seq = std::max(seq, next - 1);
    impl_->gone.clear();
  }
  log::Warn("spool", "renumbered after the controller reported a spool reset", {{"next", next}});
  return Status::Ok();
}

OutboxStats Spool::Stats() const { return impl_->Stats(); }

OutboxStats Spool::Impl::Stats() const {
  MutexLock st(&state_mu);
  OutboxStats s;
  s.depth = depth;
  s.bytes = bytes;
  s.alerts = alert_count;
  s.last_sequence = last_seq;
  s.appended = appended;
  s.acknowledged = acknowledged;
  s.dropped = dropped;
  s.rejected = rejected;
  return s;
}

Result<uint64_t> Spool::EnforceRetention() {
  MutexLock w(&impl_->write_mu);
  return impl_->RetentionLocked();
}

}  // namespace rampart::agent_store
