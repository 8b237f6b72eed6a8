#pragma once
// The engine's insides, shared by its files; not part of the module's
// contract (that is engine.h):
//
//   engine.cc      Engine::Build: rule order, rule types, fast patterns, groups, databases
//   detector.cc    the run loop: stream windows, prefilter, packet, IP-only and transaction rules
//   checks.cc      packet, flow, flow-state and app-layer checks (Check) of one rule
//   thresholds.cc  after a match: flow-state actions, thresholds, pass/drop, the alert queue
//
// The header checks that run for every candidate (protocol, addresses,
// ports, flow) are defined here, in the class, so the run loop inlines them.

#include <algorithm>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/detect/engine.h"
#include "agent/detect/inspect.h"
#include "agent/detect/prefilter.h"
#include "agent/detect/regex.h"

namespace rampart::detect {
namespace detail {

// Packet rule groups by IP protocol: TCP, UDP, ICMP (v4 and v6), the rest.
inline constexpr int kProtoClasses = 4;
inline int ProtoClass(uint8_t proto) {
  switch (proto) {
    case 6: return 0;
    case 17: return 1;
    case 1:
    case 58: return 2;
    default: return 3;
  }
}

// A buffer channel of a rule group: the Vectorscan database of the fast
// patterns in one buffer (with one transform chain) and who owns them.
struct Channel {
  BufferId buffer;
  SidePin side = SidePin::kNone;  // MatchList::side of the lists it serves.
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

// A rule with an app-layer-event check on a transaction's events.
bool HasTxEventCheck(const Rule& r);
// Whether a rule's app-layer protocol accepts the flow's (http accepts http2...).
inline bool AppProtoEquals(AppProto sig, AppProto flow) {
  if (sig == flow) return true;
  if (sig == AppProto::kHttp1 && flow == AppProto::kHttp2) return true;
  if (sig == AppProto::kDcerpc && flow == AppProto::kSmb) return true;
  if (sig == AppProto::kDns && flow == AppProto::kDoh2) return true;
  return false;
}

// An xbit kept by addresses, in a Detector's table: compared and hashed as
// bytes, so it is zero-filled before use.
struct XbitKey {
  uint32_t id;
  XbitTrack track;
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

// A threshold's entry in a Detector's table (tracked by addresses), likewise as bytes.
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

// A match waiting for the thresholds and the end of the packet.
struct PendingAlert {
  uint32_t num;
  uint64_t tx_id;
  bool has_tx;
  const TxView* tx;
  bool stream_match;
  Dir tx_dir;
};

// What a threshold makes of a match.
enum class ThresholdVerdict : uint8_t {
  kSuppress,  // No alert, and no pass/drop for the flow.
  kAlert,
  kSilent,    // No alert, but pass/drop still reach the flow.
};

// How far a transaction list got: matched, may still match, never will.
enum class ListResult : int8_t { kNever = -1, kNotYet = 0, kMatch = 1 };

}  // namespace detail

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
  detail::RuleGroup packet_groups[detail::kProtoClasses][2];

  // Transaction rules: by app protocol (kUnknown: any protocol) and direction.
  detail::RuleGroup tx_groups[static_cast<int>(AppProto::kCount)][2];

  size_t db_bytes = 0;
  size_t db_count = 0;
};

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

  // A stateful rule on one side of a transaction.
  struct RuleProgress {
    enum class State : uint8_t { kInProgress, kMatched, kNever };
    uint32_t num;
    uint32_t matched;  // Bit per list already matched.
    State state;
  };
  struct TxState {
    uint64_t id = 0;
    uint32_t events_seen = 0;  // TxView::EventCount() at the last inspection.
    bool done[2] = {false, false};
    TxProgress last_progress[2] = {TxProgress::kNone, TxProgress::kNone};  // At the last inspection.
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

struct Detector::Impl {
  explicit Impl(const Engine& e) : engine(*e.impl_), opts(e.impl_->options) {}
  using RuleProgress = FlowDetectState::Impl::RuleProgress;

  const Engine::Impl& engine;
  const EngineOptions& opts;
  RegexScratch regex;
  PrefilterScratch hs;
  InspectState ist;

  std::vector<uint32_t> stamp;  // Per rule: the candidate round it was last added in.
  uint32_t round = 0;
  std::vector<uint32_t> candidates;
  std::vector<uint32_t> hits;
  std::vector<detail::PendingAlert> queue;
  std::string xform;   // Transformed buffer.
  std::string bufscratch;
  Dir inspect_dir = Dir::kToServer;  // The direction RunTx is inspecting (filesize without a side).

  std::unordered_map<detail::XbitKey, int64_t, detail::XbitKeyHash> xbits;  // -> expiry (0 = never)
  std::unordered_map<detail::ThresholdKey, detail::ThresholdEntry, detail::ThresholdKeyHash> thresholds;

  // Current packet context.
  const PacketInput* p = nullptr;
  FlowDetectState::Impl* fs = nullptr;
  std::span<const uint8_t> window;  // Stream window of this packet's direction.
  uint64_t window_offset = 0;
  bool have_window = false;
  DetectStats* stats = nullptr;
  std::string window_store;
  std::vector<uint32_t> ip_candidates;

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
    return detail::AppProtoEquals(r.proto.app, p->app_proto);
  }

  // checks.cc
  bool ChecksOk(const Rule& r, const TxView* tx);
  bool CheckOk(const Check& c, const TxView* tx);
  bool CheckPacketField(const Check& c) const;
  bool CheckFlowState(const Check& c);
  bool CheckAppLayer(const Check& c, const TxView* tx) const;
  bool CheckTx(const Check& c, const TxView* tx);
  bool HasEvent(std::string_view name) const;
  void TrackAddr(XbitTrack track, uint8_t* a, uint8_t* b) const;
  bool XbitSet(uint32_t id, XbitTrack track);

  // detector.cc
  bool InspectOne(const MatchList& l, std::span<const uint8_t> data, uint64_t stream_offset, bool eof);
  std::span<const uint8_t> HeaderBuffer(BufferId b) const;
  bool PayloadOk(const Rule& r, const MatchList& l, bool* stream_match);
  bool PacketRuleMatches(const Rule& r, bool* stream_match);
  void UpdateStream();
  void ScanChannel(const detail::Channel& ch, std::span<const uint8_t> data);
  void CollectPacketGroup(const detail::RuleGroup& g);
  void RunPacketRules();
  void RunIpOnly();
  detail::ListResult TxList(const MatchList& l, const TxView& tx, Dir d, bool eof);
  void RunTx(const TxView& tx);

  // thresholds.cc
  void RunPost(const Rule& r);
  void Queue(const Rule& r, bool has_tx, uint64_t tx_id, const TxView* tx, bool stream_match, Dir tx_dir);
  detail::ThresholdVerdict ApplyThreshold(const Rule& r);
  void Finalize(std::vector<Alert>* out);
};

}  // namespace rampart::detect
