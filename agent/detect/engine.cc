#include "agent/detect/engine.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <algorithm>
#include <atomic>
#include <thread>
#include <cstring>
#include <map>
#include <unordered_map>

#include "agent/detect/inspect.h"
#include "agent/detect/prefilter.h"
#include "agent/detect/regex.h"

namespace rampart::detect {
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
  if (l.side != 0) k += "@" + std::to_string(l.side);
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

// A rule with an app-layer-event check on a transaction's events.
bool HasTxEventCheck(const Rule& r) {
  for (const Check& c : r.checks) {
    if (c.kind == Check::Kind::kAppLayerEvent && c.name.find('.') != std::string::npos) return true;
  }
  return false;
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

int ProtoClass(uint8_t proto) {
  switch (proto) {
    case 6: return 0;
    case 17: return 1;
    case 1:
    case 58: return 2;
    default: return 3;
  }
}
constexpr int kProtoClasses = 4;

// A buffer channel of a rule group: the Vectorscan database of the fast
// patterns in one buffer (with one transform chain) and who owns them.
struct Channel {
  BufferId buffer;
  uint8_t side = 0;  // MatchList::side of the lists it serves.
  std::vector<Transform> transforms;
  std::string key;
  std::shared_ptr<const PatternDb> db;
  std::vector<std::vector<uint32_t>> owners;  // pattern id -> rule nums
  std::vector<PatternDb::Pattern> patterns;   // Kept until the database is compiled.
};

struct RuleGroup {
  std::vector<Channel> channels;
  std::vector<uint32_t> always;  // Rules without a fast pattern (any port), sorted.
  // Rules without a fast pattern that name destination ports: grouped by
  // port so a packet only meets the ones for its port.
  std::vector<uint16_t> port_class;               // 65536 entries, or empty.
  std::vector<std::vector<uint32_t>> port_always; // class -> rules (class 0 empty)
  bool has_packet_payload_rules = false;  // TCP rules that also inspect the packet payload.
};

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

uint16_t FlagsModeMatch(uint16_t value, uint16_t bits, char mode) {
  switch (mode) {
    case '+': return (value & bits) == bits;
    case '*': return (value & bits) != 0;
    case '!': return (value & bits) != bits;
    default: return value == bits;
  }
}

bool AppProtoEquals(AppProto sig, AppProto flow) {
  if (sig == flow) return true;
  if (sig == AppProto::kHttp1 && flow == AppProto::kHttp2) return true;
  if (sig == AppProto::kDcerpc && flow == AppProto::kSmb) return true;
  if (sig == AppProto::kDns && flow == AppProto::kDoh2) return true;
  return false;
}

}  // namespace

// ------------------------------------------------------------------ engine

struct Engine::Impl {
  EngineOptions options;
  std::vector<std::unique_ptr<Rule>> rules;  // Index = num.
  size_t flowbit_count = 0;
  size_t flowint_count = 0;
  std::vector<uint32_t> ip_only;
  // IP-only rules indexed by the IPv4 addresses of one side of their header
  // (lists of bad addresses: ET's compromised, ciarmy, tor, botcc...):
  // ranges sorted by start, each at most kIpIndexMaxWidth wide, so a lookup
  // reads the few ranges that can hold an address. Rules indexed here are
  // not in ip_only_always.
  struct IpIndexEntry {
    uint32_t lo, hi, num;
  };
  static constexpr uint32_t kIpIndexMaxWidth = 1u << 16;
  std::vector<IpIndexEntry> ip_by_src, ip_by_dst;
  // Ranges of indexed rules wider than that: checked one by one (few).
  std::vector<IpIndexEntry> ip_wide_src, ip_wide_dst;
  std::vector<uint32_t> ip_only_always;

  // Packet rules: [proto class][direction].
  RuleGroup packet_groups[kProtoClasses][2];

  // Transaction rules: by app protocol (kUnknown: any protocol) and direction.
  RuleGroup tx_groups[static_cast<int>(AppProto::kCount)][2];

  size_t db_bytes = 0;
  size_t db_count = 0;
};

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

// ------------------------------------------------------------- flow state

struct FlowDetectState::Impl {
  bool ip_only_done[2] = {false, false};
  bool passed = false;
  bool dropped = false;
  std::vector<uint32_t> flowbits;  // Sorted ids of set bits.
  std::vector<std::pair<uint32_t, uint32_t>> flowints;

  struct StreamDir {
    std::string data;          // Bytes not inspected yet.
    uint64_t data_offset = 0;  // Stream offset of data[0].
    bool trigger = false;
    bool seen = false;         // Some data arrived (data_offset is meaningful).
  };
  StreamDir stream[2];

  struct RuleProgress {
    uint32_t num;
    uint32_t matched;  // Bit per list already matched.
    uint8_t state;     // 0 in progress, 1 matched (full), 2 cannot match
  };
  struct TxState {
    uint64_t id = 0;
    uint32_t events_seen = 0;  // TxView::EventCount() at the last inspection.
    bool done[2] = {false, false};
    int last_progress[2] = {-1, -1};
    std::vector<RuleProgress> rules[2];
  };
  std::vector<TxState> txs;

  struct Threshold {
    uint32_t num;
    int64_t start_nanos;
    uint32_t count;
    std::vector<uint16_t> uniques;
  };
  std::vector<Threshold> thresholds;  // by_flow

