// controller/store: which sequences of each agent are accounted for
// ("ingest": the watermark, counters and gone ranges; "events" above the
// watermark), loaded when the agent's stream opens.

#include <algorithm>

#include "controller/store/store_impl.h"

namespace rampart::controller_store::detail {
namespace {

constexpr size_t kIngestValueSize = 24;  // through(8) stored(8) lost(8)

AgentIngest IngestOfValue(std::string_view v) {
  return {rocks::ReadBigEndian64(v), rocks::ReadBigEndian64(v.substr(8)), rocks::ReadBigEndian64(v.substr(16))};
}

}  // namespace

std::string IngestKey(uint32_t agent_num) {
  std::string k;
  AppendU32(&k, agent_num);
  return k;
}

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

Result<IngestState*> StoreImpl::StateLocked(uint32_t num) {
  auto it = states_.find(num);
  if (it != states_.end()) return &it->second;
  IngestState st;
  st.num = num;
  auto v = db_->Get(ingest_cf_, IngestKey(num));
  if (v.has_value() && v->size() == kIngestValueSize) {
    const AgentIngest counters = IngestOfValue(*v);
    st.through = counters.stored_through;
    st.stored = counters.events_stored;
    st.lost = counters.events_lost;
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
  const std::optional<registry::Registry::Source> source = registry_->FindSource(agent_id);
  if (!source || !source->enrolled) return NotFoundError("agent '" + agent_id + "' is not enrolled");
  MutexLock lock(&states_mu_);
  RAMPART_ASSIGN_OR_RETURN(IngestState * st, StateLocked(source->number));
  AgentResume r;
  r.stored_through = st->through;
  r.sequence_reset = last_sequence < st->through;
  return r;
}

AgentIngest StoreImpl::IngestOf(std::string_view agent_id) const {
  const std::optional<registry::Registry::Source> source = registry_->FindSource(agent_id);
  if (!source) return {};
  {
    MutexLock lock(&states_mu_);
    auto it = states_.find(source->number);
    if (it != states_.end()) return {it->second.through, it->second.stored, it->second.lost};
  }
  // Not loaded yet: the persisted counters.
  auto v = db_->Get(ingest_cf_, IngestKey(source->number));
  if (v.has_value() && v->size() == kIngestValueSize) return IngestOfValue(*v);
  return {};
}

}  // namespace rampart::controller_store::detail
