// Engine::Build: the rules in Suricata's order, each rule's type and fast
// pattern, the rule groups and their Vectorscan databases.

#include "agent/detect/engine.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "agent/detect/engine_internal.h"

namespace rampart::detect {

using detail::Channel;
using detail::kProtoClasses;
using detail::RuleGroup;

namespace detail {

// A rule with an app-layer-event check on a transaction's events.
bool HasTxEventCheck(const Rule& r) {
  for (const Check& c : r.checks) {
    if (c.kind == Check::Kind::kAppLayerEvent && c.name.find('.') != std::string::npos) return true;
  }
  return false;
}

}  // namespace detail

namespace {

// Suricata's pattern strength: rarer bytes count more, repeats count less.
uint32_t PatternStrength(std::string_view p) {
  bool seen[256] = {};
  uint32_t s = 0;
  for (unsigned char c : p) {
    if (!seen[c]) {
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        s += 3;
      } else if ((c >= 0x20 && c < 0x7f) || c == 0x00 || c == 0x01 || c == 0xff) {
        s += 4;
      } else {
        s += 6;
      }
      seen[c] = true;
    } else {
      s += 1;
    }
  }
  return s;
}

// Suricata prefers the payload for the fast pattern over app-layer buffers.
int ListPriority(BufferId b) { return b == BufferId::kPayload ? 3 : 2; }

// Picks the rule's fast pattern: an explicit fast_pattern; else, among the
// lists of the highest priority, the longest non-negated content, ties to
// the strongest. Sets r.fp_list / r.fp_match (-1 when none).
void ChooseFastPattern(Rule& r) {
  r.fp_list = r.fp_match = -1;
  for (size_t li = 0; li < r.lists.size(); ++li) {
    const auto& ms = r.lists[li].matches;
    for (size_t mi = 0; mi < ms.size(); ++mi) {
      if (const auto* c = std::get_if<ContentMatch>(&ms[mi]); c != nullptr && c->fast_pattern && !c->negated) {
        r.fp_list = static_cast<int>(li);
        r.fp_match = static_cast<int>(mi);
        return;
      }
    }
  }
  int best_prio = -1;
  for (const MatchList& l : r.lists) {
    for (const SigMatch& m : l.matches) {
      if (const auto* c = std::get_if<ContentMatch>(&m); c != nullptr && !c->negated) {
        best_prio = std::max(best_prio, ListPriority(l.buffer));
      }
    }
  }
  if (best_prio < 0) return;
  size_t best_len = 0;
  uint32_t best_strength = 0;
  for (size_t li = 0; li < r.lists.size(); ++li) {
    if (ListPriority(r.lists[li].buffer) != best_prio) continue;
    const auto& ms = r.lists[li].matches;
    for (size_t mi = 0; mi < ms.size(); ++mi) {
      const auto* c = std::get_if<ContentMatch>(&ms[mi]);
      if (c == nullptr || c->negated) continue;
      const uint32_t strength = PatternStrength(c->pattern);
      if (c->pattern.size() > best_len || (c->pattern.size() == best_len && strength > best_strength)) {
        best_len = c->pattern.size();
        best_strength = strength;
        r.fp_list = static_cast<int>(li);
        r.fp_match = static_cast<int>(mi);
      }
    }
  }
}

// The pattern handed to the prefilter (fast_pattern:offset,length chops it).
std::string FastPatternBytes(const ContentMatch& c) {
  if (c.fp_chop_offset >= 0) {
    return c.pattern.substr(static_cast<size_t>(c.fp_chop_offset), static_cast<size_t>(c.fp_chop_length));
  }
  return c.pattern;
}

// A key naming a buffer and its transform chain.
std::string ChannelKey(const MatchList& l) {
  std::string k = std::to_string(static_cast<int>(l.buffer));
  if (l.side != SidePin::kNone) k += "@" + std::to_string(DirBits(l.side));
  for (const Transform& t : l.transforms) {
    k += "|" + std::to_string(static_cast<int>(t.kind));
    k += ":" + t.key;
    if (t.re) k += ":" + t.re->pattern();
    k += ":" + std::to_string(t.b64_bytes) + "," + std::to_string(t.b64_offset) + "," +
         std::to_string(static_cast<int>(t.b64_mode)) + "," + std::to_string(t.max_size) + "," +
         std::to_string(t.slice_offset) + "," + std::to_string(t.slice_length) + (t.slice_truncate ? "t" : "") + "," + std::to_string(t.key_len) +
         "," + std::to_string(t.key_offset) + "," + std::to_string(t.data_offset);
  }
  return k;
}
bool IsTxRule(const Rule& r) {
  for (const MatchList& l : r.lists) {
    if (GetBufferInfo(l.buffer).kind == BufferKind::kTx) return true;
  }
  for (const Check& c : r.checks) {
    if (c.kind == Check::Kind::kAppLayerEvent && c.name.find('.') != std::string::npos) return true;
    switch (c.kind) {
      case Check::Kind::kTlsVersion:
      case Check::Kind::kSslVersion:
      case Check::Kind::kTlsSubject:
      case Check::Kind::kTlsIssuer:
      case Check::Kind::kTlsFingerprint:
      case Check::Kind::kTlsNotBefore:
      case Check::Kind::kTlsNotAfter:
      case Check::Kind::kTlsCertExpired:
      case Check::Kind::kTlsCertValid:
      case Check::Kind::kFileSize:
        return true;
      default:
        break;
    }
  }
  return false;
}

// Suricata's PD-only signature: app-layer-protocol checks and nothing else
// but a flow direction.
bool IsPdOnly(const Rule& r) {
  if (r.proto.app != AppProto::kUnknown || !r.lists.empty() || !r.post.empty()) return false;
  const FlowOptions& f = r.flow;
  if (f.established || f.not_established || f.stateless || f.only_stream || f.no_stream || f.only_frag ||
      f.no_frag) {
    return false;
  }
  bool pd = false;
  for (const Check& c : r.checks) {
    if (c.kind != Check::Kind::kAppLayerProtocol) return false;
    pd = true;
  }
  return pd;
}

bool IsIpOnly(const Rule& r) {
  if (r.proto.app != AppProto::kUnknown || r.proto.pkthdr || r.proto.arp) return false;
  if (!r.lists.empty() || !r.checks.empty()) return false;
  if (r.proto.tcp_pkt || r.proto.tcp_stream) return false;
  if (!r.sport.IsAny() || !r.dport.IsAny()) return false;
  const FlowOptions& f = r.flow;
  if (f.established || f.not_established || f.to_server || f.to_client || f.only_stream || f.no_stream ||
      f.only_frag || f.no_frag) {
    return false;
  }
  for (const PostAction& a : r.post) {
    if (a.kind != PostAction::Kind::kFlowbitSet && a.kind != PostAction::Kind::kFlowbitUnset &&
        a.kind != PostAction::Kind::kFlowbitToggle) {
      return false;
    }
  }
  // Suricata inspects rules with negated addresses per packet ("like IP-only").
  return !r.addr_negated;
}

// Sorts a group's rules into channels (without compiling them yet).
void PlanGroup(const std::vector<uint32_t>& nums, const std::vector<std::unique_ptr<Rule>>& rules, bool by_port,
               RuleGroup* g) {
  std::map<std::string, size_t> channel_of;
  std::vector<std::map<std::pair<std::string, bool>, uint32_t>> index;
  std::vector<std::pair<uint32_t, const PortSet*>> ported_always;
  for (uint32_t num : nums) {
    const Rule& r = *rules[num];
    if (r.require_packet && r.proto.ip_protos.test(6)) g->has_packet_payload_rules = true;
    if (!r.require_stream && FindList(r, BufferId::kPayload) != nullptr && r.proto.ip_protos.test(6)) {
      g->has_packet_payload_rules = true;
    }
    std::string bytes;
    const ContentMatch* c = nullptr;
    const MatchList* l = nullptr;
    if (r.fp_list >= 0) {
      l = &r.lists[static_cast<size_t>(r.fp_list)];
      c = &std::get<ContentMatch>(l->matches[static_cast<size_t>(r.fp_match)]);
      bytes = FastPatternBytes(*c);
      // Vectorscan's literal API refuses patterns that start with a NUL
      // byte; any suffix of the pattern is still a valid (weaker) prefilter.
      const size_t lead = bytes.find_first_not_of('\0');
      bytes.erase(0, lead == std::string::npos ? bytes.size() : lead);
    }
    if (bytes.empty()) {
      if (by_port && !r.bidirectional && !r.dport.IsAny()) {
        ported_always.emplace_back(num, &r.dport);
      } else {
        g->always.push_back(num);
      }
      continue;
    }
    const std::string key = ChannelKey(*l);
    auto [it, inserted] = channel_of.emplace(key, g->channels.size());
    if (inserted) {
      g->channels.emplace_back();
      g->channels.back().key = key;
      g->channels.back().buffer = l->buffer;
      g->channels.back().side = l->side;
      g->channels.back().transforms = l->transforms;
      index.emplace_back();
    }
    Channel& ch = g->channels[it->second];
    if (c->nocase) {
      for (char& b : bytes) b = static_cast<char>(std::tolower(static_cast<unsigned char>(b)));
    }
    auto pk = std::make_pair(bytes, c->nocase);
    auto& idx = index[it->second];
    auto pit = idx.find(pk);
    uint32_t pid;
    if (pit == idx.end()) {
      pid = static_cast<uint32_t>(ch.patterns.size());
      ch.patterns.push_back(PatternDb::Pattern{bytes, c->nocase});
      idx.emplace(std::move(pk), pid);
      ch.owners.emplace_back();
    } else {
      pid = pit->second;
    }
    ch.owners[pid].push_back(num);
  }
  if (ported_always.empty()) return;
  // Split the port space at every range boundary; each segment gets the
  // rules whose port set covers it; equal rule sets share a class.
  std::vector<uint32_t> cuts = {0, 65536};
  for (const auto& [num, ps] : ported_always) {
    for (const auto& rg : ps->ranges()) {
      cuts.push_back(rg.lo);
      cuts.push_back(static_cast<uint32_t>(rg.hi) + 1);
    }
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::map<std::vector<uint32_t>, uint16_t> class_of;
  g->port_class.assign(65536, 0);
  g->port_always.emplace_back();
  for (size_t i = 0; i + 1 < cuts.size(); ++i) {
    const uint32_t lo = cuts[i], hi = cuts[i + 1] - 1;
    std::vector<uint32_t> members;
    for (const auto& [num, ps] : ported_always) {
      if (ps->Contains(static_cast<uint16_t>(lo))) members.push_back(num);
    }
    if (members.empty() || class_of.size() >= 65000) continue;
    auto [it, inserted] = class_of.emplace(members, static_cast<uint16_t>(g->port_always.size()));
    if (inserted) g->port_always.push_back(members);
    for (uint32_t p = lo; p <= hi; ++p) g->port_class[p] = it->second;
  }
}

// Compiles every channel's database; identical pattern sets share one
// database, and compilation runs on all cores.
Status CompileChannels(std::vector<RuleGroup*> groups, size_t* db_bytes, size_t* db_count) {
  std::map<std::string, std::shared_ptr<const PatternDb>> cache;
  std::vector<std::pair<std::string, const std::vector<PatternDb::Pattern>*>> todo;
  auto set_key = [](const std::vector<PatternDb::Pattern>& ps) {
    std::string k;
    for (const auto& p : ps) {
      k += p.nocase ? 'i' : 'c';
      k += std::to_string(p.bytes.size());
      k += ':';
      k += p.bytes;
    }
    return k;
  };
  for (RuleGroup* g : groups) {
    for (Channel& ch : g->channels) {
      std::string k = set_key(ch.patterns);
      if (cache.emplace(k, nullptr).second) todo.emplace_back(std::move(k), &ch.patterns);
    }
  }
  std::vector<Result<std::unique_ptr<PatternDb>>> built;
  built.reserve(todo.size());
  for (size_t i = 0; i < todo.size(); ++i) built.emplace_back(std::unexpected(InvalidArgumentError("not built")));
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < todo.size(); i = next++) built[i] = PatternDb::Build(*todo[i].second);
  };
  const unsigned n = std::max(1u, std::min<unsigned>(std::thread::hardware_concurrency(), 8));
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < n && t < todo.size(); ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
#ifdef __GLIBC__
  // Compiling takes tens of MB of short-lived allocations, spread over the
  // compiling threads' malloc arenas; glibc keeps those pages unless asked,
  // and the workers' own allocations never reuse them. Give them back.
  malloc_trim(0);
#endif
  for (size_t i = 0; i < todo.size(); ++i) {
    if (!built[i]) return built[i].error();
    *db_bytes += (*built[i])->bytes();
    ++*db_count;
    cache[todo[i].first] = std::shared_ptr<const PatternDb>(std::move(*built[i]));
  }
  for (RuleGroup* g : groups) {
    for (Channel& ch : g->channels) {
      ch.db = cache[set_key(ch.patterns)];
      ch.patterns.clear();
      ch.patterns.shrink_to_fit();
    }
  }
  return Status::Ok();
}

}  // namespace