  bool IsBitSet(uint32_t id) const { return std::binary_search(flowbits.begin(), flowbits.end(), id); }
  void SetBit(uint32_t id) {
    auto it = std::lower_bound(flowbits.begin(), flowbits.end(), id);
    if (it == flowbits.end() || *it != id) flowbits.insert(it, id);
  }
  void UnsetBit(uint32_t id) {
    auto it = std::lower_bound(flowbits.begin(), flowbits.end(), id);
    if (it != flowbits.end() && *it == id) flowbits.erase(it);
  }
  const uint32_t* Int(uint32_t id) const {
    for (const auto& [k, v] : flowints) {
      if (k == id) return &v;
    }
    return nullptr;
  }
  void SetInt(uint32_t id, uint32_t v) {
    for (auto& [k, old] : flowints) {
      if (k == id) {
        old = v;
        return;
      }
    }
    flowints.emplace_back(id, v);
  }
  TxState& Tx(uint64_t id) {
    for (TxState& t : txs) {
      if (t.id == id) return t;
    }
    // Bounded: the app layer forgets transactions; if it does not, the
    // oldest finished ones go first.
    if (txs.size() >= 4096) {
      auto it = std::find_if(txs.begin(), txs.end(), [](const TxState& t) { return t.done[0] && t.done[1]; });
      txs.erase(it != txs.end() ? it : txs.begin());
    }
    txs.emplace_back();
    txs.back().id = id;
    return txs.back();
  }
};

FlowDetectState::FlowDetectState() : impl_(std::make_unique<Impl>()) {}
FlowDetectState::~FlowDetectState() = default;
bool FlowDetectState::passed() const { return impl_->passed; }

// ---------------------------------------------------------------- detector

namespace {

struct XbitKey {
  uint32_t id;
  uint8_t track;
  uint8_t a[16];
  uint8_t b[16];
  bool operator==(const XbitKey& o) const { return std::memcmp(this, &o, sizeof(XbitKey)) == 0; }
};
struct XbitKeyHash {
  size_t operator()(const XbitKey& k) const {
    uint64_t h = 1469598103934665603ull;
    const auto* p = reinterpret_cast<const uint8_t*>(&k);
    for (size_t i = 0; i < sizeof(XbitKey); ++i) h = (h ^ p[i]) * 1099511628211ull;
    return static_cast<size_t>(h);
  }
};

struct ThresholdKey {
  uint32_t num;
  uint8_t a[16];
  uint8_t b[16];
  bool operator==(const ThresholdKey& o) const { return std::memcmp(this, &o, sizeof(ThresholdKey)) == 0; }
};
struct ThresholdKeyHash {
  size_t operator()(const ThresholdKey& k) const {
    uint64_t h = 1469598103934665603ull;
    const auto* p = reinterpret_cast<const uint8_t*>(&k);
    for (size_t i = 0; i < sizeof(ThresholdKey); ++i) h = (h ^ p[i]) * 1099511628211ull;
    return static_cast<size_t>(h);
  }
};
struct ThresholdEntry {
  int64_t start_nanos = 0;
  uint32_t count = 0;
  std::vector<uint16_t> uniques;
};

struct PendingAlert {
  uint32_t num;
  uint64_t tx_id;
  bool has_tx;
  const TxView* tx;
  bool stream_match;
  Dir tx_dir;
};

enum : int { kThresholdSuppress = 0, kThresholdAlert = 1, kThresholdSilent = 2 };

}  // namespace

struct Detector::Impl {
  explicit Impl(const Engine& e) : engine(*e.impl_), opts(e.impl_->options) {}

  const Engine::Impl& engine;
  const EngineOptions& opts;
  RegexScratch regex;
  PrefilterScratch hs;
  InspectState ist;

  std::vector<uint32_t> stamp;  // Per rule: the candidate round it was last added in.
  uint32_t round = 0;
  std::vector<uint32_t> candidates;
  std::vector<uint32_t> hits;
  std::vector<PendingAlert> queue;
  std::string xform;   // Transformed buffer.
  std::string bufscratch;
  Dir inspect_dir = Dir::kToServer;  // The direction RunTx is inspecting (filesize without a side).

  std::unordered_map<XbitKey, int64_t, XbitKeyHash> xbits;  // -> expiry (0 = never)
  std::unordered_map<ThresholdKey, ThresholdEntry, ThresholdKeyHash> thresholds;

  // Current packet context.
  const PacketInput* p = nullptr;
  FlowDetectState::Impl* fs = nullptr;
  std::span<const uint8_t> window;  // Stream window of this packet's direction.
  uint64_t window_offset = 0;
  bool have_window = false;
  DetectStats* stats = nullptr;

  void NextRound() {
    if (++round == 0) {
      std::fill(stamp.begin(), stamp.end(), 0);
      round = 1;
    }
    candidates.clear();
  }
  void AddCandidate(uint32_t num) {
    if (stamp[num] != round) {
      stamp[num] = round;
      candidates.push_back(num);
    }
  }

  // ----------------------------------------------------------- header checks
  bool ProtoOk(const Rule& r) const {
    const ProtoSpec& ps = r.proto;
    if (ps.arp) return p->is_arp;
    if (p->ip_version == 0) return ps.pkthdr;
    if (ps.ipv4_only && p->ip_version != 4) return false;
    if (ps.ipv6_only && p->ip_version != 6) return false;
    return ps.ip_protos.test(p->proto);
  }

  static bool AddrPortOk(const Rule& r, const IpAddr& s, uint16_t sp, const IpAddr& d, uint16_t dp, bool ports) {
    auto one = [&](const IpAddr& a, uint16_t ap, const IpAddr& b, uint16_t bp) {
      if (!r.src.Contains(a) || !r.dst.Contains(b)) return false;
      if (ports) {
        if (!r.sport.Contains(ap) || !r.dport.Contains(bp)) return false;
      } else if (!r.sport.IsAny() || !r.dport.IsAny()) {
        return false;
      }
      return true;
    };
    if (one(s, sp, d, dp)) return true;
    return r.bidirectional && one(d, dp, s, sp);
  }

  bool HeaderOk(const Rule& r) const {
    if (p->ip_version == 0) return r.src.IsAny() && r.dst.IsAny() && r.sport.IsAny() && r.dport.IsAny();
    if (p->fragment && (!r.sport.IsAny() || !r.dport.IsAny())) return false;
    return AddrPortOk(r, p->src, p->sport, p->dst, p->dport, p->has_ports);
  }

  // The header checked against the transaction's orientation.
  bool TxHeaderOk(const Rule& r, Dir d) const {
    if (p->flow == nullptr) return HeaderOk(r);
    if (r.txbothdir) d = Dir::kToServer;  // '=>': the header reads client -> server.
    if (d == Dir::kToServer) return AddrPortOk(r, p->client, p->client_port, p->server, p->server_port, p->has_ports);
    return AddrPortOk(r, p->server, p->server_port, p->client, p->client_port, p->has_ports);
  }

  bool FlowOk(const Rule& r, Dir d) const {
    const FlowOptions& f = r.flow;
    const bool has_flow = p->flow != nullptr;
    if (f.to_server && (!has_flow || d != Dir::kToServer)) return false;
    if (f.to_client && (!has_flow || d != Dir::kToClient)) return false;
    if (f.established && (!has_flow || !p->established)) return false;
    if (f.not_established && has_flow && p->established) return false;
    if (f.only_frag && !p->fragment) return false;
    if (f.no_frag && p->fragment) return false;
    return true;
  }

  bool AppOk(const Rule& r) const {
    if (r.proto.app == AppProto::kUnknown) return true;
    return AppProtoEquals(r.proto.app, p->app_proto);
  }

  bool HasEvent(std::string_view name) const {
    for (std::string_view e : p->events) {
      if (e == name) return true;
    }
    return false;
  }

  void TrackAddr(uint8_t track, uint8_t* a, uint8_t* b) const {
    std::memset(a, 0, 16);
    std::memset(b, 0, 16);
    const IpAddr& s = p->src;
    const IpAddr& d = p->dst;
    if (track == 1) {
      std::memcpy(a, s.bytes, 16);
    } else if (track == 2) {
      std::memcpy(a, d.bytes, 16);
    } else if (track == 3) {
      const bool swap = std::memcmp(s.bytes, d.bytes, 16) > 0;
      std::memcpy(a, (swap ? d : s).bytes, 16);
      std::memcpy(b, (swap ? s : d).bytes, 16);
    }
  }

