// controller/store: retention. Events older than Options::retention (alerts:
// alert_retention) go with every index row of theirs, found through the
// indexes ordered by time: the kinds with their own index through K rows,
// bulk telemetry through the sites' S rows. Rows of the old layout go too.

#include <functional>

#include "common/log/log.h"
#include "controller/store/store_impl.h"

namespace rampart::controller_store::detail {
namespace {

// What a sweep does with one index row it passes.
enum class Sweep {
  kKeep,     // Leave it (and its event).
  kEvent,    // Delete the event and every index row of it.
  kRowOnly,  // Delete this row only (old layout rows that name no live event).
};

constexpr uint64_t kSweepBatchRows = 10000;

}  // namespace

Result<uint64_t> StoreImpl::RunRetention() {
  const int64_t now = options_.clock->NowNanos();
  auto cutoff = [&](std::chrono::hours h) -> int64_t {
    return h.count() == 0 ? INT64_MIN : now - h.count() * 3600 * kSecond;
  };
  const int64_t event_cutoff = cutoff(options_.retention);
  const int64_t alert_cutoff = options_.alert_retention.count() == 0 ? event_cutoff : cutoff(options_.alert_retention);
  uint64_t deleted = 0;
  // Deletes what `range` holds before `end` in batches of 10,000 rows: each
  // row `take` keeps is passed over, each it takes goes with its event and
  // every index row of it (and the scanned row itself, for rows of the old
  // layout that IndexKeys no longer names).
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
      }, kSweepBatchRows);
      if (!n.has_value()) return n.error();
      if (batch.Count() > 0) RAMPART_RETURN_IF_ERROR(db_->Write(batch, rocks::Durability::kProcessCrashSafe));
      deleted += events_in_batch;
      if (*n < kSweepBatchRows) return Status::Ok();
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
    std::vector<uint32_t> sites = registry_->SiteNumbers();
    sites.insert(sites.begin(), 0);
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
  if (deleted > 0) log::Info("store", "retention deleted old events", {{"events", deleted}});
  return deleted;
}

bool StoreImpl::WaitForRetention() {
  MutexLock lock(&retention_mu_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
  while (!retention_stop_ && retention_cv_.WaitUntil(&retention_mu_, deadline)) {
  }
  return !retention_stop_;
}

void StoreImpl::RetentionLoop() {
  while (WaitForRetention()) {
    auto r = RunRetention();
    if (!r.has_value()) log::Warn("store", "retention failed", {{"error", r.error()}});
  }
}

}  // namespace rampart::controller_store::detail
