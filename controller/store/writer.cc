// controller/store: the group-commit writer (EventWriter) and link changes.
//
// A group commit, on the shard's writer thread: each batch is prepared
// (its source resolved, its events checked against the agent's ingest state
// and turned into rows in the shard's flat buffers), the rows are sorted and
// put into one RocksDB write, the write is made (fsynced), and then the
// group is completed: states and the signature catalogue updated,
// subscribers called, and each batch's `done`.

#include <algorithm>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/eve/eve.h"
#include "common/eve/json_writer.h"
#include "common/log/log.h"
#include "common/util/clock.h"
#include "controller/store/store_impl.h"
#include "rampart/v1/event.pb.h"

namespace rampart::controller_store::detail {
namespace {

std::string GoneKey(uint32_t num, uint64_t first) {
  std::string k = IngestKey(num);
  k.push_back('g');
  rocks::AppendBigEndian64(&k, first);
  return k;
}

std::string IngestValue(const IngestState& s) {
  std::string v;
  rocks::AppendBigEndian64(&v, s.through);
  rocks::AppendBigEndian64(&v, s.stored);
  rocks::AppendBigEndian64(&v, s.lost);
  return v;
}

std::vector<SequenceRange> Merge(std::vector<uint64_t>& seqs, const std::vector<SequenceRange>& extra) {
  std::vector<SequenceRange> ranges;
  ranges.reserve(extra.size() + 4);
  std::sort(seqs.begin(), seqs.end());
  for (uint64_t s : seqs) {
    if (!ranges.empty() && ranges.back().last + 1 >= s) {
      ranges.back().last = std::max(ranges.back().last, s);
    } else {
      ranges.push_back({s, s});
    }
  }
  ranges.insert(ranges.end(), extra.begin(), extra.end());
  std::sort(ranges.begin(), ranges.end(),
            [](const SequenceRange& a, const SequenceRange& b) { return a.first < b.first; });
  std::vector<SequenceRange> out;
  for (const SequenceRange& r : ranges) {
    if (!out.empty() && (out.back().last == UINT64_MAX || out.back().last + 1 >= r.first)) {
      out.back().last = std::max(out.back().last, r.last);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

}  // namespace

Summary SummaryOfEvent(const rampart::v1::Event& e, uint32_t site_num) {
  Summary s;
  s.kind = static_cast<uint8_t>(e.kind() >= 0 && e.kind() < 256 ? e.kind() : 0);
  s.severity = static_cast<uint8_t>(e.severity() >= 0 && e.severity() < 256 ? e.severity() : 0);
  s.site = site_num;
  s.stored_nanos = e.stored_unix_nanos();
  if (e.has_endpoints()) {
    const rampart::v1::Endpoints& ep = e.endpoints();
    s.src = ParseAddress(ep.src_ip());
    s.dest = ParseAddress(ep.dest_ip());
    s.src_port = static_cast<uint16_t>(ep.src_port() <= 65535 ? ep.src_port() : 0);
    s.dest_port = static_cast<uint16_t>(ep.dest_port() <= 65535 ? ep.dest_port() : 0);
    s.proto = ProtoNumber(ep.proto());
  }
  if (e.kind() == rampart::v1::EVENT_KIND_ALERT && e.has_alert()) s.signature_id = e.alert().signature_id();
  return s;
}

// --- Queue ----------------------------------------------------------------------

StoreImpl::WriterShard& StoreImpl::ShardOf(std::string_view agent_id) {
  return *shards_[std::hash<std::string_view>{}(agent_id) % shards_.size()];
}

uint64_t StoreImpl::Submit(IngestBatch batch) {
  const uint64_t n = static_cast<uint64_t>(batch.events().events_size());
  WriterShard& shard = ShardOf(batch.agent_id);
  uint64_t queued;
  {
    MutexLock lock(&shard.mu);
    if (shard.stopping) {
      auto done = std::move(batch.done);
      if (done) done(UnavailableError("the store is closing"));
      return queued_events_.load();
    }
    shard.queue.push_back(std::move(batch));
    queued = queued_events_.fetch_add(n) + n;
  }
  shard.queue_cv.Signal();
  return queued;
}

void StoreImpl::Drain() {
  for (auto& shard : shards_) {
    MutexLock lock(&shard->mu);
    while (!shard->queue.empty() || shard->writing) shard->drained_cv.Wait(&shard->mu);
  }
}

EventWriter::Counters StoreImpl::counters() const {
  MutexLock lock(&counters_mu_);
  Counters c = counters_;
  c.queued_events = queued_events_.load();
  return c;
}

void StoreImpl::WriterLoop(WriterShard& shard) {
  MutexLock lock(&shard.mu);
  while (true) {
    while (!shard.stopping && shard.queue.empty()) shard.queue_cv.Wait(&shard.mu);
    if (shard.queue.empty()) break;  // Stopping, and everything queued is written.
    std::deque<IngestBatch> group;
    size_t events = 0;
    while (!shard.queue.empty() && (group.empty() || events < options_.max_group_events)) {
      events += static_cast<size_t>(shard.queue.front().events().events_size());
      group.push_back(std::move(shard.queue.front()));
      shard.queue.pop_front();
    }
    shard.writing = true;
    shard.mu.Unlock();
    CommitGroup(shard, group);
    queued_events_.fetch_sub(events);
    shard.mu.Lock();
    shard.writing = false;
    shard.drained_cv.SignalAll();
  }
}

// --- Group commit ---------------------------------------------------------------

// One batch of a group commit.
struct StoreImpl::Pending {
  IngestBatch* batch = nullptr;
  uint32_t num = 0;
  Status error;
  IngestResult result;
  std::vector<uint64_t> seqs;
};

// A group commit's working state.
struct StoreImpl::Group {
  int64_t now = 0;
  bool want_notify = false;  // Whether anyone subscribed: records for them are built only then.
  std::vector<Pending> pending;
  // The group's agents' ingest states, applied to states_ after the write.
  std::unordered_map<uint32_t, IngestState> scratch;
  // The group's alerts per signature, with the newest metadata seen.
  std::unordered_map<uint64_t, SignatureInfo> sig_updates;
  std::vector<EventRecord> notify;
  Counters delta;
  IndexKey keys[kMaxIndexKeys];  // One event's index keys.
};

void StoreImpl::CommitGroup(WriterShard& shard, std::deque<IngestBatch>& batches) {
  Group g;
  g.now = options_.clock->NowNanos();
  g.want_notify = subs_->event_count.load() > 0;
  g.pending.resize(batches.size());
  // Writes are gathered and applied in key order: RocksDB's memtable keeps a
  // splice of the previous insert, so neighbouring keys cost a few
  // comparisons instead of a full skiplist search each (half of the
  // writer's CPU before, with events' index keys scattered). Values and
  // summaries go to flat buffers and keys to fixed-size rows: no allocation
  // per key or value, and the sort moves small rows, not strings.
  constexpr size_t kKeepBytes = 96u << 20;  // A bigger group's buffers are not kept.
  if (shard.batch.Data().capacity() > kKeepBytes) shard.batch = rocksdb::WriteBatch();
  if (shard.values.capacity() > kKeepBytes) std::string().swap(shard.values);
  shard.batch.Clear();
  shard.values.clear();
  shard.summaries.clear();
  shard.rows.clear();
  shard.index.clear();
  for (size_t i = 0; i < batches.size(); ++i) {
    g.pending[i].batch = &batches[i];
    PrepareBatch(shard, g, g.pending[i]);
  }
  FillWriteBatch(shard, g);
  rocksdb::WriteBatch& wb = shard.batch;
  Status s = wb.Count() == 0 ? Status::Ok()
                             : db_->Write(wb, options_.sync ? rocks::Durability::kSync
                                                            : rocks::Durability::kProcessCrashSafe);
  if (!s.ok()) {
    log::Error("store", "group commit failed; batches not acknowledged", {{"error", s}});
    for (Pending& p : g.pending) {
      if (p.batch->done) p.batch->done(s.WithContext("store write"));
    }
    return;
  }
  Complete(shard, g, wb);
}

void StoreImpl::PrepareBatch(WriterShard& shard, Group& g, Pending& p) {
  IngestBatch& b = *p.batch;
  std::optional<registry::Registry::Source> source = registry_->FindSource(b.agent_id);
  // Only enrolled agents send events, and the controller its own.
  if (source && !source->enrolled && b.agent_id != kControllerSource) source.reset();
  if (!source) {
    p.error = NotFoundError("agent '" + b.agent_id + "' is not enrolled");
    return;
  }
  p.num = source->number;
  auto sit = g.scratch.find(p.num);
  if (sit == g.scratch.end()) {
    MutexLock lock(&states_mu_);
    auto st = StateLocked(p.num);
    if (!st.has_value()) {
      p.error = st.error();
      return;
    }
    sit = g.scratch.emplace(p.num, **st).first;
  }
  IngestState& st = sit->second;
  ++g.delta.batches;
  for (rampart::v1::Event& e : *b.events().mutable_events()) {
    const uint64_t seq = e.sequence();
    if (seq == 0 || e.eve_json().empty()) {
      ++p.result.rejected;
      continue;
    }
    p.seqs.push_back(seq);
    if (st.Contains(seq)) {
      ++p.result.duplicates;
      continue;
    }
    PrepareEvent(shard, g, p, st, e, *source);
  }
  for (const SequenceRange& gone : b.gone) {
    if (gone.first == 0 || gone.last < gone.first) continue;
    const uint64_t added = st.Add(gone.first, gone.last);
    st.lost += added;
    if (added > 0) {
      std::string last;
      rocks::AppendBigEndian64(&last, gone.last);
      shard.batch.Put(ingest_cf_, GoneKey(p.num, gone.first), last);
    }
  }
  p.result.accounted = Merge(p.seqs, b.gone);
  g.delta.stored += p.result.stored;
  g.delta.duplicates += p.result.duplicates;
  g.delta.rejected += p.result.rejected;
}

void StoreImpl::PrepareEvent(WriterShard& shard, Group& g, Pending& p, IngestState& st, rampart::v1::Event& e,
                             const registry::Registry::Source& source) {
  const uint64_t seq = e.sequence();
  // The key holds the agent (its number; readers map it back to the
  // id), so the value does not repeat it, whatever the message said.
  e.clear_agent_id();
  uint32_t ev_site = source.site_number;
  if (!source.enrolled) {
    ev_site = registry_->SiteNumber(e.site());  // The controller's events name their site.
  } else {
    e.set_site(source.site);
  }
  e.set_stored_unix_nanos(g.now);
  Summary s = SummaryOfEvent(e, ev_site);
  WriteRow& row = shard.rows.emplace_back();
  row.num = p.num;
  row.seq = seq;
  row.value_offset = shard.values.size();
  e.AppendToString(&shard.values);
  row.value_size = shard.values.size() - row.value_offset;
  const auto summary_offset = static_cast<uint32_t>(shard.summaries.size());
  AppendSummary(&shard.summaries, s);
  const auto summary_size = static_cast<uint32_t>(shard.summaries.size() - summary_offset);
  const size_t nkeys = MakeIndexKeys(s, e.observed_unix_nanos(), p.num, seq, g.keys);
  for (size_t k = 0; k < nkeys; ++k) shard.index.push_back({g.keys[k], summary_offset, summary_size});
  st.Add(seq, seq);
  ++st.stored;
  ++p.result.stored;
  if (e.kind() == rampart::v1::EVENT_KIND_ALERT && e.has_alert()) {
    const rampart::v1::Alert& al = e.alert();
    // `alerts` counts this group's alerts; the metadata is the newest seen.
    auto [u, fresh] = g.sig_updates.try_emplace(al.signature_id());
    if (fresh) {
      ReaderLock lock(&catalogue_mu_);
      auto old = signatures_.find(al.signature_id());
      if (old != signatures_.end()) {
        u->second = old->second;
        u->second.alerts = 0;
      }
    }
    ++u->second.alerts;
    if (!al.signature().empty()) u->second.signature = al.signature();
    if (!al.category().empty()) u->second.category = al.category();
    if (al.gid() != 0) u->second.gid = al.gid();
    if (al.rev() != 0) u->second.rev = al.rev();
  }
  if (g.want_notify) {
    EventRecord r;
    r.summary = ToSummary(s, Position{e.observed_unix_nanos(), p.num, seq});
    r.summary.stored_unix_nanos = g.now;
    if (e.has_alert()) {  // The catalogue learns new signatures only after the write.
      r.summary.signature = e.alert().signature();
      r.summary.category = e.alert().category();
      r.summary.gid = e.alert().gid();
      r.summary.rev = e.alert().rev();
    }
    r.eve_json = e.eve_json();
    g.notify.push_back(std::move(r));
  }
}

void StoreImpl::FillWriteBatch(WriterShard& shard, Group& g) {
  rocksdb::WriteBatch& wb = shard.batch;
  std::sort(shard.rows.begin(), shard.rows.end(), [](const WriteRow& a, const WriteRow& b) {
    return a.num != b.num ? a.num < b.num : a.seq < b.seq;
  });
  std::sort(shard.index.begin(), shard.index.end(),
            [](const IndexRow& a, const IndexRow& b) { return a.key.view() < b.key.view(); });
  char event_key[12];
  for (const WriteRow& r : shard.rows) {
    for (int i = 0; i < 4; ++i) event_key[i] = static_cast<char>(r.num >> (24 - 8 * i));
    for (int i = 0; i < 8; ++i) event_key[4 + i] = static_cast<char>(r.seq >> (56 - 8 * i));
    wb.Put(events_, rocksdb::Slice(event_key, sizeof(event_key)),
           rocksdb::Slice(shard.values.data() + r.value_offset, r.value_size));
  }
  for (const IndexRow& r : shard.index) {
    wb.Put(idx_, rocksdb::Slice(r.key.bytes.data(), r.key.size),
           rocksdb::Slice(shard.summaries.data() + r.summary_offset, r.summary_size));
  }
  for (const auto& [num, st] : g.scratch) wb.Put(ingest_cf_, IngestKey(num), IngestValue(st));
  for (const auto& [sid, info] : g.sig_updates) {
    std::string key;
    rocks::AppendBigEndian64(&key, sid);
    key.push_back(static_cast<char>(shard.number));
    const uint64_t shard_alerts = shard.signature_alerts[sid] + info.alerts;
    nlohmann::json j = {{"signature", info.signature}, {"category", info.category}, {"gid", info.gid},
                        {"rev", info.rev},             {"alerts", shard_alerts}};
    wb.Put(sigs_, key, j.dump());
  }
}

void StoreImpl::Complete(WriterShard& shard, Group& g, const rocksdb::WriteBatch& written) {
  {
    MutexLock lock(&states_mu_);
    for (auto& [num, st] : g.scratch) states_[num] = std::move(st);
  }
  if (!g.sig_updates.empty()) {
    for (const auto& [sid, info] : g.sig_updates) shard.signature_alerts[sid] += info.alerts;
    WriterLock lock(&catalogue_mu_);
    for (auto& [sid, info] : g.sig_updates) {
      SignatureInfo& total = signatures_[sid];
      total.alerts += info.alerts;
      total.signature = std::move(info.signature);
      total.category = std::move(info.category);
      total.gid = info.gid;
      total.rev = info.rev;
    }
  }
  {
    MutexLock lock(&counters_mu_);
    counters_.batches += g.delta.batches;
    counters_.commits += written.Count() > 0 ? 1 : 0;
    counters_.stored += g.delta.stored;
    counters_.duplicates += g.delta.duplicates;
    counters_.rejected += g.delta.rejected;
  }
  // Subscribers first: an agent is acknowledged only after they saw its alerts.
  if (!g.notify.empty()) Notify(g.notify);
  for (Pending& p : g.pending) {
    if (!p.batch->done) continue;
    if (!p.error.ok()) {
      p.batch->done(p.error);
      continue;
    }
    {
      MutexLock lock(&states_mu_);
      p.result.stored_through = states_[p.num].through;
    }
    p.batch->done(std::move(p.result));
  }
}

// --- Link changes ---------------------------------------------------------------

namespace {

// The controller's event for a link or agent state change.
void FillLinkChangeEvent(const LinkChange& change, uint64_t seq, rampart::v1::Event* e) {
  const bool agent_change = !change.agent_id.empty();
  const std::string from(agent_change ? registry::AgentStateName(change.from_agent)
                                      : registry::LinkStateName(change.from_link));
  const std::string to(agent_change ? registry::AgentStateName(change.to_agent)
                                    : registry::LinkStateName(change.to_link));
  std::string line;
  eve::JsonWriter w(&line);
  eve::EveHeader h;
  h.timestamp_nanos = change.at_unix_nanos;
  h.event_type = "link";
  eve::BeginEveRecord(w, h);
  w.BeginObject("link");
  w.String("site", change.site);
  if (agent_change) w.String("agent_id", change.agent_id);
  w.String("from", from);
  w.String("to", to);
  w.String("reason", change.reason);
  w.Double("rtt_ms", change.metrics.rtt_ms);
  w.Double("jitter_ms", change.metrics.jitter_ms);
  w.Double("loss_ratio", change.metrics.loss_ratio);
  w.EndObject();
  w.EndObject();

  e->set_sequence(seq);
  e->set_observed_unix_nanos(change.at_unix_nanos);
  e->set_spooled_unix_nanos(change.at_unix_nanos);
  e->set_kind(rampart::v1::EVENT_KIND_LINK_STATE);
  const bool bad = agent_change ? change.to_agent == registry::AgentState::kDown ||
                                      change.to_agent == registry::AgentState::kUnreachable
                                : change.to_link == registry::LinkState::kDown;
  const bool worse = !agent_change && change.to_link == registry::LinkState::kDegraded;
  e->set_severity(bad ? rampart::v1::SEVERITY_HIGH : worse ? rampart::v1::SEVERITY_MEDIUM : rampart::v1::SEVERITY_INFO);
  e->set_site(change.site);
  e->set_eve_json(line);
  rampart::v1::LinkStateChange* l = e->mutable_link_state();
  l->set_site(change.site);
  l->set_agent_id(change.agent_id);
  l->set_from(from);
  l->set_to(to);
  l->set_reason(change.reason);
  l->set_rtt_ms(change.metrics.rtt_ms);
  l->set_jitter_ms(change.metrics.jitter_ms);
  l->set_loss_ratio(change.metrics.loss_ratio);
}

}  // namespace

Status StoreImpl::RecordLinkChange(LinkChange& change) {
  MutexLock serial(&link_change_mu_);
  RAMPART_ASSIGN_OR_RETURN(const uint32_t num, registry_->NumberSource(kControllerSource));
  uint64_t seq;
  {
    MutexLock lock(&states_mu_);
    RAMPART_ASSIGN_OR_RETURN(IngestState * st, StateLocked(num));
    seq = st->above.empty() ? st->through + 1 : st->above.rbegin()->second + 1;
  }
  IngestBatch b;
  b.agent_id = std::string(kControllerSource);
  FillLinkChangeEvent(change, seq, b.batch.add_events());
  // The promise lives in the callback: set_value may still be running on the
  // writer thread when get() returns here.
  auto done = std::make_shared<std::promise<Result<IngestResult>>>();
  auto future = done->get_future();
  b.done = [done](Result<IngestResult> r) { done->set_value(std::move(r)); };
  Submit(std::move(b));
  Result<IngestResult> r = future.get();
  if (!r.has_value()) return r.error();
  change.event = EventId{std::string(kControllerSource), seq};
  MutexLock lock(&subs_->links_mu);
  for (const LinkSubscriber& s : subs_->links) s.callback(change);
  return Status::Ok();
}

}  // namespace rampart::controller_store::detail