  bool XbitSet(uint32_t id, uint8_t track) {
    XbitKey k{};
    k.id = id;
    k.track = track;
    TrackAddr(track, k.a, k.b);
    auto it = xbits.find(k);
    if (it == xbits.end()) return false;
    if (it->second != 0 && p->timestamp_nanos > it->second) {
      xbits.erase(it);
      return false;
    }
    return true;
  }

  bool ChecksOk(const Rule& r, const TxView* tx) {
    for (const Check& c : r.checks) {
      if (!CheckOk(c, tx)) return false;
    }
    return true;
  }

  bool CheckOk(const Check& c, const TxView* tx) {
    using K = Check::Kind;
    const bool tcp = p->proto == 6 && p->ip_version != 0;
    switch (c.kind) {
      case K::kTtl: return p->ip_version != 0 && c.num.Matches(p->ttl);
      case K::kTos: return p->ip_version == 4 && c.num.Matches(p->tos);
      case K::kIpId: return p->ip_version == 4 && c.num.Matches(p->ip_id);
      case K::kDsize: return !p->pseudo && c.num.Matches(p->payload.size());
      case K::kWindow: return tcp && c.num.Matches(p->tcp_window);
      case K::kSeq: return tcp && c.num.Matches(p->tcp_seq);
      case K::kAck: return tcp && c.num.Matches(p->tcp_ack);
      case K::kItype: return p->has_icmp && c.num.Matches(p->icmp_type);
      case K::kIcode: return p->has_icmp && c.num.Matches(p->icmp_code);
      case K::kIcmpId: return p->has_icmp_id && c.num.Matches(p->icmp_id);
      case K::kIcmpSeq: return p->has_icmp_id && c.num.Matches(p->icmp_seq);
      case K::kIpProto: return p->ip_version != 0 && c.num.Matches(p->proto);
      case K::kFragOffset: return p->ip_version != 0 && c.num.Matches(p->frag_offset);
      case K::kTcpMss: return tcp && p->has_tcp_mss && c.num.Matches(p->tcp_mss);
      case K::kIcmpv6Mtu: return p->has_icmpv6_mtu && c.num.Matches(p->icmpv6_mtu);
      case K::kStreamSize: {
        if (!tcp || p->flow == nullptr) return false;
        const uint64_t client = p->stream_size[0], server = p->stream_size[1];
        switch (c.side) {
          case 0: return c.num.Matches(server);
          case 1: return c.num.Matches(client);
          case 2: return c.num.Matches(server) && c.num.Matches(client);
          default: return c.num.Matches(server) || c.num.Matches(client);
        }
      }
      case K::kFlowAge: {
        if (p->flow == nullptr) return false;
        const int64_t age = (p->timestamp_nanos - p->flow_start_nanos) / 1000000000;
        return c.num.Matches(static_cast<uint64_t>(std::max<int64_t>(age, 0)));
      }
      case K::kFlowPkts:
      case K::kFlowBytes: {
        if (p->flow == nullptr) return false;
        const uint64_t* v = c.kind == K::kFlowPkts ? p->flow_pkts : p->flow_bytes;
        switch (c.side) {
          case 0: return c.num.Matches(v[0]);
          case 1: return c.num.Matches(v[1]);
          case 2: return c.num.Matches(v[0]) || c.num.Matches(v[1]);
          default: return c.num.Matches(v[0]) && c.num.Matches(v[1]);
        }
      }
      case K::kTcpFlags:
        return tcp && FlagsModeMatch(static_cast<uint16_t>(p->tcp_flags & c.mask), c.bits, c.mode);
      case K::kFragbits: {
        if (p->ip_version != 4) return false;
        const uint16_t v = static_cast<uint16_t>((p->ip_mf ? 1 : 0) | (p->ip_df ? 2 : 0) | (p->ip_rf ? 4 : 0));
        return FlagsModeMatch(v, c.bits, c.mode);
      }
      case K::kIpopts: return p->ip_version == 4 && (p->ip_options & c.bits) != 0;
      case K::kSameIp: return p->ip_version != 0 && p->src == p->dst;
      case K::kFlowbits: {
        if (fs == nullptr) return c.bit_op == Check::BitOp::kIsNotSetAll || c.bit_op == Check::BitOp::kIsNotSetAny;
        switch (c.bit_op) {
          case Check::BitOp::kIsSet:
          case Check::BitOp::kIsSetAll:
            for (uint32_t id : c.ids) {
              if (!fs->IsBitSet(id)) return false;
            }
            return true;
          case Check::BitOp::kIsSetAny:
            for (uint32_t id : c.ids) {
              if (fs->IsBitSet(id)) return true;
            }
            return false;
          case Check::BitOp::kIsNotSet:
          case Check::BitOp::kIsNotSetAll:
            for (uint32_t id : c.ids) {
              if (fs->IsBitSet(id)) return false;
            }
            return true;
          case Check::BitOp::kIsNotSetAny:
            for (uint32_t id : c.ids) {
              if (!fs->IsBitSet(id)) return true;
            }
            return false;
        }
        return false;
      }
      case K::kFlowint: {
        const uint32_t* v = fs != nullptr ? fs->Int(c.ids[0]) : nullptr;
        if (c.int_op == Check::IntOp::kIsSet) return v != nullptr;
        if (c.int_op == Check::IntOp::kIsNotSet) return v == nullptr;
        if (v == nullptr) return false;
        uint32_t target = c.int_value;
        if (c.int_var >= 0) {
          const uint32_t* t = fs->Int(static_cast<uint32_t>(c.int_var));
          if (t == nullptr) return false;
          target = *t;
        }
        switch (c.int_op) {
          case Check::IntOp::kEq: return *v == target;
          case Check::IntOp::kNe: return *v != target;
          case Check::IntOp::kLt: return *v < target;
          case Check::IntOp::kLe: return *v <= target;
          case Check::IntOp::kGt: return *v > target;
          case Check::IntOp::kGe: return *v >= target;
          default: return false;
        }
      }
      case K::kXbits: {
        if (c.track == 0) {
          const bool set = fs != nullptr && fs->IsBitSet(c.ids[0] | 0x80000000u);
          return c.bit_op == Check::BitOp::kIsSet ? set : !set;
        }
        const bool set = p->ip_version != 0 && XbitSet(c.ids[0], c.track);
        return c.bit_op == Check::BitOp::kIsSet ? set : !set;
      }
      case K::kAppLayerProtocol: {
        if (c.side >= 2 && c.side <= 4) {
          // either / to_server / to_client: the directions' own detection results.
          auto eq = [&](AppProto a) {
            return a != AppProto::kUnknown && (c.proto == AppProto::kUnknown ? false : AppProtoEquals(c.proto, a));
          };
          bool r;
          if (c.side == 2) {
            r = eq(p->app_proto_dir[0]) || eq(p->app_proto_dir[1]);
          } else {
            const AppProto a = p->app_proto_dir[c.side == 3 ? 0 : 1];
            if (a == AppProto::kUnknown) return c.negated;  // Not detected (yet): as Suricata, only a negation holds.
            r = eq(a);
          }
          return r != c.negated;
        }
        // Until the protocol is known the keyword matches nothing, negated or not.
        if (p->app_proto == AppProto::kUnknown) return c.proto == AppProto::kUnknown && !c.negated;
        bool eq;
        if (c.proto == AppProto::kUnknown) {
          eq = p->app_proto == AppProto::kUnknown;
        } else if (c.exact) {
          eq = p->app_proto == c.proto;
        } else {
          eq = AppProtoEquals(c.proto, p->app_proto) ||
               (p->app_proto_orig != AppProto::kUnknown && AppProtoEquals(c.proto, p->app_proto_orig));
        }
        return eq != c.negated;
      }
      case K::kDecodeEvent: {
        const bool has = HasEvent(c.name);
        return has != c.negated;
      }
      case K::kStreamEvent: {
        const bool has = HasEvent("stream." + c.name) || HasEvent(c.name);
        return has != c.negated;
      }
      case K::kAppLayerEvent: {
        bool has = HasEvent(c.name) || HasEvent("app-layer." + c.name);
        if (!has && tx != nullptr) has = tx->HasEvent(c.name);
        return has != c.negated;
      }
      case K::kTlsVersion: {
        if (tx == nullptr) return false;
        return tx->TlsVersion() == c.versions;
      }
      case K::kSslVersion: {
        if (tx == nullptr) return false;
        uint32_t bit = 0;
        switch (tx->TlsVersion()) {
          case 0x0002: bit = 1; break;
          case 0x0300: bit = 2; break;
          case 0x0301: bit = 4; break;
          case 0x0302: bit = 8; break;
          case 0x0303: bit = 16; break;
          case 0x0304: bit = 32; break;
          default: return false;
        }
        return (c.versions & bit) != 0 || (c.bits & ~bit & 0x3f) != 0;
      }
      case K::kTlsSubject:
      case K::kTlsIssuer:
      case K::kTlsFingerprint: {
        if (tx == nullptr) return false;
        const BufferId b = c.kind == K::kTlsSubject   ? BufferId::kTlsCertSubject
                           : c.kind == K::kTlsIssuer ? BufferId::kTlsCertIssuer
                                                     : BufferId::kTlsCertFingerprint;
        std::span<const uint8_t> data;
        if (!tx->GetBuffer(b, Dir::kToClient, 0, &bufscratch, &data)) return false;
        const std::string_view field(reinterpret_cast<const char*>(data.data()), data.size());
        bool found;
        if (c.kind == K::kTlsFingerprint) {
          found = field.size() == c.name.size();
          for (size_t i = 0; found && i < field.size(); ++i) {
            found = std::tolower(static_cast<unsigned char>(field[i])) ==
                    std::tolower(static_cast<unsigned char>(c.name[i]));
          }
        } else {
          found = field.find(c.name) != std::string_view::npos;
        }
        return found != c.negated;
      }
      case K::kTlsNotBefore:
      case K::kTlsNotAfter:
      case K::kTlsCertExpired:
      case K::kTlsCertValid: {
        int64_t nb = 0, na = 0;
        if (tx == nullptr || !tx->TlsCertValidity(&nb, &na)) return false;
        const int64_t now = p->timestamp_nanos / 1000000000;
        switch (c.kind) {
          case K::kTlsNotBefore: return nb >= 0 && c.num.Matches(static_cast<uint64_t>(nb));
          case K::kTlsNotAfter: return na >= 0 && c.num.Matches(static_cast<uint64_t>(na));
          case K::kTlsCertExpired: return now > na;
          default: return now >= nb && now <= na;
        }
      }
      case K::kFileSize: {
        // Suricata: a closed file by its size; an open one only for '>'
        // and '>=' once it has grown past the bound.
        if (tx == nullptr) return false;
        const Dir side = c.side != 0 ? (c.side == kDirToServer ? Dir::kToServer : Dir::kToClient) : inspect_dir;
        uint64_t size = 0;
        bool complete = false;
        if (!tx->FileSize(side, &size, &complete)) return false;
        if (complete) return c.num.Matches(size);
        return (c.num.mode == UintCheck::Mode::kGt || c.num.mode == UintCheck::Mode::kGe) && c.num.Matches(size);
      }
      default:
        return false;
    }
  }

