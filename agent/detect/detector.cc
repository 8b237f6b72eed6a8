// The run loop of a Detector: a packet's stream window, the prefilter, the
// IP-only, packet and transaction rules, and the flow state they keep.

#include "agent/detect/engine.h"

#include <algorithm>

#include "agent/detect/engine_internal.h"

namespace rampart::detect {

using detail::Channel;
using detail::kProtoClasses;
using detail::ListResult;
using detail::RuleGroup;

namespace {

// The side of a transaction a buffer is read from, for a rule inspected in direction d.
Dir BufferSide(BufferId b, Dir d, SidePin pinned) {
  if (pinned != SidePin::kNone) return PinnedDir(pinned, d);
  const uint8_t dirs = GetBufferInfo(b).dirs;
  if (dirs == kDirToServer) return Dir::kToServer;
  if (dirs == kDirToClient) return Dir::kToClient;
  return d;
}

}  // namespace

FlowDetectState::FlowDetectState() : impl_(std::make_unique<Impl>()) {}
FlowDetectState::~FlowDetectState() = default;
bool FlowDetectState::passed() const { return impl_->passed; }

// ------------------------------------------------------------------ buffers

// Inspects one list against one buffer (after its transforms).
bool Detector::Impl::InspectOne(const MatchList& l, std::span<const uint8_t> data, uint64_t stream_offset, bool eof) {
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

std::span<const uint8_t> Detector::Impl::HeaderBuffer(BufferId b) const {
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
bool Detector::Impl::PayloadOk(const Rule& r, const MatchList& l, bool* stream_match) {
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

bool Detector::Impl::PacketRuleMatches(const Rule& r, bool* stream_match) {
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

void Detector::Impl::UpdateStream() {
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

void Detector::Impl::ScanChannel(const Channel& ch, std::span<const uint8_t> data) {
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

void Detector::Impl::CollectPacketGroup(const RuleGroup& g) {
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

void Detector::Impl::RunPacketRules() {
  NextRound();
  const int pc = p->ip_version == 0 ? 3 : detail::ProtoClass(p->proto);
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

void Detector::Impl::RunIpOnly() {
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

// Inspects a transaction list: a match, not yet (it may match later), or never.
ListResult Detector::Impl::TxList(const MatchList& l, const TxView& tx, Dir d, bool eof) {
  const BufferInfo& bi = GetBufferInfo(l.buffer);
  const Dir side = BufferSide(l.buffer, d, l.side);
  const TxProgress progress = eof ? TxProgress::kComplete : tx.progress(side);
  if (progress < ReadyAt(bi.stage)) return eof ? ListResult::kNever : ListResult::kNotYet;
  const bool final = progress >= FinalAt(bi.stage);
  const ListResult not_found = final ? ListResult::kNever : ListResult::kNotYet;
  bool any = false;
  for (uint32_t idx = 0;; ++idx) {
    std::span<const uint8_t> data;
    if (!tx.GetBuffer(l.buffer, side, idx, &bufscratch, &data)) break;
    any = true;
    if (InspectOne(l, data, 0, final)) return ListResult::kMatch;
    if (!bi.multi) break;
  }
  if (!any && ListMatchesAbsentBuffer(l.matches)) return final ? ListResult::kMatch : ListResult::kNotYet;
  return not_found;
}

void Detector::Impl::RunTx(const TxView& tx) {
  ++stats->txs_inspected;
  FlowDetectState::Impl::TxState& ts = fs->Tx(tx.id());
  const bool eof = p->pseudo;
  const uint32_t events_now = tx.EventCount();
  const bool new_events = events_now != ts.events_seen;
  ts.events_seen = events_now;
  for (int di = 0; di < 2; ++di) {
    const Dir d = static_cast<Dir>(di);
    inspect_dir = d;
    const TxProgress progress = tx.progress(d);
    // A complete side is inspected once more only if it just completed;
    // an incomplete one each time the transaction is offered (its body
    // grows). A side already done is looked at again only by rules on
    // app-layer events, when the transaction raised new ones (Suricata
    // keeps events per transaction, for both directions).
    bool events_only = false;
    const bool complete = progress >= TxProgress::kComplete;
    if (ts.done[di] || (complete && ts.last_progress[di] >= TxProgress::kComplete && !eof)) {
      if (!new_events || progress == TxProgress::kNone) continue;
      events_only = true;
    } else {
      if (progress == TxProgress::kNone && !eof) continue;
      ts.last_progress[di] = progress;
    }
    // Candidates: prefilter over this side's buffers, rules without a
    // fast pattern, and rules already in progress on this transaction.
    NextRound();
    for (AppProto ap : {tx.proto(), AppProto::kUnknown}) {
      const RuleGroup& g = engine.tx_groups[static_cast<int>(ap)][di];
      if (events_only) {
        for (uint32_t num : g.always) {
          if (detail::HasTxEventCheck(*engine.rules[num])) AddCandidate(num);
        }
        if (ap == AppProto::kUnknown) break;
        continue;
      }
      for (uint32_t num : g.always) AddCandidate(num);
      for (const Channel& ch : g.channels) {
        const Dir side = BufferSide(ch.buffer, d, ch.side);
        const TxProgress pr = side == d ? progress : tx.progress(side);
        if (pr < ReadyAt(GetBufferInfo(ch.buffer).stage) && !eof) continue;
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
      if (rp.state == RuleProgress::State::kInProgress && !events_only) AddCandidate(rp.num);
    }
    std::sort(candidates.begin(), candidates.end());
    stats->candidates += candidates.size();
    for (uint32_t num : candidates) {
      const Rule& r = *engine.rules[num];
      RuleProgress* rp = nullptr;
      for (auto& x : ts.rules[di]) {
        if (x.num == num) rp = &x;
      }
      if (rp != nullptr && rp->state != RuleProgress::State::kInProgress) continue;
      if (rp == nullptr) {
        // A new inspection: header, flow and packet keywords first.
        if (!ProtoOk(r)) continue;
        if (!TxHeaderOk(r, d) || !FlowOk(r, d)) continue;
        if (r.proto.app != AppProto::kUnknown && !detail::AppProtoEquals(r.proto.app, tx.proto())) continue;
      }
      if (!ChecksOk(r, &tx)) {
        // Flow state may change later (flowbits), so only remember a
        // failure once the transaction is done.
        continue;
      }
      uint32_t matched = rp != nullptr ? rp->matched : 0;
      ListResult verdict = ListResult::kMatch;
      for (size_t li = 0; li < r.lists.size() && li < 32; ++li) {
        if (matched & (1u << li)) continue;
        const MatchList& l = r.lists[li];
        ListResult res;
        if (GetBufferInfo(l.buffer).kind != BufferKind::kTx) {
          bool sm = false;
          const bool m = l.buffer == BufferId::kPayload ? PayloadOk(r, l, &sm)
                                                        : InspectOne(l, HeaderBuffer(l.buffer), 0, true);
          res = m ? ListResult::kMatch : eof ? ListResult::kNever : ListResult::kNotYet;
        } else {
          res = TxList(l, tx, d, eof);
        }
        if (res == ListResult::kMatch) {
          matched |= 1u << li;
          continue;
        }
        verdict = res;
        break;
      }
      const RuleProgress::State state = verdict == ListResult::kMatch  ? RuleProgress::State::kMatched
                                        : verdict == ListResult::kNever ? RuleProgress::State::kNever
                                                                        : RuleProgress::State::kInProgress;
      if (rp == nullptr) {
        ts.rules[di].push_back({num, matched, state});
      } else {
        rp->matched = matched;
        rp->state = state;
      }
      if (verdict == ListResult::kMatch) Queue(r, true, tx.id(), &tx, false, d);
    }
    if (complete || eof) ts.done[di] = true;
  }
}

// ----------------------------------------------------------------- detector

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
