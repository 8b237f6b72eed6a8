// controller/store: queries. A query is planned (its filters checked and
// resolved to numbers, the most selective index chosen: one or more key
// ranges) and then scanned (the ranges merged by position, filtered, paged
// by keyset cursor, bounded by max_examined).

#include <algorithm>
#include <set>

#include "common/eve/eve.h"
#include "controller/store/store_impl.h"
#include "rampart/v1/event.pb.h"

namespace rampart::controller_store::detail {
namespace {

std::string Prefix32(IndexTag tag, uint32_t v) {
  std::string p = IndexPrefix(tag);
  AppendU32(&p, v);
  return p;
}

std::string Prefix64(IndexTag tag, uint64_t v) {
  std::string p = IndexPrefix(tag);
  rocks::AppendBigEndian64(&p, v);
  return p;
}

std::string Prefix8(IndexTag tag, uint8_t v) { return IndexPrefix(tag) + static_cast<char>(v); }

}  // namespace

struct StoreImpl::QueryPlan {
  bool alerts_only = false;
  bool matches_nothing = false;  // An empty page, without a scan.
  std::optional<std::string> cursor;  // The position to continue after.
  std::optional<std::array<uint8_t, 16>> address;
  std::set<uint32_t> site_nums, agent_nums;
  // Sites of the agents asked for; `any_site` when one of them is not an
  // enrolled agent ("controller": its events name any site).
  std::set<uint32_t> agent_sites;
  bool any_site = false;
  std::set<uint64_t> text_sids;
  std::set<uint8_t> severities, kinds;
  // The index ranges to merge: each an index prefix.
  std::vector<std::string> prefixes;
};

EventSummary StoreImpl::ToSummary(const Summary& s, const Position& p) const {
  EventSummary out;
  registry::Registry::Names names = registry_->NamesOf(p.agent, s.site);
  out.id.agent_id = std::move(names.agent_id);
  out.agent_name = std::move(names.agent_name);
  out.site = std::move(names.site);
  out.id.sequence = p.seq;
  out.observed_unix_nanos = p.ts;
  out.stored_unix_nanos = s.stored_nanos;
  out.kind = static_cast<EventKind>(s.kind);
  out.severity = static_cast<Severity>(s.severity);
  if (s.src) out.src_ip = FormatAddress(*s.src);
  if (s.dest) out.dest_ip = FormatAddress(*s.dest);
  out.src_port = s.src_port;
  out.dest_port = s.dest_port;
  if (s.proto != 0) out.proto = std::string(eve::ProtoName(s.proto));
  if (s.kind == static_cast<uint8_t>(EventKind::kAlert)) {
    out.signature_id = s.signature_id;
    ReaderLock lock(&catalogue_mu_);
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

EventRecord StoreImpl::RecordOf(const rampart::v1::Event& e, uint32_t num) const {
  EventRecord r;
  r.summary = ToSummary(SummaryOfEvent(e, registry_->SiteNumber(e.site())),
                        Position{e.observed_unix_nanos(), num, e.sequence()});
  r.eve_json = e.eve_json();
  return r;
}

Result<Page> StoreImpl::QueryAlerts(const Query& query) const { return Run(query, true); }
Result<Page> StoreImpl::QueryEvents(const Query& query) const { return Run(query, false); }

Result<Page> StoreImpl::Run(const Query& q, bool alerts_only) const {
  RAMPART_ASSIGN_OR_RETURN(QueryPlan plan, Plan(q, alerts_only));
  if (plan.matches_nothing) return Page{};
  return Scan(q, plan);
}

Result<StoreImpl::QueryPlan> StoreImpl::Plan(const Query& q, bool alerts_only) const {
  if (q.limit < 1 || q.limit > 1000) return InvalidArgumentError("limit must be 1..1000");
  if (q.to_unix_nanos != 0 && q.to_unix_nanos <= q.from_unix_nanos) {
    return InvalidArgumentError("empty time range: 'to' must be after 'from'");
  }
  QueryPlan plan;
  if (!q.cursor.empty()) {
    plan.cursor = DecodeCursor(q.cursor, q.oldest_first);
    if (!plan.cursor) return InvalidArgumentError("bad cursor (take it from the previous page with the same order)");
  }
  if (!q.address.empty()) {
    plan.address = ParseAddress(q.address);
    if (!plan.address) return InvalidArgumentError("'" + q.address + "' is not an IPv4 or IPv6 address");
  }
  auto is_alert = [](EventKind k) { return k == EventKind::kAlert; };
  if (q.signature_id || !q.signature_text.empty()) alerts_only = true;
  if (!q.kinds.empty() && std::all_of(q.kinds.begin(), q.kinds.end(), is_alert)) alerts_only = true;
  plan.alerts_only = alerts_only;
  // Alerts of no alert kind match nothing, as do names unknown here.
  plan.matches_nothing = alerts_only && !q.kinds.empty() && std::none_of(q.kinds.begin(), q.kinds.end(), is_alert);
  if (plan.matches_nothing) return plan;
  for (const std::string& s : q.sites) {
    if (const uint32_t num = registry_->SiteNumber(s); num != 0) plan.site_nums.insert(num);
  }
  for (const std::string& a : q.agents) {
    const std::optional<registry::Registry::Source> source = registry_->FindSource(a);
    if (!source) continue;
    plan.agent_nums.insert(source->number);
    if (source->enrolled) {
      plan.agent_sites.insert(source->site_number);
    } else {
      plan.any_site = true;
    }
  }
  if ((!q.sites.empty() && plan.site_nums.empty()) || (!q.agents.empty() && plan.agent_nums.empty())) {
    plan.matches_nothing = true;
  }
  if (!q.signature_text.empty()) {
    ReaderLock lock(&catalogue_mu_);
    for (const auto& [sid, info] : signatures_) {
      if (ContainsFolded(info.signature, q.signature_text)) plan.text_sids.insert(sid);
    }
    if (plan.text_sids.empty()) plan.matches_nothing = true;
  }
  if (plan.matches_nothing) return plan;
  for (Severity s : q.severities) plan.severities.insert(static_cast<uint8_t>(s));
  for (EventKind k : q.kinds) plan.kinds.insert(static_cast<uint8_t>(k));

  // The most selective index the filters allow.
  std::vector<std::string>& prefixes = plan.prefixes;
  if (alerts_only) {
    if (q.signature_id) {
      prefixes.push_back(Prefix64(IndexTag::kSignature, *q.signature_id));
    } else if (!plan.text_sids.empty() && plan.text_sids.size() <= 64) {
      for (uint64_t sid : plan.text_sids) prefixes.push_back(Prefix64(IndexTag::kSignature, sid));
    } else if (plan.address) {
      prefixes.push_back(IndexPrefix(IndexTag::kAddress) +
                         std::string(reinterpret_cast<const char*>(plan.address->data()), 16));
    } else if (!plan.agent_nums.empty()) {
      for (uint32_t a : plan.agent_nums) prefixes.push_back(Prefix32(IndexTag::kAgent, a));
    } else if (!plan.site_nums.empty()) {
      for (uint32_t s : plan.site_nums) prefixes.push_back(Prefix32(IndexTag::kAlertSite, s));
    } else if (!plan.severities.empty()) {
      for (uint8_t s : plan.severities) prefixes.push_back(Prefix8(IndexTag::kSeverity, s));
    } else {
      prefixes.push_back(Prefix8(IndexTag::kKind, static_cast<uint8_t>(EventKind::kAlert)));
    }
  } else if (!plan.site_nums.empty()) {
    for (uint32_t s : plan.site_nums) prefixes.push_back(Prefix32(IndexTag::kSite, s));
  } else if (!plan.kinds.empty() && std::all_of(plan.kinds.begin(), plan.kinds.end(), KindHasOwnIndex)) {
    for (uint8_t k : plan.kinds) prefixes.push_back(Prefix8(IndexTag::kKind, k));
  } else {
    // Every event has one S row: the sites of the agents asked for, or all
    // of them (site 0: events of no site), merged by position in Scan.
    std::set<uint32_t> sites = plan.agent_sites;
    if (plan.agent_nums.empty() || plan.any_site) {
      sites = {0};
      for (uint32_t num : registry_->SiteNumbers()) sites.insert(num);
    }
    for (uint32_t s : sites) prefixes.push_back(Prefix32(IndexTag::kSite, s));
  }
  return plan;
}

Result<Page> StoreImpl::Scan(const Query& q, const QueryPlan& plan) const {
  struct Range {
    std::string lower, upper;
    rocksdb::Slice lo, hi;
    std::unique_ptr<rocksdb::Iterator> it;
    size_t prefix_len = 0;
  };
  std::vector<std::unique_ptr<Range>> ranges;
  for (const std::string& p : plan.prefixes) {
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
    if (plan.cursor) {
      const std::string at = p + *plan.cursor;
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
      if (plan.cursor && r->it->Valid() && r->it->key().ToStringView().substr(r->prefix_len) == *plan.cursor) {
        r->it->Next();
      }
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
    if (plan.alerts_only && s->kind != static_cast<uint8_t>(EventKind::kAlert)) continue;
    if (!plan.kinds.empty() && !plan.kinds.contains(s->kind)) continue;
    if (!plan.severities.empty() && !plan.severities.contains(s->severity)) continue;
    if (!plan.site_nums.empty() && !plan.site_nums.contains(s->site)) continue;
    if (!plan.agent_nums.empty() && !plan.agent_nums.contains(pos->agent)) continue;
    if (q.signature_id && s->signature_id != *q.signature_id) continue;
    if (!plan.text_sids.empty() && !plan.text_sids.contains(s->signature_id)) continue;
    if (plan.address && !((s->src && *s->src == *plan.address) || (s->dest && *s->dest == *plan.address))) continue;
    page.rows.push_back(ToSummary(*s, *pos));
  }
  if (heap.empty()) last_position.clear();
  if (!last_position.empty()) page.next_cursor = EncodeCursor(last_position, q.oldest_first);
  return page;
}

Result<EventRecord> StoreImpl::GetEvent(const EventId& id) const {
  const std::optional<registry::Registry::Source> source = registry_->FindSource(id.agent_id);
  if (!source) return NotFoundError("no event " + id.ToString());
  auto v = db_->Get(events_, EventKey(source->number, id.sequence));
  if (!v.has_value()) {
    if (v.error().code() == StatusCode::kNotFound) return NotFoundError("no event " + id.ToString());
    return v.error();
  }
  rampart::v1::Event e;
  if (!e.ParseFromString(*v)) return DataLossError("event " + id.ToString() + " is unreadable");
  return RecordOf(e, source->number);
}

Result<std::vector<EventRecord>> StoreImpl::AgentEvents(std::string_view agent_id, uint64_t from_sequence,
                                                        size_t limit) const {
  const std::optional<registry::Registry::Source> source = registry_->FindSource(agent_id);
  if (!source) return std::vector<EventRecord>{};
  const uint32_t num = source->number;
  std::vector<EventRecord> out;
  Status bad;
  auto n = db_->Scan(events_, EventKey(num, from_sequence), EventKey(num + 1, 0),
                     [&](std::string_view, std::string_view value) {
                       rampart::v1::Event e;
                       if (!e.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
                         bad = DataLossError("unreadable event of agent " + std::string(agent_id));
                         return false;
                       }
                       out.push_back(RecordOf(e, num));
                       return true;
                     },
                     limit);
  if (!n.has_value()) return n.error();
  if (!bad.ok()) return bad;
  return out;
}

Result<std::vector<Store::SignatureCount>> StoreImpl::Signatures(std::string_view text, size_t limit) const {
  std::vector<SignatureCount> out;
  {
    ReaderLock lock(&catalogue_mu_);
    for (const auto& [sid, info] : signatures_) {
      if (ContainsFolded(info.signature, text)) out.push_back({sid, info.signature, info.alerts});
    }
  }
  std::sort(out.begin(), out.end(), [](const SignatureCount& a, const SignatureCount& b) {
    return a.alerts != b.alerts ? a.alerts > b.alerts : a.signature_id < b.signature_id;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace rampart::controller_store::detail