  // ------------------------------------------------------------- buffers
  // Inspects one list against one buffer (after its transforms).
  bool InspectOne(const MatchList& l, std::span<const uint8_t> data, uint64_t stream_offset, bool eof) {
    std::span<const uint8_t> buf = data;
    if (!l.transforms.empty()) {
      if (!ApplyTransforms(l.transforms, data, &xform, regex)) return ListMatchesAbsentBuffer(l.matches);
      buf = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(xform.data()), xform.size());
    }
    ist.stream_start_offset = stream_offset;
    ist.eof = eof;
    ist.b64_list = &l.base64_matches;
    ist.regex = &regex;
    const bool m = InspectList(l.matches, buf, ist);
    if (ist.recursion >= ist.recursion_limit) ++stats->recursion_limit_hits;
    return m;
  }

  std::span<const uint8_t> HeaderBuffer(BufferId b) const {
    switch (b) {
      case BufferId::kIpv4Hdr: return p->ip_version == 4 ? p->l3_header : std::span<const uint8_t>();
      case BufferId::kIpv6Hdr: return p->ip_version == 6 ? p->l3_header : std::span<const uint8_t>();
      case BufferId::kTcpHdr: return p->proto == 6 ? p->l4_header : std::span<const uint8_t>();
      case BufferId::kUdpHdr: return p->proto == 17 ? p->l4_header : std::span<const uint8_t>();
      case BufferId::kIcmpv4Hdr: return p->proto == 1 ? p->l4_header : std::span<const uint8_t>();
      case BufferId::kIcmpv6Hdr: return p->proto == 58 ? p->l4_header : std::span<const uint8_t>();
      case BufferId::kIpSrc:
      case BufferId::kIpDst: {
        const IpAddr& a = b == BufferId::kIpSrc ? p->src : p->dst;
        if (a.version != 4 && a.version != 6) return {};
        return {a.bytes, a.version == 4 ? size_t{4} : size_t{16}};
      }
      default: return {};
    }
  }