// ------------------------------------------------------------------ engine

Engine::Engine() : impl_(std::make_unique<Impl>()) {}
Engine::~Engine() = default;
size_t Engine::rule_count() const { return impl_->rules.size(); }
const Rule& Engine::rule(size_t num) const { return *impl_->rules[num]; }
const EngineOptions& Engine::options() const { return impl_->options; }
size_t Engine::database_bytes() const { return impl_->db_bytes; }
size_t Engine::database_count() const { return impl_->db_count; }

Result<std::unique_ptr<Engine>> Engine::Build(RuleSet set, const EngineOptions& options) {
  std::unique_ptr<Engine> e(new Engine());
  Impl& im = *e->impl_;
  im.options = options;
  im.flowbit_count = set.flowbits.size();
  im.flowint_count = set.flowints.size();
  std::vector<std::unique_ptr<Rule>> rules = std::move(set.rules);
  // config rules only change logging; they never alert.
  std::erase_if(rules, [](const std::unique_ptr<Rule>& r) { return r->action == Action::kConfig; });

  // Suricata's signature order: action, flowbits (set, read, unused),
  // flowint likewise, then priority; load order breaks ties.
  // (std::sort with the load position as the last key: std::stable_sort's
  // temporary buffer is deprecated under C++23 with libstdc++ 12.)
  std::vector<std::pair<size_t, std::unique_ptr<Rule>>> ordered;
  ordered.reserve(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) ordered.emplace_back(i, std::move(rules[i]));
  std::sort(ordered.begin(), ordered.end(), [](const auto& x, const auto& y) {
    const Rule* a = x.second.get();
    const Rule* b = y.second.get();
    if (a->action != b->action) return a->action < b->action;
    if (a->flowbits_order != b->flowbits_order) return a->flowbits_order > b->flowbits_order;
    if (a->flowint_order != b->flowint_order) return a->flowint_order > b->flowint_order;
    if (a->priority != b->priority) return a->priority < b->priority;
    return x.first < y.first;
  });
  for (size_t i = 0; i < rules.size(); ++i) rules[i] = std::move(ordered[i].second);
  for (size_t i = 0; i < rules.size(); ++i) {
    Rule& r = *rules[i];
    r.num = static_cast<uint32_t>(i);
    if (IsTxRule(r)) {
      r.type = RuleType::kTx;
    } else if (IsIpOnly(r)) {
      r.type = RuleType::kIpOnly;
    } else {
      r.type = RuleType::kPacket;
      r.pd_only = IsPdOnly(r);
    }
    ChooseFastPattern(r);
  }
  im.rules = std::move(rules);

  // Group.
  std::vector<uint32_t> pkt_members[kProtoClasses][2];
  std::vector<uint32_t> tx_members[static_cast<int>(AppProto::kCount)][2];
  for (const auto& rp : im.rules) {
    const Rule& r = *rp;
    if (r.type == RuleType::kIpOnly) {
      im.ip_only.push_back(r.num);
      std::vector<std::pair<uint32_t, uint32_t>> ranges;
      // A side is indexable when it lists IPv4 ranges that together are
      // not most of the address space (not "any", not "!$HOME_NET").
      auto indexable = [&](const IpSet& side) {
        if (!side.V4Ranges(&ranges) || ranges.empty()) return false;
        uint64_t covered = 0;
        for (const auto& [lo, hi] : ranges) covered += static_cast<uint64_t>(hi - lo) + 1;
        return covered <= (1ull << 24);
      };
      auto add = [&](std::vector<Impl::IpIndexEntry>* narrow, std::vector<Impl::IpIndexEntry>* wide) {
        for (const auto& [lo, hi] : ranges) {
          (hi - lo >= Impl::kIpIndexMaxWidth ? wide : narrow)->push_back({lo, hi, r.num});
        }
      };
      if (!r.bidirectional && indexable(r.src)) {
        add(&im.ip_by_src, &im.ip_wide_src);
      } else if (!r.bidirectional && indexable(r.dst)) {
        add(&im.ip_by_dst, &im.ip_wide_dst);
      } else {
        im.ip_only_always.push_back(r.num);
      }
      continue;
    }
    for (int d = 0; d < 2; ++d) {
      if (!(r.dirs & (d == 0 ? kDirToServer : kDirToClient))) continue;
      if (r.type == RuleType::kTx) {
        tx_members[static_cast<int>(r.proto.app)][d].push_back(r.num);
        continue;
      }
      for (int pc = 0; pc < kProtoClasses; ++pc) {
        bool covers = r.proto.any_ip || r.proto.pkthdr;
        if (!covers) {
          if (pc == 0) covers = r.proto.ip_protos.test(6);
          if (pc == 1) covers = r.proto.ip_protos.test(17);
          if (pc == 2) covers = r.proto.ip_protos.test(1) || r.proto.ip_protos.test(58);
          if (pc == 3) {
            covers = r.proto.arp;
            for (int ip = 0; ip < 256 && !covers; ++ip) {
              if (ip != 6 && ip != 17 && ip != 1 && ip != 58 && r.proto.ip_protos.test(static_cast<size_t>(ip))) {
                covers = true;
              }
            }
          }
        }
        if (covers) pkt_members[pc][d].push_back(r.num);
      }
    }
  }
  std::vector<RuleGroup*> all;
  for (int pc = 0; pc < kProtoClasses; ++pc) {
    for (int d = 0; d < 2; ++d) {
      PlanGroup(pkt_members[pc][d], im.rules, pc <= 1, &im.packet_groups[pc][d]);
      all.push_back(&im.packet_groups[pc][d]);
    }
  }
  for (int a = 0; a < static_cast<int>(AppProto::kCount); ++a) {
    for (int d = 0; d < 2; ++d) {
      PlanGroup(tx_members[a][d], im.rules, false, &im.tx_groups[a][d]);
      all.push_back(&im.tx_groups[a][d]);
    }
  }
  for (auto* index : {&im.ip_by_src, &im.ip_by_dst}) {
    std::sort(index->begin(), index->end(), [](const auto& a, const auto& b) { return a.lo < b.lo; });
  }
  RAMPART_RETURN_IF_ERROR(CompileChannels(all, &im.db_bytes, &im.db_count));
  return e;
}

}  // namespace rampart::detect
