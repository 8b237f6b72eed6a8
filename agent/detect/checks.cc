// The checks of one rule (Check, from the packet and flow keywords) on the
// current packet, its flow's state and its transaction.

#include <algorithm>
#include <cctype>
#include <cstring>

#include "agent/detect/engine_internal.h"

namespace rampart::detect {

using detail::AppProtoEquals;
using detail::XbitKey;

namespace {

// flags and fragbits: the packet's bits against the rule's.
bool BitsModeMatch(uint16_t value, uint16_t bits, Check::BitsMode mode) {
  switch (mode) {
    case Check::BitsMode::kAllOf: return (value & bits) == bits;
    case Check::BitsMode::kAnyOf: return (value & bits) != 0;
    case Check::BitsMode::kNot: return (value & bits) != bits;
    case Check::BitsMode::kExact: return value == bits;
  }
  return value == bits;
}

}  // namespace

bool Detector::Impl::HasEvent(std::string_view name) const {
  for (std::string_view e : p->events) {
    if (e == name) return true;
  }
  return false;
}

void Detector::Impl::TrackAddr(XbitTrack track, uint8_t* a, uint8_t* b) const {
  std::memset(a, 0, 16);
  std::memset(b, 0, 16);
  const IpAddr& s = p->src;
  const IpAddr& d = p->dst;
  if (track == XbitTrack::kIpSrc) {
    std::memcpy(a, s.bytes, 16);
  } else if (track == XbitTrack::kIpDst) {
    std::memcpy(a, d.bytes, 16);
  } else if (track == XbitTrack::kIpPair) {
    const bool swap = std::memcmp(s.bytes, d.bytes, 16) > 0;
    std::memcpy(a, (swap ? d : s).bytes, 16);
    std::memcpy(b, (swap ? s : d).bytes, 16);
  }
}

bool Detector::Impl::XbitSet(uint32_t id, XbitTrack track) {
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

bool Detector::Impl::ChecksOk(const Rule& r, const TxView* tx) {
  for (const Check& c : r.checks) {
    if (!CheckOk(c, tx)) return false;
  }
  return true;
}

bool Detector::Impl::CheckOk(const Check& c, const TxView* tx) {
  using K = Check::Kind;
  switch (c.kind) {
    case K::kFlowbits:
    case K::kFlowint:
    case K::kXbits:
      return CheckFlowState(c);
    case K::kAppLayerProtocol:
    case K::kDecodeEvent:
    case K::kStreamEvent:
    case K::kAppLayerEvent:
      return CheckAppLayer(c, tx);
    case K::kTlsVersion:
    case K::kSslVersion:
    case K::kTlsSubject:
    case K::kTlsIssuer:
    case K::kTlsFingerprint:
    case K::kTlsNotBefore:
    case K::kTlsNotAfter:
    case K::kTlsCertExpired:
    case K::kTlsCertValid:
    case K::kFileSize:
      return CheckTx(c, tx);
    default:
      return CheckPacketField(c);
  }
}

// Header values and flow counters of the packet.
bool Detector::Impl::CheckPacketField(const Check& c) const {
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
      switch (c.stream_side) {
        case Check::StreamSide::kServer: return c.num.Matches(server);
        case Check::StreamSide::kClient: return c.num.Matches(client);
        case Check::StreamSide::kBoth: return c.num.Matches(server) && c.num.Matches(client);
        case Check::StreamSide::kEither: return c.num.Matches(server) || c.num.Matches(client);
      }
      return false;
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
      switch (c.counter_dir) {
        case Check::CounterDir::kToServer: return c.num.Matches(v[0]);
        case Check::CounterDir::kToClient: return c.num.Matches(v[1]);
        case Check::CounterDir::kEither: return c.num.Matches(v[0]) || c.num.Matches(v[1]);
        case Check::CounterDir::kBoth: return c.num.Matches(v[0]) && c.num.Matches(v[1]);
      }
      return false;
    }
    case K::kTcpFlags:
      return tcp && BitsModeMatch(static_cast<uint16_t>(p->tcp_flags & c.mask), c.bits, c.mode);
    case K::kFragbits: {
      if (p->ip_version != 4) return false;
      const uint16_t v = static_cast<uint16_t>((p->ip_mf ? 1 : 0) | (p->ip_df ? 2 : 0) | (p->ip_rf ? 4 : 0));
      return BitsModeMatch(v, c.bits, c.mode);
    }
    case K::kIpopts: return p->ip_version == 4 && (p->ip_options & c.bits) != 0;
    case K::kSameIp: return p->ip_version != 0 && p->src == p->dst;
    default:
      return false;
  }
}

// flowbits, flowint, xbits: the flow's (or the addresses') state.
bool Detector::Impl::CheckFlowState(const Check& c) {
  using K = Check::Kind;
  switch (c.kind) {
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
      if (c.track == XbitTrack::kFlow) {
        const bool set = fs != nullptr && fs->IsBitSet(c.ids[0] | 0x80000000u);
        return c.bit_op == Check::BitOp::kIsSet ? set : !set;
      }
      const bool set = p->ip_version != 0 && XbitSet(c.ids[0], c.track);
      return c.bit_op == Check::BitOp::kIsSet ? set : !set;
    }
    default:
      return false;
  }
}

// app-layer-protocol and the event keywords.
bool Detector::Impl::CheckAppLayer(const Check& c, const TxView* tx) const {
  using K = Check::Kind;
  switch (c.kind) {
    case K::kAppLayerProtocol: {
      if (c.proto_side != Check::ProtoSide::kFlow) {
        // either / to_server / to_client: the directions' own detection results.
        auto eq = [&](AppProto a) {
          return a != AppProto::kUnknown && (c.proto == AppProto::kUnknown ? false : AppProtoEquals(c.proto, a));
        };
        bool r;
        if (c.proto_side == Check::ProtoSide::kEither) {
          r = eq(p->app_proto_dir[0]) || eq(p->app_proto_dir[1]);
        } else {
          const AppProto a = p->app_proto_dir[c.proto_side == Check::ProtoSide::kToServer ? 0 : 1];
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
    default:
      return false;
  }
}

// TLS keywords and filesize: fields of the transaction.
bool Detector::Impl::CheckTx(const Check& c, const TxView* tx) {
  using K = Check::Kind;
  switch (c.kind) {
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
      const Dir side = PinnedDir(c.file_side, inspect_dir);
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

}  // namespace rampart::detect
