// What happens after a rule matched: its flow-state actions (flowbits,
// flowint, xbits), then, when the packet is done, thresholds and
// detection_filter, pass and drop for the flow, and the alerts in order.

#include "agent/detect/engine.h"

#include <algorithm>
#include <cstring>

#include "agent/detect/engine_internal.h"

namespace rampart::detect {

using detail::PendingAlert;
using detail::ThresholdEntry;
using detail::ThresholdKey;
using detail::ThresholdVerdict;
using detail::XbitKey;

void Detector::Impl::RunPost(const Rule& r) {
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
        if (a.track == XbitTrack::kFlow) {
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

void Detector::Impl::Queue(const Rule& r, bool has_tx, uint64_t tx_id, const TxView* tx, bool stream_match, Dir tx_dir) {
  RunPost(r);
  queue.push_back(PendingAlert{r.num, tx_id, has_tx, tx, stream_match, tx_dir});
}

// Counts the match in its threshold entry and says what becomes of it.
ThresholdVerdict Detector::Impl::ApplyThreshold(const Rule& r) {
  const ThresholdSpec& t = r.threshold;
  if (t.type == ThresholdSpec::Type::kNone) return ThresholdVerdict::kAlert;
  if (p->ip_version == 0) return ThresholdVerdict::kAlert;
  const int64_t now = p->timestamp_nanos;
  const int64_t span_ns = static_cast<int64_t>(t.seconds) * 1000000000;
  ThresholdEntry* e = nullptr;
  ThresholdEntry flow_entry;
  FlowDetectState::Impl::Threshold* fe = nullptr;
  bool is_new = false;
  if (t.track == ThresholdSpec::Track::kByFlow) {
    if (fs == nullptr) return ThresholdVerdict::kAlert;
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
  ThresholdVerdict verdict = ThresholdVerdict::kSuppress;
  const bool within = !is_new && now <= e->start_nanos + span_ns;
  switch (t.type) {
    case ThresholdSpec::Type::kLimit:
      if (is_new || !within) {
        e->start_nanos = now;
        e->count = 1;
        verdict = ThresholdVerdict::kAlert;
      } else {
        ++e->count;
        verdict = e->count <= t.count ? ThresholdVerdict::kAlert : ThresholdVerdict::kSilent;
      }
      break;
    case ThresholdSpec::Type::kThreshold:
      if (is_new) {
        e->start_nanos = now;
        e->count = 1;
        if (t.count == 1) {
          verdict = ThresholdVerdict::kAlert;
          e->count = 0;
        }
      } else if (within) {
        ++e->count;
        if (e->count >= t.count) {
          verdict = ThresholdVerdict::kAlert;
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
        if (t.count == 1) verdict = ThresholdVerdict::kAlert;
      } else {
        ++e->count;
        if (e->count == t.count) {
          verdict = ThresholdVerdict::kAlert;
        } else if (e->count > t.count) {
          verdict = ThresholdVerdict::kSilent;
        }
      }
      break;
    case ThresholdSpec::Type::kDetectionFilter: {
      if (t.unique_on != ThresholdSpec::UniqueOn::kNone) {
        const uint16_t port = t.unique_on == ThresholdSpec::UniqueOn::kSrcPort ? p->sport : p->dport;
        if (is_new || !within) {
          e->start_nanos = now;
          e->uniques.clear();
        }
        const bool fresh = std::find(e->uniques.begin(), e->uniques.end(), port) == e->uniques.end();
        if (fresh) e->uniques.push_back(port);
        e->count = static_cast<uint32_t>(e->uniques.size());
        verdict = fresh && e->count > t.count ? ThresholdVerdict::kAlert : ThresholdVerdict::kSuppress;
        break;
      }
      if (is_new || !within) {
        e->start_nanos = now;
        e->count = 1;
      } else {
        ++e->count;
        if (e->count > t.count) verdict = ThresholdVerdict::kAlert;
      }
      break;
    }
    case ThresholdSpec::Type::kNone:
      verdict = ThresholdVerdict::kAlert;
      break;
  }
  if (fe != nullptr) {
    fe->start_nanos = e->start_nanos;
    fe->count = e->count;
    fe->uniques = e->uniques;
  }
  return verdict;
}

void Detector::Impl::Finalize(std::vector<Alert>* out) {
  if (queue.empty()) return;
  std::sort(queue.begin(), queue.end(), [](const PendingAlert& a, const PendingAlert& b) {
    if (a.num != b.num) return a.num < b.num;
    return a.tx_id > b.tx_id;
  });
  int emitted = 0;
  for (const PendingAlert& pa : queue) {
    const Rule& r = *engine.rules[pa.num];
    const ThresholdVerdict verdict = ApplyThreshold(r);
    if (verdict != ThresholdVerdict::kSuppress) {
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
    if (verdict != ThresholdVerdict::kAlert || r.noalert) {
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

}  // namespace rampart::detect