  // The payload list of a packet rule: Suricata's stream / packet choice.
  bool PayloadOk(const Rule& r, const MatchList& l, bool* stream_match) {
    if (r.require_stream && p->proto == 6) {
      if (have_window) {
        if (InspectOne(l, window, window_offset, true)) {
          *stream_match = true;
          return true;
        }
      }
      if (p->pseudo) return false;
      if (!r.require_packet && p->stream_added) return false;
      if (r.stream_only) return false;
      return InspectOne(l, p->payload, 0, true);
    }
    if (p->pseudo) return false;
    return InspectOne(l, p->payload, 0, true);
  }

  bool PacketRuleMatches(const Rule& r, bool* stream_match) {
    if (p->pseudo && FindList(r, BufferId::kPayload) == nullptr) return false;
    if (!ProtoOk(r) || !AppOk(r) || !HeaderOk(r) || !FlowOk(r, p->dir)) return false;
    for (const MatchList& l : r.lists) {
      if (l.buffer == BufferId::kPayload) {
        if (!PayloadOk(r, l, stream_match)) return false;
      } else {
        std::span<const uint8_t> h = HeaderBuffer(l.buffer);
        if (h.empty()) {
          if (!ListMatchesAbsentBuffer(l.matches)) return false;
        } else if (!InspectOne(l, h, 0, true)) {
          return false;
        }
      }
    }
    return ChecksOk(r, nullptr);
  }

  // ------------------------------------------------------------ actions
  void RunPost(const Rule& r) {
    for (const PostAction& a : r.post) {
      switch (a.kind) {
        case PostAction::Kind::kFlowbitSet:
          if (fs) for (uint32_t id : a.ids) fs->SetBit(id);
          break;
        case PostAction::Kind::kFlowbitUnset:
          if (fs) for (uint32_t id : a.ids) fs->UnsetBit(id);
          break;
        case PostAction::Kind::kFlowbitToggle:
          if (fs) {
            for (uint32_t id : a.ids) {
              if (fs->IsBitSet(id)) {
                fs->UnsetBit(id);
              } else {
                fs->SetBit(id);
              }
            }
          }
          break;
        case PostAction::Kind::kFlowintSet:
        case PostAction::Kind::kFlowintAdd:
        case PostAction::Kind::kFlowintSub: {
          if (fs == nullptr) break;
          uint32_t v = a.value;
          if (a.value_var >= 0) {
            const uint32_t* t = fs->Int(static_cast<uint32_t>(a.value_var));
            if (t == nullptr) break;
            v = *t;
          }
          const uint32_t* cur = fs->Int(a.ids[0]);
          if (a.kind == PostAction::Kind::kFlowintSet) {
            fs->SetInt(a.ids[0], v);
          } else if (a.kind == PostAction::Kind::kFlowintAdd) {
            fs->SetInt(a.ids[0], (cur ? *cur : 0) + v);
          } else {
            fs->SetInt(a.ids[0], (cur ? *cur : 0) - v);
          }
          break;
        }
        case PostAction::Kind::kXbitSet:
        case PostAction::Kind::kXbitUnset:
        case PostAction::Kind::kXbitToggle: {
          if (a.track == 0) {
            if (fs == nullptr) break;
            const uint32_t id = a.ids[0] | 0x80000000u;
            if (a.kind == PostAction::Kind::kXbitSet) {
              fs->SetBit(id);
            } else if (a.kind == PostAction::Kind::kXbitUnset) {
              fs->UnsetBit(id);
            } else if (fs->IsBitSet(id)) {
              fs->UnsetBit(id);
            } else {
              fs->SetBit(id);
            }
            break;
          }
          if (p->ip_version == 0) break;
          XbitKey k{};
          k.id = a.ids[0];
          k.track = a.track;
          TrackAddr(a.track, k.a, k.b);
          const int64_t expiry =
              a.expire == 0 ? 0 : p->timestamp_nanos + static_cast<int64_t>(a.expire) * 1000000000;
          auto it = xbits.find(k);
          const bool set = it != xbits.end() && (it->second == 0 || it->second >= p->timestamp_nanos);
          if (a.kind == PostAction::Kind::kXbitSet || (a.kind == PostAction::Kind::kXbitToggle && !set)) {
            if (xbits.size() >= opts.max_tracked_hosts) xbits.clear();
            xbits[k] = expiry;
          } else if (it != xbits.end()) {
            xbits.erase(it);
          }
          break;
        }
      }
    }
  }

  void Queue(const Rule& r, bool has_tx, uint64_t tx_id, const TxView* tx, bool stream_match, Dir tx_dir) {
    RunPost(r);
    queue.push_back(PendingAlert{r.num, tx_id, has_tx, tx, stream_match, tx_dir});
  }

