// controller/store: the group-commit writer (EventWriter) and link changes.

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

constexpr std::string_view kControllerAgent = "controller";

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

std::string IngestKey(uint32_t agent_num) {
  std::string k;
  AppendU32(&k, agent_num);
  return k;
}

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

Result<IngestState*> StoreImpl::StateLocked(uint32_t num) {
  auto it = states_.find(num);
  if (it != states_.end()) return &it->second;
  IngestState st;
  st.num = num;
  auto v = db_->Get(ingest_cf_, IngestKey(num));
  if (v.has_value() && v->size() == 24) {
    st.through = rocks::ReadBigEndian64(*v);
    st.stored = rocks::ReadBigEndian64(v->substr(8));
    st.lost = rocks::ReadBigEndian64(v->substr(16));
  } else if (!v.has_value() && v.error().code() != StatusCode::kNotFound) {
    return v.error();
  }
  // Events stored above the watermark (alerts sent ahead of a backlog).
  const std::string begin = EventKey(num, st.through + 1);
  const std::string end = EventKey(num + 1, 0);
  uint64_t run_first = 0, run_last = 0;
  auto n = db_->Scan(events_, begin, end, [&](std::string_view key, std::string_view) {
    if (key.size() != 12) return true;
    const uint64_t seq = rocks::ReadBigEndian64(key.substr(4));
    if (run_first != 0 && seq == run_last + 1) {
      run_last = seq;
    } else {
      if (run_first != 0) st.Add(run_first, run_last);
      run_first = run_last = seq;
    }
    return true;
  });
  if (!n.has_value()) return n.error();
  if (run_first != 0) st.Add(run_first, run_last);
  // Ranges the agent reported gone.
  std::string gone_begin = IngestKey(num);
  gone_begin.push_back('g');
  std::string gone_end = IngestKey(num);
  gone_end.push_back('h');
  auto g = db_->Scan(ingest_cf_, gone_begin, gone_end, [&](std::string_view key, std::string_view value) {
    if (key.size() == 13 && value.size() == 8) {
      st.Add(rocks::ReadBigEndian64(key.substr(5)), rocks::ReadBigEndian64(value));
    }
    return true;
  });
  if (!g.has_value()) return g.error();
  return &(states_[num] = std::move(st));
}

Result<AgentResume> StoreImpl::OpenAgent(const std::string& agent_id, uint64_t last_sequence) {
  uint32_t num;
  {
    std::shared_lock lock(meta_mu_);
    auto it = agents_.find(agent_id);
    if (it == agents_.end()) return NotFoundError("agent '" + agent_id + "' is not enrolled");
    num = it->second.num;
  }
  std::lock_guard lock(states_mu_);
  RAMPART_ASSIGN_OR_RETURN(IngestState * st, StateLocked(num));
  AgentResume r;
  r.stored_through = st->through;
  r.sequence_reset = last_sequence < st->through;
  return r;
}

StoreImpl::WriterShard& StoreImpl::ShardOf(std::string_view agent_id) {
  return *shards_[std::hash<std::string_view>{}(agent_id) % shards_.size()];
}

uint64_t StoreImpl::Submit(IngestBatch batch) {
  const uint64_t n = static_cast<uint64_t>(batch.events().events_size());
  WriterShard& shard = ShardOf(batch.agent_id);
  uint64_t queued;
  {
    std::lock_guard lock(shard.mu);
    if (shard.stopping) {
      auto done = std::move(batch.done);
      if (done) done(UnavailableError("the store is closing"));
      return queued_events_.load();
    }
    shard.queue.push_back(std::move(batch));
    queued = queued_events_.fetch_add(n) + n;
  }
  shard.queue_cv.notify_one();
  return queued;
}

void StoreImpl::Drain() {
  for (auto& shard : shards_) {
    std::unique_lock lock(shard->mu);
    shard->drained_cv.wait(lock, [&] { return shard->queue.empty() && !shard->writing; });
  }
}

EventWriter::Counters StoreImpl::counters() const {
  std::lock_guard lock(counters_mu_);
  Counters c = counters_;
  c.queued_events = queued_events_.load();
  return c;
}

void StoreImpl::WriterLoop(WriterShard& shard) {
  std::unique_lock lock(shard.mu);
  while (true) {
    shard.queue_cv.wait(lock, [&] { return shard.stopping || !shard.queue.empty(); });
    if (shard.queue.empty()) {
      if (shard.stopping) break;
      continue;
    }
    std::deque<IngestBatch> group;
    size_t events = 0;
    while (!shard.queue.empty() && (group.empty() || events < options_.max_group_events)) {
      events += static_cast<size_t>(shard.queue.front().events().events_size());
      group.push_back(std::move(shard.queue.front()));
      shard.queue.pop_front();
    }
    shard.writing = true;
    lock.unlock();
    CommitGroup(shard, group);
    queued_events_.fetch_sub(events);
    lock.lock();
    shard.writing = false;
    shard.drained_cv.notify_all();
  }
}