  // ----------------------------------------------------------- thresholds
  int ThresholdVerdict(const Rule& r) {
    const ThresholdSpec& t = r.threshold;
    if (t.type == ThresholdSpec::Type::kNone) return kThresholdAlert;
    if (p->ip_version == 0) return kThresholdAlert;
    const int64_t now = p->timestamp_nanos;
    const int64_t span_ns = static_cast<int64_t>(t.seconds) * 1000000000;
    ThresholdEntry* e = nullptr;
    ThresholdEntry flow_entry;
    FlowDetectState::Impl::Threshold* fe = nullptr;
    bool is_new = false;
    if (t.track == ThresholdSpec::Track::kByFlow) {
      if (fs == nullptr) return kThresholdAlert;
      for (auto& x : fs->thresholds) {
        if (x.num == r.num) fe = &x;
      }
      if (fe == nullptr) {
        fs->thresholds.push_back({r.num, now, 0, {}});
        fe = &fs->thresholds.back();
        is_new = true;
      }
      flow_entry.start_nanos = fe->start_nanos;
      flow_entry.count = fe->count;
      flow_entry.uniques = fe->uniques;
      e = &flow_entry;
    } else {
      ThresholdKey k{};
      k.num = r.num;
      switch (t.track) {
        case ThresholdSpec::Track::kBySrc: std::memcpy(k.a, p->src.bytes, 16); break;
        case ThresholdSpec::Track::kByDst: std::memcpy(k.a, p->dst.bytes, 16); break;
        case ThresholdSpec::Track::kByBoth: {
          const bool swap = std::memcmp(p->src.bytes, p->dst.bytes, 16) > 0;
          std::memcpy(k.a, (swap ? p->dst : p->src).bytes, 16);
          std::memcpy(k.b, (swap ? p->src : p->dst).bytes, 16);
          break;
        }
        default: break;
      }
      auto it = thresholds.find(k);
      if (it == thresholds.end()) {
        if (thresholds.size() >= opts.max_tracked_hosts) thresholds.clear();
        it = thresholds.emplace(k, ThresholdEntry{now, 0, {}}).first;
        is_new = true;
      }
      e = &it->second;
    }
    int verdict = kThresholdSuppress;
    const bool within = !is_new && now <= e->start_nanos + span_ns;
    switch (t.type) {
      case ThresholdSpec::Type::kLimit:
        if (is_new || !within) {
          e->start_nanos = now;
          e->count = 1;
          verdict = kThresholdAlert;
        } else {
          ++e->count;
          verdict = e->count <= t.count ? kThresholdAlert : kThresholdSilent;
        }
        break;
      case ThresholdSpec::Type::kThreshold:
        if (is_new) {
          e->start_nanos = now;
          e->count = 1;
          if (t.count == 1) {
            verdict = kThresholdAlert;
            e->count = 0;
          }
        } else if (within) {
          ++e->count;
          if (e->count >= t.count) {
            verdict = kThresholdAlert;
            e->count = 0;
          }
        } else {
          e->start_nanos = now;
          e->count = 1;
        }
        break;
      case ThresholdSpec::Type::kBoth:
        if (is_new || !within) {
          e->start_nanos = now;
          e->count = 1;
          if (t.count == 1) verdict = kThresholdAlert;
        } else {
          ++e->count;
          if (e->count == t.count) {
            verdict = kThresholdAlert;
          } else if (e->count > t.count) {
            verdict = kThresholdSilent;
          }
        }
        break;
      case ThresholdSpec::Type::kDetectionFilter: {
        if (t.unique_on != 0) {
          const uint16_t port = t.unique_on == 1 ? p->sport : p->dport;
          if (is_new || !within) {
            e->start_nanos = now;
            e->uniques.clear();
          }
          const bool fresh = std::find(e->uniques.begin(), e->uniques.end(), port) == e->uniques.end();
          if (fresh) e->uniques.push_back(port);
          e->count = static_cast<uint32_t>(e->uniques.size());
          verdict = fresh && e->count > t.count ? kThresholdAlert : kThresholdSuppress;
          break;
        }
        if (is_new || !within) {
          e->start_nanos = now;
          e->count = 1;
        } else {
          ++e->count;
          if (e->count > t.count) verdict = kThresholdAlert;
        }
        break;
      }
      case ThresholdSpec::Type::kNone:
        verdict = kThresholdAlert;
        break;
    }
    if (fe != nullptr) {
      fe->start_nanos = e->start_nanos;
      fe->count = e->count;
      fe->uniques = e->uniques;
    }
    return verdict;
  }

  void Finalize(std::vector<Alert>* out) {
    if (queue.empty()) return;
    std::sort(queue.begin(), queue.end(), [](const PendingAlert& a, const PendingAlert& b) {
      if (a.num != b.num) return a.num < b.num;
      return a.tx_id > b.tx_id;
    });
    int emitted = 0;
    for (const PendingAlert& pa : queue) {
      const Rule& r = *engine.rules[pa.num];
      const int verdict = ThresholdVerdict(r);
      if (verdict != kThresholdSuppress) {
        // pass and drop reach the whole flow for IP-only, app-layer and
        // stream/transaction matches.
        if ((r.action == Action::kPass || r.action == Action::kDrop || r.action == Action::kReject) &&
            fs != nullptr) {
          const bool to_flow = pa.stream_match || pa.has_tx || r.type == RuleType::kIpOnly || r.addr_negated ||
                               r.proto.app != AppProto::kUnknown;
          if (to_flow && !fs->passed && !fs->dropped) {
            if (r.action == Action::kPass) {
              fs->passed = true;
              ++stats->flows_passed;
            } else {
              fs->dropped = true;
            }
          }
        }
      }
      if (verdict != kThresholdAlert || r.noalert) {
        ++stats->suppressed;
        continue;
      }
      if (r.action == Action::kPass) break;
      if (emitted >= opts.max_alerts_per_packet) {
        ++stats->suppressed;
        continue;
      }
      Alert a;
      a.rule = &r;
      a.has_tx = pa.has_tx;
      a.tx_id = pa.tx_id;
      a.tx = pa.tx;
      a.stream_match = pa.stream_match;
      a.tx_dir = pa.tx_dir;
      out->push_back(a);
      ++emitted;
      ++stats->alerts;
    }
    queue.clear();
  }

  // --------------------------------------------------------------- stream
  void UpdateStream() {
    have_window = false;
    if (fs == nullptr || p->proto != 6) return;
    for (const PacketInput::Chunk& c : p->chunks) {
      auto& sd = fs->stream[static_cast<int>(c.dir)];
      std::span<const uint8_t> data = c.data;
      uint64_t offset = c.offset;
      const uint64_t have = sd.data_offset + sd.data.size();
      if (!c.gap_before && offset < have && sd.seen) {
        // Bytes handed over before (data on a SYN): only the rest is new.
        const uint64_t skip = std::min<uint64_t>(have - offset, data.size());
        data = data.subspan(static_cast<size_t>(skip));
        offset += skip;
        if (data.empty()) continue;
      }
      if (c.gap_before || offset != have || !sd.seen) {
        sd.data.clear();
        sd.data_offset = offset;
      }
      sd.seen = true;
      sd.data.append(reinterpret_cast<const char*>(data.data()), data.size());
    }
    for (int d = 0; d < 2; ++d) {
      if (p->raw_trigger[d]) fs->stream[d].trigger = true;
    }
    const int d = static_cast<int>(p->dir);
    auto& sd = fs->stream[d];
    if (sd.data.empty()) return;
    const uint64_t end_all = sd.data_offset + sd.data.size();
    const bool eof = p->pseudo || p->tcp_closing;
    uint64_t end = end_all;
    if (!eof && p->acked[d] != UINT64_MAX) end = std::min(end_all, p->acked[d]);
    if (end <= sd.data_offset) {
      if (sd.data.size() > opts.stream_window_limit) {
        end = end_all;  // Never acknowledged: do not hold it forever.
      } else {
        return;
      }
    }
    const uint64_t ready = end - sd.data_offset;
    if (!(eof || sd.trigger || ready >= opts.stream_chunk_size || sd.data.size() > opts.stream_window_limit)) return;
    window_store.assign(sd.data, 0, static_cast<size_t>(ready));
    window = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(window_store.data()), window_store.size());
    window_offset = sd.data_offset;
    have_window = true;
    sd.data.erase(0, static_cast<size_t>(ready));
    // Give back what a burst grew the buffer to: many flows stay open long.
    if (sd.data.empty()) {
      std::string().swap(sd.data);
    } else if (sd.data.capacity() > 4 * sd.data.size() + 16384) {
      sd.data.shrink_to_fit();
    }
    sd.data_offset = end;
    sd.trigger = false;
    ++stats->stream_windows;
    stats->stream_bytes += ready;
  }
  std::string window_store;
  std::vector<uint32_t> ip_candidates;

  // ------------------------------------------------------------- prefilter
  void ScanChannel(const Channel& ch, std::span<const uint8_t> data) {
    if (data.empty()) return;
    std::span<const uint8_t> buf = data;
    if (!ch.transforms.empty()) {
      if (!ApplyTransforms(ch.transforms, data, &xform, regex)) return;
      buf = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(xform.data()), xform.size());
    }
    hits.clear();
    ch.db->Scan(buf, hs, &hits);
    for (uint32_t pid : hits) {
      for (uint32_t num : ch.owners[pid]) AddCandidate(num);
    }
  }

  void CollectPacketGroup(const RuleGroup& g) {
    for (uint32_t num : g.always) AddCandidate(num);
    if (!g.port_class.empty() && p->has_ports) {
      for (uint32_t num : g.port_always[g.port_class[p->dport]]) AddCandidate(num);
    }
    for (const Channel& ch : g.channels) {
      if (ch.buffer == BufferId::kPayload) {
        const bool scan_packet = !p->pseudo && (p->proto != 6 || !p->stream_added || g.has_packet_payload_rules);
        if (scan_packet) ScanChannel(ch, p->payload);
        if (have_window) ScanChannel(ch, window);
      } else {
        ScanChannel(ch, HeaderBuffer(ch.buffer));
      }
    }
  }

  void RunPacketRules() {
    NextRound();
    const int pc = p->ip_version == 0 ? 3 : ProtoClass(p->proto);
    const int d = static_cast<int>(p->dir);
    CollectPacketGroup(engine.packet_groups[pc][d]);
    std::sort(candidates.begin(), candidates.end());
    stats->candidates += candidates.size();
    for (uint32_t num : candidates) {
      const Rule& r = *engine.rules[num];
      if (r.pd_only && p->proto_detected == 0) continue;
      bool stream_match = false;
      if (PacketRuleMatches(r, &stream_match)) Queue(r, false, 0, nullptr, stream_match, p->dir);
    }
  }

  void RunIpOnly() {
    if (p->pseudo || p->ip_version == 0) return;
    if (fs != nullptr) {
      bool& done = fs->ip_only_done[static_cast<int>(p->dir)];
      if (done) return;
      done = true;
    }
    // Candidates: rules whose address list holds this packet's source
    // (or destination), and those not indexed; in rule order.
    ip_candidates.clear();
    auto lookup = [&](const std::vector<Engine::Impl::IpIndexEntry>& index,
                      const std::vector<Engine::Impl::IpIndexEntry>& wide, const IpAddr& a) {
      if (a.version != 4) return;
      const uint32_t v = static_cast<uint32_t>(a.bytes[0]) << 24 | static_cast<uint32_t>(a.bytes[1]) << 16 |
                         static_cast<uint32_t>(a.bytes[2]) << 8 | a.bytes[3];
      for (const auto& e : wide) {
        if (e.lo <= v && v <= e.hi) ip_candidates.push_back(e.num);
      }
      if (index.empty()) return;
      auto it = std::upper_bound(index.begin(), index.end(), v,
                                 [](uint32_t x, const Engine::Impl::IpIndexEntry& e) { return x < e.lo; });
      const uint32_t floor = v >= Engine::Impl::kIpIndexMaxWidth ? v - Engine::Impl::kIpIndexMaxWidth : 0;
      while (it != index.begin()) {
        --it;
        if (it->lo < floor) break;
        if (it->hi >= v) ip_candidates.push_back(it->num);
      }
    };
    lookup(engine.ip_by_src, engine.ip_wide_src, p->src);
    lookup(engine.ip_by_dst, engine.ip_wide_dst, p->dst);
    std::sort(ip_candidates.begin(), ip_candidates.end());
    ip_candidates.erase(std::unique(ip_candidates.begin(), ip_candidates.end()), ip_candidates.end());
    // Both lists are in rule order: walk them together.
    auto hit = ip_candidates.begin();
    auto all = engine.ip_only_always.begin();
    while (hit != ip_candidates.end() || all != engine.ip_only_always.end()) {
      uint32_t num;
      if (all == engine.ip_only_always.end() || (hit != ip_candidates.end() && *hit < *all)) {
        num = *hit++;
      } else {
        num = *all++;
      }
      const Rule& r = *engine.rules[num];
      if (!ProtoOk(r) || !HeaderOk(r)) continue;
      Queue(r, false, 0, nullptr, false, p->dir);
    }
  }

  // ------------------------------------------------------------ transactions
  // Progress stage a buffer needs before it can be inspected.
  static int NeededProgress(BufferId b) {
    const BufferInfo& bi = GetBufferInfo(b);
    if (bi.progress == 0) return 1;
    if (bi.progress == 3) return 2;  // Body bytes follow the header block.
    return bi.progress;
  }
  // Whether a buffer can no longer change at this progress.
  static bool BufferFinal(BufferId b, int progress) {
    const BufferInfo& bi = GetBufferInfo(b);
    if (bi.progress == 0) return progress >= 1;
    if (bi.progress == 3) return progress >= 4;
    return progress >= bi.progress;
  }
  // The side of a transaction a buffer belongs to, for a rule inspected in direction d.
  static Dir BufferSide(BufferId b, Dir d, uint8_t pinned = 0) {
    if (pinned != 0) return pinned == kDirToServer ? Dir::kToServer : Dir::kToClient;
    const uint8_t dirs = GetBufferInfo(b).dirs;
    if (dirs == kDirToServer) return Dir::kToServer;
    if (dirs == kDirToClient) return Dir::kToClient;
    return d;
  }

  // Inspects a transaction list: 1 match, 0 not yet (may match later), -1 cannot match.
  int TxList(const MatchList& l, const TxView& tx, Dir d, bool eof) {
    const Dir side = BufferSide(l.buffer, d, l.side);
    int progress = tx.progress(side);
    if (eof) progress = 4;
    if (progress < NeededProgress(l.buffer)) return eof ? -1 : 0;
    const bool final = BufferFinal(l.buffer, progress);
    const bool multi = GetBufferInfo(l.buffer).multi;
    bool any = false;
    for (uint32_t idx = 0;; ++idx) {
      std::span<const uint8_t> data;
      if (!tx.GetBuffer(l.buffer, side, idx, &bufscratch, &data)) break;
      any = true;
      if (InspectOne(l, data, 0, final)) return 1;
      if (!multi) break;
    }
    if (!any && ListMatchesAbsentBuffer(l.matches)) return final ? 1 : 0;
    return final ? -1 : 0;
  }

  void RunTx(const TxView& tx) {
    ++stats->txs_inspected;
    FlowDetectState::Impl::TxState& ts = fs->Tx(tx.id());
    const bool eof = p->pseudo;
    const uint32_t events_now = tx.EventCount();
    const bool new_events = events_now != ts.events_seen;
    ts.events_seen = events_now;
    for (int di = 0; di < 2; ++di) {
      const Dir d = static_cast<Dir>(di);
      inspect_dir = d;
      const int progress = tx.progress(d);
      // A complete side is inspected once more only if it just completed;
      // an incomplete one each time the transaction is offered (its body
      // grows). A side already done is looked at again only by rules on
      // app-layer events, when the transaction raised new ones (Suricata
      // keeps events per transaction, for both directions).
      bool events_only = false;
      if (ts.done[di] || (progress >= 4 && ts.last_progress[di] >= 4 && !eof)) {
        if (!new_events || progress <= 0) continue;
        events_only = true;
      } else {
        if (progress <= 0 && !eof) continue;
        ts.last_progress[di] = progress;
      }
      // Candidates: prefilter over this side's buffers, rules without a
      // fast pattern, and rules already in progress on this transaction.
      NextRound();
      for (AppProto ap : {tx.proto(), AppProto::kUnknown}) {
        const RuleGroup& g = engine.tx_groups[static_cast<int>(ap)][di];
        if (events_only) {
          for (uint32_t num : g.always) {
            if (HasTxEventCheck(*engine.rules[num])) AddCandidate(num);
          }
          if (ap == AppProto::kUnknown) break;
          continue;
        }
        for (uint32_t num : g.always) AddCandidate(num);
        for (const Channel& ch : g.channels) {
          const Dir side = BufferSide(ch.buffer, d, ch.side);
          const int pr = side == d ? progress : tx.progress(side);
          if (pr < NeededProgress(ch.buffer) && !eof) continue;
          for (uint32_t idx = 0;; ++idx) {
            std::span<const uint8_t> data;
            if (!tx.GetBuffer(ch.buffer, side, idx, &bufscratch, &data)) break;
            ScanChannel(ch, data);
            if (!GetBufferInfo(ch.buffer).multi) break;
          }
        }
        if (ap == AppProto::kUnknown) break;
      }
      for (const auto& rp : ts.rules[di]) {
        if (rp.state == 0 && !events_only) AddCandidate(rp.num);
      }
      std::sort(candidates.begin(), candidates.end());
      stats->candidates += candidates.size();
      for (uint32_t num : candidates) {
        const Rule& r = *engine.rules[num];
        FlowDetectState::Impl::RuleProgress* rp = nullptr;
        for (auto& x : ts.rules[di]) {
          if (x.num == num) rp = &x;
        }
        if (rp != nullptr && rp->state != 0) continue;
        if (rp == nullptr) {
          // A new inspection: header, flow and packet keywords first.
          if (!ProtoOk(r)) continue;
          if (!TxHeaderOk(r, d) || !FlowOk(r, d)) continue;
          if (r.proto.app != AppProto::kUnknown && !AppProtoEquals(r.proto.app, tx.proto())) continue;
        }
        if (!ChecksOk(r, &tx)) {
          // Flow state may change later (flowbits), so only remember a
          // failure once the transaction is done.
          continue;
        }
        uint32_t matched = rp != nullptr ? rp->matched : 0;
        int verdict = 1;
        for (size_t li = 0; li < r.lists.size() && li < 32; ++li) {
          if (matched & (1u << li)) continue;
          const MatchList& l = r.lists[li];
          int res;
          if (GetBufferInfo(l.buffer).kind != BufferKind::kTx) {
            bool sm = false;
            res = l.buffer == BufferId::kPayload ? (PayloadOk(r, l, &sm) ? 1 : 0)
                                                : (InspectOne(l, HeaderBuffer(l.buffer), 0, true) ? 1 : 0);
            if (res == 0 && eof) res = -1;
          } else {
            res = TxList(l, tx, d, eof);
          }
          if (res == 1) {
            matched |= 1u << li;
            continue;
          }
          verdict = res;
          break;
        }
        uint8_t state = verdict == 1 ? 1 : verdict == -1 ? 2 : 0;
        if (rp == nullptr) {
          ts.rules[di].push_back({num, matched, state});
        } else {
          rp->matched = matched;
          rp->state = state;
        }
        if (verdict == 1) Queue(r, true, tx.id(), &tx, false, d);
      }
      if (progress >= 4 || eof) ts.done[di] = true;
    }
  }
};