void StoreImpl::CommitGroup(WriterShard& shard, std::deque<IngestBatch>& group) {
  const int64_t now = options_.clock->NowNanos();
  struct Pending {
    IngestBatch* batch = nullptr;
    uint32_t num = 0;
    Status error;
    IngestResult result;
    std::vector<uint64_t> seqs;
  };
  std::vector<Pending> pending(group.size());
  std::unordered_map<uint32_t, IngestState> scratch;
  std::unordered_map<uint64_t, SignatureInfo> sig_updates;
  std::vector<EventRecord> notify;
  const bool want_notify = subs_->event_count.load() > 0;
  Counters delta;
  // Writes are gathered and applied in key order: RocksDB's memtable keeps a
  // splice of the previous insert, so neighbouring keys cost a few
  // comparisons instead of a full skiplist search each (half of the
  // writer's CPU before, with events' index keys scattered). Values and
  // summaries go to flat buffers and keys to fixed-size rows: no allocation
  // per key or value, and the sort moves small rows, not strings.
  constexpr size_t kKeepBytes = 96u << 20;  // A bigger group's buffers are not kept.
  if (shard.batch.Data().capacity() > kKeepBytes) shard.batch = rocksdb::WriteBatch();
  if (shard.values.capacity() > kKeepBytes) std::string().swap(shard.values);
  rocksdb::WriteBatch& wb = shard.batch;
  wb.Clear();
  shard.values.clear();
  shard.summaries.clear();
  shard.rows.clear();
  shard.index.clear();
  IndexKey keys[kMaxIndexKeys];

  for (size_t i = 0; i < group.size(); ++i) {
    Pending& p = pending[i];
    p.batch = &group[i];
    IngestBatch& b = group[i];
    std::string site_name;
    uint32_t site_num = 0;
    std::string agent_name;
    bool controller = false;
    {
      std::shared_lock meta(meta_mu_);
      auto a = agents_.find(b.agent_id);
      if (a != agents_.end()) {
        p.num = a->second.num;
        site_name = a->second.agent.site;
        site_num = a->second.site_num;
        agent_name = a->second.agent.name;
      } else if (b.agent_id == kControllerAgent) {
        auto n = agent_nums_.find(b.agent_id);
        if (n != agent_nums_.end()) p.num = n->second;
        controller = true;
      }
    }
    if (p.num == 0) {
      p.error = NotFoundError("agent '" + b.agent_id + "' is not enrolled");
      continue;
    }
    auto sit = scratch.find(p.num);
    if (sit == scratch.end()) {
      std::lock_guard lock(states_mu_);
      auto st = StateLocked(p.num);
      if (!st.has_value()) {
        p.error = st.error();
        continue;
      }
      sit = scratch.emplace(p.num, **st).first;
    }
    IngestState& st = sit->second;
    ++delta.batches;
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
      // The key holds the agent (its number; readers map it back to the
      // id), so the value does not repeat it, whatever the message said.
      e.clear_agent_id();
      uint32_t ev_site = site_num;
      if (controller) {
        std::shared_lock meta(meta_mu_);
        auto s = site_nums_.find(e.site());
        ev_site = s == site_nums_.end() ? 0 : s->second;
      } else {
        e.set_site(site_name);
      }
      e.set_stored_unix_nanos(now);
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
      const size_t nkeys = MakeIndexKeys(s, e.observed_unix_nanos(), p.num, seq, keys);
      for (size_t k = 0; k < nkeys; ++k) shard.index.push_back({keys[k], summary_offset, summary_size});
      st.Add(seq, seq);
      ++st.stored;
      ++p.result.stored;
      if (e.kind() == rampart::v1::EVENT_KIND_ALERT && e.has_alert()) {
        const rampart::v1::Alert& al = e.alert();
        // `alerts` counts this group's alerts; the metadata is the newest seen.
        auto [u, fresh] = sig_updates.try_emplace(al.signature_id());
        if (fresh) {
          std::shared_lock meta(meta_mu_);
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
      if (want_notify) {
        EventRecord r;
        std::shared_lock meta(meta_mu_);
        r.summary = ToSummary(s, Position{e.observed_unix_nanos(), p.num, seq});
        r.summary.stored_unix_nanos = now;
        if (e.has_alert()) {  // The catalogue learns new signatures only after the write.
          r.summary.signature = e.alert().signature();
          r.summary.category = e.alert().category();
          r.summary.gid = e.alert().gid();
          r.summary.rev = e.alert().rev();
        }
        r.eve_json = e.eve_json();
        notify.push_back(std::move(r));
      }
    }
    for (const SequenceRange& g : b.gone) {
      if (g.first == 0 || g.last < g.first) continue;
      const uint64_t added = st.Add(g.first, g.last);
      st.lost += added;
      if (added > 0) {
        std::string last;
        rocks::AppendBigEndian64(&last, g.last);
        wb.Put(ingest_cf_, GoneKey(p.num, g.first), last);
      }
    }
    p.result.accounted = Merge(p.seqs, b.gone);
    delta.stored += p.result.stored;
    delta.duplicates += p.result.duplicates;
    delta.rejected += p.result.rejected;
  }
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
  for (const auto& [num, st] : scratch) wb.Put(ingest_cf_, IngestKey(num), IngestValue(st));
  for (const auto& [sid, info] : sig_updates) {
    std::string key;
    rocks::AppendBigEndian64(&key, sid);
    key.push_back(static_cast<char>(shard.number));
    const uint64_t shard_alerts = shard.signature_alerts[sid] + info.alerts;
    nlohmann::json j = {{"signature", info.signature}, {"category", info.category}, {"gid", info.gid},
                        {"rev", info.rev},             {"alerts", shard_alerts}};
    wb.Put(sigs_, key, j.dump());
  }

  Status s = wb.Count() == 0 ? Status::Ok()
                             : db_->Write(wb, options_.sync ? rocks::Durability::kSync
                                                            : rocks::Durability::kProcessCrashSafe);
  if (!s.ok()) {
    log::Error("store", "group commit failed; batches not acknowledged", {{"error", s}});
    for (Pending& p : pending) {
      if (p.batch->done) p.batch->done(s.WithContext("store write"));
    }
    return;
  }
  {
    std::lock_guard lock(states_mu_);
    for (auto& [num, st] : scratch) states_[num] = std::move(st);
  }
  if (!sig_updates.empty()) {
    for (const auto& [sid, info] : sig_updates) shard.signature_alerts[sid] += info.alerts;
    std::unique_lock meta(meta_mu_);
    for (auto& [sid, info] : sig_updates) {
      SignatureInfo& total = signatures_[sid];
      total.alerts += info.alerts;
      total.signature = std::move(info.signature);
      total.category = std::move(info.category);
      total.gid = info.gid;
      total.rev = info.rev;
    }
  }
  {
    std::lock_guard lock(counters_mu_);
    counters_.batches += delta.batches;
    counters_.commits += wb.Count() > 0 ? 1 : 0;
    counters_.stored += delta.stored;
    counters_.duplicates += delta.duplicates;
    counters_.rejected += delta.rejected;
  }
  // Subscribers first: an agent is acknowledged only after they saw its alerts.
  if (!notify.empty()) Notify(notify);
  for (Pending& p : pending) {
    if (!p.batch->done) continue;
    if (!p.error.ok()) {
      p.batch->done(p.error);
      continue;
    }
    {
      std::lock_guard lock(states_mu_);
      p.result.stored_through = states_[p.num].through;
    }
    p.batch->done(std::move(p.result));
  }
}

Status StoreImpl::RecordLinkChange(LinkChange& change) {
  std::lock_guard serial(link_change_mu_);
  uint32_t num;
  {
    std::unique_lock meta(meta_mu_);
    RAMPART_ASSIGN_OR_RETURN(num, AgentNumberLocked(std::string(kControllerAgent)));
  }
  uint64_t seq;
  {
    std::lock_guard lock(states_mu_);
    RAMPART_ASSIGN_OR_RETURN(IngestState * st, StateLocked(num));
    seq = st->above.empty() ? st->through + 1 : st->above.rbegin()->second + 1;
  }
  const bool agent_change = !change.agent_id.empty();
  const std::string from(agent_change ? AgentStateName(change.from_agent) : LinkStateName(change.from_link));
  const std::string to(agent_change ? AgentStateName(change.to_agent) : LinkStateName(change.to_link));

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

  IngestBatch b;
  b.agent_id = std::string(kControllerAgent);
  rampart::v1::Event* e = b.batch.add_events();
  e->set_sequence(seq);
  e->set_observed_unix_nanos(change.at_unix_nanos);
  e->set_spooled_unix_nanos(change.at_unix_nanos);
  e->set_kind(rampart::v1::EVENT_KIND_LINK_STATE);
  const bool bad = agent_change ? change.to_agent == AgentState::kDown || change.to_agent == AgentState::kUnreachable
                                : change.to_link == LinkState::kDown;
  const bool worse = !agent_change && change.to_link == LinkState::kDegraded;
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
  // The promise lives in the callback: set_value may still be running on the
  // writer thread when get() returns here.
  auto done = std::make_shared<std::promise<Result<IngestResult>>>();
  auto future = done->get_future();
  b.done = [done](Result<IngestResult> r) { done->set_value(std::move(r)); };
  Submit(std::move(b));
  Result<IngestResult> r = future.get();
  if (!r.has_value()) return r.error();
  change.event = EventId{std::string(kControllerAgent), seq};
  std::lock_guard lock(subs_->links_mu);
  for (const LinkSubscriber& s : subs_->links) s.callback(change);
  return Status::Ok();
}

}  // namespace rampart::controller_store::detail