Detector::Detector(const Engine& engine) : impl_(std::make_unique<Impl>(engine)) {}
Detector::~Detector() = default;

Result<std::unique_ptr<Detector>> Detector::Create(const Engine& engine) {
  std::unique_ptr<Detector> d(new Detector(engine));
  Impl& im = *d->impl_;
  im.stamp.assign(engine.rule_count(), 0);
  im.ist.recursion_limit = engine.options().recursion_limit;
  auto cover = [&](const RuleGroup& g) -> Status {
    for (const Channel& ch : g.channels) RAMPART_RETURN_IF_ERROR(im.hs.Cover(*ch.db));
    return Status::Ok();
  };
  const Engine::Impl& e = *engine.impl_;
  for (int pc = 0; pc < kProtoClasses; ++pc) {
    for (int dd = 0; dd < 2; ++dd) RAMPART_RETURN_IF_ERROR(cover(e.packet_groups[pc][dd]));
  }
  for (const auto& row : e.tx_groups) {
    for (const RuleGroup& g : row) RAMPART_RETURN_IF_ERROR(cover(g));
  }
  return d;
}

std::unique_ptr<FlowDetectState> Detector::NewFlowState() const {
  return std::unique_ptr<FlowDetectState>(new FlowDetectState());
}

void Detector::ForgetTx(FlowDetectState& flow, uint64_t tx_id) {
  auto& txs = flow.impl_->txs;
  std::erase_if(txs, [&](const FlowDetectState::Impl::TxState& t) { return t.id == tx_id; });
}

void Detector::Inspect(const PacketInput& p, std::span<const TxView* const> txs, std::vector<Alert>* alerts) {
  Impl& im = *impl_;
  ++stats_.packets;
  im.p = &p;
  im.stats = &stats_;
  im.fs = p.flow != nullptr ? p.flow->impl_.get() : nullptr;
  im.queue.clear();
  if (im.fs != nullptr && (im.fs->passed || im.fs->dropped)) return;
  im.UpdateStream();
  im.RunIpOnly();
  im.RunPacketRules();
  if (im.fs != nullptr) {
    for (const TxView* tx : txs) {
      if (tx != nullptr) im.RunTx(*tx);
    }
  }
  im.Finalize(alerts);
}

}  // namespace rampart::detect
