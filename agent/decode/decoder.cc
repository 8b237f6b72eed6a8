#include "agent/decode/decoder.h"

#include <arpa/inet.h>

#include <cstring>

#include "agent/decode/checksum.h"

namespace rampart::decode {
namespace {

inline uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t Be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 | p[3];
}

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86dd;
constexpr uint16_t kEtherVlan = 0x8100;
constexpr uint16_t kEtherQinq = 0x88a8;
constexpr uint16_t kEtherQinq2 = 0x9100;
constexpr uint16_t kEtherPppoeSession = 0x8864;
constexpr uint16_t kEtherMpls = 0x8847;
constexpr uint16_t kEtherMplsMulticast = 0x8848;

const std::string_view kEventNames[] = {
#define RAMPART_DECODE_EVENT_NAME(id, name) name,
    RAMPART_DECODE_EVENTS(RAMPART_DECODE_EVENT_NAME)
#undef RAMPART_DECODE_EVENT_NAME
};

}  // namespace

std::string_view EventName(Event e) {
  const auto i = static_cast<size_t>(e);
  return i < static_cast<size_t>(kEventCount) ? kEventNames[i] : std::string_view("decoder.unknown");
}

size_t IpAddr::Format(char* out) const {
  char* p = out;
  if (family == 4) {
    for (int i = 0; i < 4; ++i) {
      const unsigned v = bytes[i];
      if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
      if (v >= 10) *p++ = static_cast<char>('0' + (v / 10) % 10);
      *p++ = static_cast<char>('0' + v % 10);
      if (i < 3) *p++ = '.';
    }
    *p = 0;
    return static_cast<size_t>(p - out);
  }
  if (family != 6) {
    out[0] = 0;
    return 0;
  }
  // RFC 5952: lower-case hex, no leading zeros, the longest run (of at least
  // two) of zero groups as "::", the first such run on a tie. An IPv4-mapped
  // or -compatible address keeps its dotted tail, as inet_ntop prints it.
  uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>(bytes[2 * i] << 8 | bytes[2 * i + 1]);
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len && j - i >= 2) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  const bool v4_tail = best == 0 && (best_len == 6 || (best_len == 5 && g[5] == 0xffff));
  static const char kHex[] = "0123456789abcdef";
  const int groups = v4_tail ? 6 : 8;
  for (int i = 0; i < groups; ++i) {
    if (i == best) {
      *p++ = ':';
      if (i == 0) *p++ = ':';
      i += best_len - 1;
      if (i + 1 >= groups && !v4_tail) break;
      continue;
    }
    const uint16_t v = g[i];
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const int d = (v >> shift) & 0xf;
      if (d != 0 || started || shift == 0) {
        *p++ = kHex[d];
        started = true;
      }
    }
    if (i < groups - 1) *p++ = ':';
  }
  if (v4_tail) {
    if (p[-1] != ':') *p++ = ':';  // "::ffff:" before the dotted quad.
    for (int i = 12; i < 16; ++i) {
      const unsigned v = bytes[i];
      if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
      if (v >= 10) *p++ = static_cast<char>('0' + (v / 10) % 10);
      *p++ = static_cast<char>('0' + v % 10);
      if (i < 15) *p++ = '.';
    }
  }
  *p = 0;
  return static_cast<size_t>(p - out);
}

std::string IpAddr::ToString() const {
  char buf[64];
  const size_t n = Format(buf);
  return std::string(buf, n);
}

void Decoder::AddEvent(Packet* p, Event e) {
  ++counters_.events[static_cast<size_t>(e)];
  if (p->event_count == 0) ++counters_.invalid;
  if (p->event_count < kMaxPacketEvents) p->events[p->event_count] = e;
  if (p->event_count < 255) ++p->event_count;
}

void Decoder::Decode(const capture::Frame& frame, Packet* p) {
  *p = Packet();
  p->timestamp_nanos = frame.timestamp_nanos;
  p->number = frame.number;
  p->frame = frame.bytes.data();
  p->caplen = static_cast<uint32_t>(frame.bytes.size());
  p->wire_length = frame.wire_length;
  ++counters_.pkts;
  counters_.bytes += frame.wire_length;
  if (frame.wire_length > counters_.max_pkt_size) counters_.max_pkt_size = frame.wire_length;

  const uint8_t* d = frame.bytes.data();
  const uint32_t len = p->caplen;
  switch (link_) {
    case capture::LinkType::kEthernet:
      DecodeEthernet(d, len, p);
      break;
    case capture::LinkType::kRawIp:
    case capture::LinkType::kIpv4:
    case capture::LinkType::kIpv6:
      ++counters_.raw;
      if (len < 1) {
        AddEvent(p, Event::kIprawInvalidIpVersion);
        return;
      }
      if ((d[0] >> 4) != 4 && (d[0] >> 4) != 6) {
        AddEvent(p, Event::kIprawInvalidIpVersion);
        return;
      }
      DecodeIp(d, len, p);
      break;
    case capture::LinkType::kLinuxSll:
      ++counters_.sll;
      if (len < 16) {
        AddEvent(p, Event::kSllPktTooSmall);
        return;
      }
      DecodeEthertype(Be16(d + 14), d + 16, len - 16, p, 0);
      break;
    case capture::LinkType::kLinuxSll2:
      ++counters_.sll;
      if (len < 20) {
        AddEvent(p, Event::kSllPktTooSmall);
        return;
      }
      DecodeEthertype(Be16(d), d + 20, len - 20, p, 0);
      break;
    case capture::LinkType::kNull:
    case capture::LinkType::kLoop: {
      ++counters_.null;
      if (len < 4) {
        AddEvent(p, Event::kLtnullPktTooSmall);
        return;
      }
      uint32_t family;
      if (link_ == capture::LinkType::kLoop) {
        family = Be32(d);
      } else {
        // Host order of the machine that captured: try both.
        std::memcpy(&family, d, 4);
        if (family > 0xffff) family = __builtin_bswap32(family);
      }
      switch (family) {
        case 2:  // AF_INET everywhere
          DecodeIpv4(d + 4, len - 4, p);
          break;
        case 10:  // AF_INET6: Linux
        case 24:  // NetBSD, OpenBSD, BSD/OS
        case 28:  // FreeBSD, DragonFly
        case 30:  // macOS
          DecodeIpv6(d + 4, len - 4, p);
          break;
        default:
          AddEvent(p, Event::kLtnullUnsupportedType);
          return;
      }
      break;
    }
  }
}

void Decoder::DecodeEthernet(const uint8_t* d, uint32_t len, Packet* p) {
  ++counters_.ethernet;
  if (len < 14) {
    AddEvent(p, Event::kEthernetPktTooSmall);
    return;
  }
  DecodeEthertype(Be16(d + 12), d + 14, len - 14, p, 0);
}

void Decoder::DecodeEthertype(uint16_t type, const uint8_t* d, uint32_t len, Packet* p, int depth) {
  if (depth > 8) return;
  switch (type) {
    case kEtherIpv4:
      DecodeIpv4(d, len, p);
      return;
    case kEtherIpv6:
      DecodeIpv6(d, len, p);
      return;
    case kEtherVlan:
    case kEtherQinq:
    case kEtherQinq2: {
      if (p->vlan_count == 0) {
        ++counters_.vlan;
      } else if (p->vlan_count == 1) {
        ++counters_.vlan_qinq;
      }
      if (len < 4) {
        AddEvent(p, Event::kVlanHeaderTooSmall);
        return;
      }
      if (p->vlan_count >= 3) {
        AddEvent(p, Event::kVlanTooManyLayers);
        return;
      }
      if (p->vlan_count < 2) p->vlan[p->vlan_count] = Be16(d) & 0x0fff;
      ++p->vlan_count;
      DecodeEthertype(Be16(d + 2), d + 4, len - 4, p, depth + 1);
      return;
    }
    case kEtherPppoeSession: {
      ++counters_.pppoe;
      // version/type, code, session id, length, then the PPP protocol.
      if (len < 8) {
        AddEvent(p, Event::kPppoePktTooSmall);
        return;
      }
      const uint16_t proto = Be16(d + 6);
      if (proto == 0x0021) {
        DecodeIpv4(d + 8, len - 8, p);
      } else if (proto == 0x0057) {
        DecodeIpv6(d + 8, len - 8, p);
      }
      return;
    }
    case kEtherMpls:
    case kEtherMplsMulticast: {
      ++counters_.mpls;
      uint32_t off = 0;
      for (int labels = 0;; ++labels) {
        if (len - off < 4 || labels > 16) {
          AddEvent(p, Event::kMplsPktTooSmall);
          return;
        }
        const bool bottom = (d[off + 2] & 0x01) != 0;
        off += 4;
        if (bottom) break;
      }
      if (len - off < 1) {
        AddEvent(p, Event::kMplsPktTooSmall);
        return;
      }
      const uint8_t version = d[off] >> 4;
      if (version == 4) {
        DecodeIpv4(d + off, len - off, p);
      } else if (version == 6) {
        DecodeIpv6(d + off, len - off, p);
      } else {
        AddEvent(p, Event::kMplsUnknownPayloadType);
      }
      return;
    }
    default:
      // 802.3 with an LLC/SNAP header carrying an ethertype (OUI 0).
      if (type <= 1500 && len >= 8 && d[0] == 0xaa && d[1] == 0xaa && d[2] == 0x03 && d[3] == 0 && d[4] == 0 &&
          d[5] == 0) {
        DecodeEthertype(Be16(d + 6), d + 8, len - 8, p, depth + 1);
      }
      return;  // ARP, LLDP and the like: no IP.
  }
}

void Decoder::DecodeIp(const uint8_t* d, uint32_t len, Packet* p) {
  if ((d[0] >> 4) == 6) {
    DecodeIpv6(d, len, p);
  } else {
    DecodeIpv4(d, len, p);
  }
}

void Decoder::DecodeIpv4(const uint8_t* d, uint32_t len, Packet* p) {
  ++counters_.ipv4;
  if (len < 20) {
    AddEvent(p, Event::kIpv4PktTooSmall);
    return;
  }
  if ((d[0] >> 4) != 4) {
    AddEvent(p, Event::kIpv4WrongIpVersion);
    return;
  }
  const uint32_t hlen = (d[0] & 0x0f) * 4u;
  if (hlen < 20) {
    AddEvent(p, Event::kIpv4HlenTooSmall);
    return;
  }
  uint32_t total = Be16(d + 2);
  // Segmentation offload captures the packet before the NIC fills the length in.
  if (total == 0 && len >= hlen) total = len;
  if (total < hlen) {
    AddEvent(p, Event::kIpv4IplenSmallerThanHlen);
    return;
  }
  if (len < hlen) {
    AddEvent(p, Event::kIpv4TruncPkt);
    return;
  }
  uint32_t avail = total;
  if (len < total) {
    // Cut by the snap length, or a lying header: decode what is there.
    if (p->wire_length == 0 || p->caplen >= p->wire_length) AddEvent(p, Event::kIpv4TruncPkt);
    p->l3_truncated = true;
    avail = len;
  }
  p->ip_version = 4;
  p->l3 = d;
  p->l3_hlen = static_cast<uint16_t>(hlen);
  p->l3_len = avail;
  p->l3_declared_len = total;
  p->tos = d[1];
  p->ip_id = Be16(d + 4);
  const uint16_t frag = Be16(d + 6);
  p->ip_rf = (frag & 0x8000) != 0;
  p->ip_df = (frag & 0x4000) != 0;
  p->ip_mf = (frag & 0x2000) != 0;
  p->frag_offset = static_cast<uint16_t>((frag & 0x1fff) * 8);
  p->ttl = d[8];
  p->proto = d[9];
  p->src.family = 4;
  p->dst.family = 4;
  std::memcpy(p->src.bytes, d + 12, 4);
  std::memcpy(p->dst.bytes, d + 16, 4);
  if (options_.all_checksums) {
    p->ip_csum = Ipv4HeaderChecksumOk(d, hlen) ? Checksum::kValid : Checksum::kInvalid;
  }

  // Options.
  if (hlen > 20) {
    uint32_t off = 20;
    uint16_t seen = 0;
    while (off < hlen) {
      const uint8_t type = d[off];
      if (type == 0) {  // EOL
        p->ip_options |= kIpOptEol;
        break;
      }
      if (type == 1) {  // NOP
        p->ip_options |= kIpOptNop;
        ++off;
        continue;
      }
      if (off + 1 >= hlen) {
        AddEvent(p, Event::kIpv4OptMalformed);
        break;
      }
      const uint8_t olen = d[off + 1];
      if (olen < 2 || off + olen > hlen) {
        AddEvent(p, Event::kIpv4OptInvalidLen);
        break;
      }
      uint16_t bit = 0;
      switch (type) {
        case 7: bit = kIpOptRr; break;
        case 68: bit = kIpOptTs; break;
        case 130: bit = kIpOptSec; break;
        case 133: bit = kIpOptEsec; break;
        case 131: bit = kIpOptLsrr; break;
        case 137: bit = kIpOptSsrr; break;
        case 136: bit = kIpOptSatid; break;
        case 25:   // Quick-start
        case 134:  // CIPSO
        case 148:  // Router alert
          bit = kIpOptOther;
          break;
        default:
          bit = kIpOptOther;
          AddEvent(p, Event::kIpv4OptUnknown);
          break;
      }
      if (bit != kIpOptOther && (seen & bit) != 0) AddEvent(p, Event::kIpv4OptDuplicate);
      seen |= bit;
      // Structural checks Suricata makes on the common options.
      if ((type == 7 || type == 131 || type == 137) && (olen < 3 || ((olen - 3) % 4) != 0)) {
        AddEvent(p, Event::kIpv4OptInvalidLen);
      } else if (type == 68 && olen < 4) {
        AddEvent(p, Event::kIpv4OptInvalidLen);
      } else if (type == 136 && olen != 4) {
        AddEvent(p, Event::kIpv4OptInvalidLen);
      }
      p->ip_options |= bit;
      off += olen;
    }
  }

  if (p->frag_offset > 0 || p->ip_mf) {
    p->fragment = true;
    if (p->frag_offset + (total - hlen) > 65535) AddEvent(p, Event::kIpv4FragPktTooLarge);
    return;
  }
  DecodeL4(p);
}

void Decoder::DecodeIpv6(const uint8_t* d, uint32_t len, Packet* p) {
  ++counters_.ipv6;
  if (len < 40) {
    AddEvent(p, Event::kIpv6PktTooSmall);
    return;
  }
  if ((d[0] >> 4) != 6) {
    AddEvent(p, Event::kIpv6WrongIpVersion);
    return;
  }
  const uint32_t plen = Be16(d + 4);
  uint32_t avail = 40 + plen;
  if (len < avail) {
    if (p->wire_length == 0 || p->caplen >= p->wire_length) AddEvent(p, Event::kIpv6TruncPkt);
    p->l3_truncated = true;
    avail = len;
  }
  p->ip_version = 6;
  p->l3 = d;
  p->l3_len = avail;
  p->l3_declared_len = 40 + plen;
  p->tos = static_cast<uint8_t>((Be16(d) >> 4) & 0xff);
  p->ttl = d[7];
  p->src.family = 6;
  p->dst.family = 6;
  std::memcpy(p->src.bytes, d + 8, 16);
  std::memcpy(p->dst.bytes, d + 24, 16);

  // Extension headers.
  uint8_t next = d[6];
  uint32_t off = 40;
  int count = 0;
  uint16_t seen = 0;
  auto dup = [&](uint16_t bit, Event e) {
    if (seen & bit) AddEvent(p, e);
    seen |= bit;
  };
  bool done = false;
  while (!done && count++ < 16) {
    // After an extension header, whatever comes next needs at least its
    // first two bytes (next header and length, or the start of the upper
    // layer); less is a truncated chain (Suricata: ipv6.trunc_exthdr).
    if (count > 1 && next != 59 && avail - off < 2) {
      AddEvent(p, Event::kIpv6TruncExthdr);
      return;
    }
    switch (next) {
      case 0:    // Hop-by-hop
      case 60: { // Destination options
        const bool hop = next == 0;
        dup(hop ? 1 : 8, hop ? Event::kIpv6ExthdrDuplHh : Event::kIpv6ExthdrDuplDh);
        if (avail - off < 8) {
          AddEvent(p, Event::kIpv6TruncExthdr);
          return;
        }
        const uint32_t hlen = (d[off + 1] + 1u) * 8u;
        if (avail - off < hlen) {
          AddEvent(p, Event::kIpv6TruncExthdr);
          return;
        }
        // Options: count padding-only headers and unknown options.
        bool only_padding = true;
        uint32_t o = off + 2;
        while (o < off + hlen) {
          const uint8_t t = d[o];
          if (t == 0) {  // Pad1
            ++o;
            continue;
          }
          if (o + 1 >= off + hlen) {
            AddEvent(p, Event::kIpv6ExthdrInvalidOptlen);
            break;
          }
          const uint8_t ol = d[o + 1];
          if (o + 2 + ol > off + hlen) {
            AddEvent(p, Event::kIpv6ExthdrInvalidOptlen);
            break;
          }
          if (t == 1) {  // PadN
            if (ol == 0) AddEvent(p, Event::kIpv6ZeroLenPadn);
          } else {
            only_padding = false;
            // Router alert (5), jumbo (0xc2), home address (0xc9), tunnel limit (4), CALIPSO (7), quick start (0x26)
            if (t != 5 && t != 0xc2 && t != 0xc9 && t != 4 && t != 7 && t != 0x26 && t != 0x63 && t != 0x8b &&
                t != 0x6d) {
              AddEvent(p, hop ? Event::kIpv6HopoptsUnknownOpt : Event::kIpv6DstoptsUnknownOpt);
            }
          }
          o += 2u + ol;
        }
        if (only_padding) AddEvent(p, hop ? Event::kIpv6HopoptsOnlyPadding : Event::kIpv6DstoptsOnlyPadding);
        p->ipv6_exthdrs |= hop ? 1 : 8;
        next = d[off];
        off += hlen;
        break;
      }
      case 43: {  // Routing
        dup(2, Event::kIpv6ExthdrDuplRh);
        if (avail - off < 8) {
          AddEvent(p, Event::kIpv6TruncExthdr);
          return;
        }
        const uint32_t hlen = (d[off + 1] + 1u) * 8u;
        if (avail - off < hlen) {
          AddEvent(p, Event::kIpv6TruncExthdr);
          return;
        }
        if (d[off + 2] == 0) AddEvent(p, Event::kIpv6RhType0);
        p->ipv6_exthdrs |= 2;
        next = d[off];
        off += hlen;
        break;
      }
      case 44: {  // Fragment
        dup(4, Event::kIpv6ExthdrDuplFh);
        if (avail - off < 8) {
          AddEvent(p, Event::kIpv6TruncExthdr);
          return;
        }
        if (d[off + 1] != 0) AddEvent(p, Event::kIpv6FhNonZeroReservedField);
        const uint16_t fo = Be16(d + off + 2);
        p->frag_offset = static_cast<uint16_t>(fo & 0xfff8);
        p->ip_mf = (fo & 1) != 0;
        p->ip_id = Be32(d + off + 4);
        p->ipv6_exthdrs |= 4;
        p->ipv6_frag_hdr_offset = static_cast<uint16_t>(off);
        p->ipv6_unfrag_len = static_cast<uint16_t>(off);
        p->ipv6_frag_next = d[off];
        next = d[off];
        off += 8;
        if (p->frag_offset == 0 && !p->ip_mf) {
          // An atomic fragment: nothing to reassemble.
          AddEvent(p, Event::kIpv6ExthdrUselessFh);
          break;
        }
        p->fragment = true;
        const uint32_t frag_len = avail - off;
        if (p->ip_mf && (frag_len % 8) != 0) AddEvent(p, Event::kIpv6FragInvalidLength);
        if (p->frag_offset + frag_len > 65535) AddEvent(p, Event::kIpv6FragPktTooLarge);
        p->l3_hlen = static_cast<uint16_t>(off);
        p->proto = next;
        return;
      }
      case 51: {  // AH
        dup(16, Event::kIpv6ExthdrDuplAh);
        if (avail - off < 8) {
          AddEvent(p, Event::kIpv6TruncExthdr);
          return;
        }
        const uint32_t hlen = (d[off + 1] + 2u) * 4u;
        if (avail - off < hlen) {
          AddEvent(p, Event::kIpv6TruncExthdr);
          return;
        }
        p->ipv6_exthdrs |= 16;
        next = d[off];
        off += hlen;
        break;
      }
      case 50:  // ESP: encrypted from here on.
        dup(32, Event::kIpv6ExthdrDuplEh);
        p->ipv6_exthdrs |= 32;
        done = true;
        break;
      case 59:  // No next header
        if (avail > off) AddEvent(p, Event::kIpv6DataAfterNoneHeader);
        done = true;
        break;
      default:
        done = true;
        break;
    }
  }
  p->l3_hlen = static_cast<uint16_t>(off);
  p->proto = next;
  if (next == 50 || next == 59) return;
  DecodeL4(p);
}

void Decoder::DecodeL4(Packet* p) {
  const uint8_t* d = p->l3 + p->l3_hlen;
  const uint32_t len = p->l3_len - p->l3_hlen;
  switch (p->proto) {
    case 6:
      DecodeTcp(p, d, len);
      break;
    case 17:
      DecodeUdp(p, d, len);
      break;
    case 1:
      if (p->ip_version == 6) AddEvent(p, Event::kIpv6Icmpv4);
      DecodeIcmp4(p, d, len);
      break;
    case 58:
      if (p->ip_version == 4) AddEvent(p, Event::kIpv4Icmpv6);
      DecodeIcmp6(p, d, len);
      break;
    case 4:   // IPv4 in IP
    case 41:  // IPv6 in IP
      p->l4_kind = L4::kOther;
      p->payload = d;
      p->payload_len = len;
      if (len >= 20 && (d[0] >> 4) == (p->proto == 4 ? 4 : 6)) {
        if (p->ip_version == 4) {
          ++(p->proto == 4 ? counters_.ipv4_in_ipv4 : counters_.ipv6_in_ipv4);
        } else {
          ++(p->proto == 4 ? counters_.ipv4_in_ipv6 : counters_.ipv6_in_ipv6);
        }
        SetTunnel(p, TunnelType::kIpInIp, TunnelInner::kIp, d, len);
      }
      break;
    case 47:
      p->l4_kind = L4::kOther;
      p->payload = d;
      p->payload_len = len;
      DecodeGre(p, d, len);
      break;
    case 0:
    case 43:
    case 44:
    case 60:
    case 51:
      // An IPv6 extension header that the loop did not consume (too many).
      if (p->ip_version == 6) AddEvent(p, Event::kIpv6UnknownNextHeader);
      [[fallthrough]];
    default:
      p->l4_kind = L4::kOther;
      p->payload = d;
      p->payload_len = len;
      break;
  }
}

void Decoder::DecodeTcp(Packet* p, const uint8_t* d, uint32_t len) {
  ++counters_.tcp;
  if (len < 20) {
    AddEvent(p, Event::kTcpPktTooSmall);
    return;
  }
  const uint32_t hlen = (d[12] >> 4) * 4u;
  if (hlen < 20) {
    AddEvent(p, Event::kTcpHlenTooSmall);
    return;
  }
  if (len < hlen) {
    AddEvent(p, Event::kTcpInvalidOptlen);
    return;
  }
  p->l4_kind = L4::kTcp;
  p->l4 = d;
  p->l4_hlen = static_cast<uint16_t>(hlen);
  p->sport = Be16(d);
  p->dport = Be16(d + 2);
  p->tcp_seq = Be32(d + 4);
  p->tcp_ack = Be32(d + 8);
  p->tcp_flags = d[13];
  p->tcp_window = Be16(d + 14);
  p->tcp_urgent = Be16(d + 18);
  p->payload = d + hlen;
  p->payload_len = len - hlen;

  // Options.
  uint32_t off = 20;
  uint32_t seen = 0;
  while (off < hlen) {
    const uint8_t kind = d[off];
    if (kind == 0) {
      p->tcp_options |= 1u;
      break;
    }
    if (kind == 1) {
      p->tcp_options |= 2u;
      ++off;
      continue;
    }
    if (off + 1 >= hlen) {
      AddEvent(p, Event::kTcpOptInvalidLen);
      break;
    }
    const uint8_t olen = d[off + 1];
    if (olen < 2 || off + olen > hlen) {
      AddEvent(p, Event::kTcpOptInvalidLen);
      break;
    }
    const uint32_t bit = kind < 31 ? (1u << kind) : (1u << 31);
    if (kind < 31 && (seen & bit) != 0 && (kind == 2 || kind == 3 || kind == 4 || kind == 8)) {
      AddEvent(p, Event::kTcpOptDuplicate);
    }
    seen |= bit;
    p->tcp_options |= bit;
    switch (kind) {
      case 2:
        if (olen == 4) {
          p->tcp_mss = Be16(d + off + 2);
        } else {
          AddEvent(p, Event::kTcpOptInvalidLen);
        }
        break;
      case 3:
        if (olen == 3) {
          p->tcp_wscale = d[off + 2];
        } else {
          AddEvent(p, Event::kTcpOptInvalidLen);
        }
        break;
      case 4:
        if (olen == 2) {
          p->tcp_sack_permitted = true;
        } else {
          AddEvent(p, Event::kTcpOptInvalidLen);
        }
        break;
      case 5:
        if (olen < 10 || ((olen - 2) % 8) != 0) AddEvent(p, Event::kTcpOptInvalidLen);
        break;
      case 8:
        if (olen == 10) {
          p->tcp_has_ts = true;
          p->tcp_tsval = Be32(d + off + 2);
          p->tcp_tsecr = Be32(d + off + 6);
        } else {
          AddEvent(p, Event::kTcpOptInvalidLen);
        }
        break;
      case 19:  // TCP MD5 signature (RFC 2385): kind, length 18, 16-byte digest.
        if (olen == 18) {
          p->tcp_md5_sig = true;
        } else {
          AddEvent(p, Event::kTcpOptInvalidLen);
        }
        break;
      case 29:  // TCP Authentication Option (RFC 5925): kind, length, key ids, MAC.
        if (olen >= 4) {
          p->tcp_auth_opt = true;
        } else {
          AddEvent(p, Event::kTcpOptInvalidLen);
        }
        break;
      default:
        break;
    }
    off += olen;
  }

  if (options_.checksum_checks || options_.all_checksums) {
    if (p->l3_truncated) {
      p->l4_csum = Checksum::kNotChecked;
    } else if (L4ChecksumOk(*p, 6, d, len)) {
      p->l4_csum = Checksum::kValid;
    } else {
      p->l4_csum = Checksum::kInvalid;
      ++counters_.invalid_checksum;
    }
  }
}

void Decoder::DecodeUdp(Packet* p, const uint8_t* d, uint32_t len) {
  ++counters_.udp;
  if (len < 8) {
    AddEvent(p, Event::kUdpPktTooSmall);
    return;
  }
  const uint32_t ulen = Be16(d + 4);
  uint32_t plen = len - 8;
  if (ulen < 8) {
    // A jumbogram over IPv6 has 0 here; otherwise the header lies.
    if (!(ulen == 0 && p->ip_version == 6)) {
      AddEvent(p, Event::kUdpHlenTooSmall);
      return;
    }
  } else if (ulen > len) {
    if (!p->l3_truncated) {
      AddEvent(p, Event::kUdpLenInvalid);
      return;
    }
  } else if (ulen < len) {
    plen = ulen - 8;  // Trailing bytes after the datagram (padding).
  }
  p->l4_kind = L4::kUdp;
  p->l4 = d;
  p->l4_hlen = 8;
  p->sport = Be16(d);
  p->dport = Be16(d + 2);
  p->payload = d + 8;
  p->payload_len = plen;
  DetectUdpTunnel(p);
  if (options_.all_checksums && !p->l3_truncated) {
    const bool zero = d[6] == 0 && d[7] == 0;
    if (zero && p->ip_version == 4) {
      p->l4_csum = Checksum::kNotChecked;
    } else {
      p->l4_csum = L4ChecksumOk(*p, 17, d, plen + 8) ? Checksum::kValid : Checksum::kInvalid;
    }
  }
}

void Decoder::DecodeIcmp4(Packet* p, const uint8_t* d, uint32_t len) {
  ++counters_.icmpv4;
  if (len < 4) {
    AddEvent(p, Event::kIcmpv4PktTooSmall);
    return;
  }
  p->l4_kind = L4::kIcmp4;
  p->l4 = d;
  p->icmp_type = d[0];
  p->icmp_code = d[1];
  const uint32_t hlen = len >= 8 ? 8 : 4;
  p->l4_hlen = static_cast<uint16_t>(hlen);
  p->payload = d + hlen;
  p->payload_len = len - hlen;
  uint8_t max_code = 0;
  bool known = true;
  bool error_msg = false;
  switch (p->icmp_type) {
    case 0:
    case 8:
      if (len >= 8) {
        p->icmp_id = Be16(d + 4);
        p->icmp_seq = Be16(d + 6);
      }
      break;
    case 3: max_code = 15; error_msg = true; break;
    case 4: error_msg = true; break;
    case 5: max_code = 3; error_msg = true; break;
    case 9: max_code = 16; break;
    case 10: break;
    case 11: max_code = 1; error_msg = true; break;
    case 12: max_code = 2; error_msg = true; break;
    case 13: case 14: case 15: case 16: case 17: case 18: break;
    default:
      known = false;
      break;
  }
  if (!known) {
    AddEvent(p, Event::kIcmpv4UnknownType);
  } else if (p->icmp_code > max_code) {
    AddEvent(p, Event::kIcmpv4UnknownCode);
  }
  if (error_msg && len >= 8) {
    const uint32_t inner = len - 8;
    if (inner < 20) {
      AddEvent(p, Event::kIcmpv4Ipv4TruncPkt);
    } else if ((d[8] >> 4) != 4) {
      AddEvent(p, Event::kIcmpv4Ipv4UnknownVer);
    }
  }
  if (options_.all_checksums && !p->l3_truncated) {
    p->l4_csum = L4ChecksumOk(*p, 1, d, len) ? Checksum::kValid : Checksum::kInvalid;
  }
}

void Decoder::DecodeIcmp6(Packet* p, const uint8_t* d, uint32_t len) {
  ++counters_.icmpv6;
  if (len < 4) {
    AddEvent(p, Event::kIcmpv6PktTooSmall);
    return;
  }
  p->l4_kind = L4::kIcmp6;
  p->l4 = d;
  p->icmp_type = d[0];
  p->icmp_code = d[1];
  const uint32_t hlen = len >= 8 ? 8 : 4;
  p->l4_hlen = static_cast<uint16_t>(hlen);
  p->payload = d + hlen;
  p->payload_len = len - hlen;
  const uint8_t t = p->icmp_type;
  uint8_t max_code = 0;
  bool error_msg = false;
  if (t == 1) {
    max_code = 7;
    error_msg = true;
  } else if (t == 2) {
    error_msg = true;
  } else if (t == 3) {
    max_code = 1;
    error_msg = true;
  } else if (t == 4) {
    max_code = 3;
    error_msg = true;
  } else if (t == 128 || t == 129) {
    if (len >= 8) {
      p->icmp_id = Be16(d + 4);
      p->icmp_seq = Be16(d + 6);
    }
  } else if (t == 130 || t == 131 || t == 132 || t == 143) {
    // MLD: the hop limit must be 1.
    if (p->ttl != 1) AddEvent(p, Event::kIcmpv6MldMessageWithInvalidHl);
  } else if (t == 100 || t == 101 || t == 200 || t == 201) {
    AddEvent(p, Event::kIcmpv6ExperimentationType);
    max_code = 255;
  } else if (t == 138) {
    max_code = 255;  // Router renumbering uses codes 0, 1, 255.
  } else if (t == 139 || t == 140) {
    max_code = 2;
  } else if ((t >= 133 && t <= 137) || (t >= 141 && t <= 161)) {
    // Neighbour discovery and the other informational types in use.
  } else if (t < 128 || (t > 161 && t < 200)) {
    AddEvent(p, Event::kIcmpv6UnassignedType);
    max_code = 255;
  } else {
    AddEvent(p, Event::kIcmpv6UnknownType);
    max_code = 255;
  }
  if (p->icmp_code > max_code) AddEvent(p, Event::kIcmpv6UnknownCode);
  if (error_msg && len >= 8) {
    const uint32_t inner = len - 8;
    if (inner < 40) {
      AddEvent(p, Event::kIcmpv6Ipv6TruncPkt);
    } else if ((d[8] >> 4) != 6) {
      AddEvent(p, Event::kIcmpv6Ipv6UnknownVersion);
    }
  }
  if (options_.all_checksums && !p->l3_truncated) {
    p->l4_csum = L4ChecksumOk(*p, 58, d, len) ? Checksum::kValid : Checksum::kInvalid;
  }
}

void Decoder::DecodeReassembled(std::span<const uint8_t> datagram, Packet* p) {
  // Keep what came from the capture and the link layer; redo L3/L4.
  Packet keep = *p;
  *p = Packet();
  p->timestamp_nanos = keep.timestamp_nanos;
  p->number = keep.number;
  p->frame = keep.frame;
  p->caplen = keep.caplen;
  p->wire_length = 0;
  std::memcpy(p->vlan, keep.vlan, sizeof(p->vlan));
  p->vlan_count = keep.vlan_count;
  const uint8_t* d = datagram.data();
  const auto len = static_cast<uint32_t>(datagram.size());
  if (len >= 1 && (d[0] >> 4) == 6) {
    --counters_.ipv6;  // Counted once per wire packet.
    DecodeIpv6(d, len, p);
  } else {
    --counters_.ipv4;
    DecodeIpv4(d, len, p);
  }
  p->reassembled = true;
}

void Decoder::SetTunnel(Packet* p, TunnelType type, TunnelInner inner, const uint8_t* d, uint32_t len) {
  if (p->tunnel_depth >= kMaxTunnelDepth || len == 0) return;
  p->tunnel = type;
  p->tunnel_inner = inner;
  p->tunnel_data = d;
  p->tunnel_len = len;
}

void Decoder::DecodeGre(Packet* p, const uint8_t* d, uint32_t len) {
  if (len < 4) return;
  ++counters_.gre;
  const uint16_t flags = Be16(d);
  const uint16_t type = Be16(d + 2);
  const int version = flags & 0x7;
  uint32_t off = 4;
  if (version == 0) {
    if (flags & 0x8000 || flags & 0x4000) off += 4;  // Checksum (+ reserved), or routing offset.
    if (flags & 0x2000) off += 4;                    // Key.
    if (flags & 0x1000) off += 4;                    // Sequence number.
    if (flags & 0x4000) {
      // Source routing entries until the null entry.
      while (true) {
        if (off + 4 > len) return;
        const uint8_t sre_len = d[off + 3];
        off += 4;
        if (sre_len == 0) break;
        off += sre_len;
      }
    }
  } else if (version == 1) {
    // Enhanced GRE (PPTP): key always, sequence and acknowledgment optional.
    if (type != 0x880b) return;
    off += 4;
    if (flags & 0x1000) off += 4;
    if (flags & 0x0080) off += 4;
    if (off + 2 > len) return;
    const uint8_t* ppp = d + off;
    uint32_t n = len - off;
    if (n >= 2 && ppp[0] == 0xff && ppp[1] == 0x03) {
      ppp += 2;
      n -= 2;
    }
    uint16_t proto = 0;
    if (n >= 1 && (ppp[0] & 1)) {  // Compressed one-byte protocol field.
      proto = ppp[0];
      ppp += 1;
      n -= 1;
    } else if (n >= 2) {
      proto = Be16(ppp);
      ppp += 2;
      n -= 2;
    }
    if ((proto == 0x21 && n >= 20 && (ppp[0] >> 4) == 4) || (proto == 0x57 && n >= 40 && (ppp[0] >> 4) == 6)) {
      SetTunnel(p, TunnelType::kPptp, TunnelInner::kIp, ppp, n);
    }
    return;
  } else {
    return;
  }
  if (off > len) return;
  const uint8_t* in = d + off;
  const uint32_t n = len - off;
  switch (type) {
    case 0x0800:
      if (n >= 20 && (in[0] >> 4) == 4) SetTunnel(p, TunnelType::kGre, TunnelInner::kIp, in, n);
      break;
    case 0x86dd:
      if (n >= 40 && (in[0] >> 4) == 6) SetTunnel(p, TunnelType::kGre, TunnelInner::kIp, in, n);
      break;
    case 0x6558:  // Transparent Ethernet bridging.
      if (n >= 14) SetTunnel(p, TunnelType::kGre, TunnelInner::kEthernet, in, n);
      break;
    case 0x88be:  // ERSPAN type II (type I when the sequence bit is clear: no header).
      ++counters_.erspan;
      if (flags & 0x1000) {
        if (n >= 8 + 14) SetTunnel(p, TunnelType::kErspan, TunnelInner::kEthernet, in + 8, n - 8);
      } else if (n >= 14) {
        SetTunnel(p, TunnelType::kErspan, TunnelInner::kEthernet, in, n);
      }
      break;
    case 0x8200:  // Aruba WLAN: 802.11 frames from access points.
    case 0x8210:
      if (n >= 24 + 8) SetTunnel(p, TunnelType::kArubaWlan, TunnelInner::kIeee80211, in, n);
      break;
    case 0x22eb: {  // ERSPAN type III: 12 bytes, 8 more with the platform sub-header.
      ++counters_.erspan;
      if (n < 12) break;
      const uint32_t h = (in[11] & 0x01) ? 20 : 12;
      if (n >= h + 14) SetTunnel(p, TunnelType::kErspan, TunnelInner::kEthernet, in + h, n - h);
      break;
    }
    default:
      break;
  }
}

void Decoder::DetectUdpTunnel(Packet* p) {
  const uint8_t* d = p->payload;
  const uint32_t n = p->payload_len;
  const uint16_t dp = p->dport, sp = p->sport;
  auto is = [&](uint16_t port) { return dp == port || sp == port; };
  if (dp == 4789 && n >= 8 + 14 && (d[0] & 0x08) != 0) {  // VXLAN
    ++counters_.vxlan;
    SetTunnel(p, TunnelType::kVxlan, TunnelInner::kEthernet, d + 8, n - 8);
  } else if (dp == 6081 && n >= 8 && (d[0] >> 6) == 0) {  // Geneve
    const uint32_t h = 8 + (d[0] & 0x3f) * 4u;
    const uint16_t type = Be16(d + 2);
    if (n < h) return;
    ++counters_.geneve;
    if (type == 0x6558 && n >= h + 14) {
      SetTunnel(p, TunnelType::kGeneve, TunnelInner::kEthernet, d + h, n - h);
    } else if ((type == 0x0800 || type == 0x86dd) && n >= h + 20) {
      SetTunnel(p, TunnelType::kGeneve, TunnelInner::kIp, d + h, n - h);
    }
  } else if (is(3544) && n >= 40) {  // Teredo: optional indications, then IPv6.
    uint32_t off = 0;
    if (Be16(d) == 0x0001 && n >= 4) {  // Authentication indication.
      off = 4 + d[2] + d[3] + 8 + 1u;
    }
    if (off + 8 <= n && Be16(d + off) == 0x0000) off += 8;  // Origin indication.
    if (off + 40 <= n && (d[off] >> 4) == 6 && 40u + Be16(d + off + 4) == n - off) {
      ++counters_.teredo;
      SetTunnel(p, TunnelType::kTeredo, TunnelInner::kIp, d + off, n - off);
    }
  } else if (is(2152) && n >= 8 && (d[0] >> 5) == 1 && (d[0] & 0x10) && d[1] == 0xff) {  // GTP-U G-PDU
    uint32_t off = 8;
    if (d[0] & 0x07) {
      if (n < 12) return;
      uint8_t next = d[11];
      off = 12;
      while ((d[0] & 0x04) && next != 0) {  // Extension headers (length in 4-byte units).
        if (off >= n) return;
        const uint32_t elen = d[off] * 4u;
        if (elen == 0 || off + elen > n) return;
        next = d[off + elen - 1];
        off += elen;
      }
    }
    if (off + 20 <= n && ((d[off] >> 4) == 4 || (d[off] >> 4) == 6)) {
      ++counters_.gtp;
      SetTunnel(p, TunnelType::kGtp, TunnelInner::kIp, d + off, n - off);
    }
  } else if (dp == 4754 && n >= 4) {  // GRE in UDP (RFC 8086).
    DecodeGre(p, d, n);
  } else if (is(5072) && n >= 8) {  // AYIYA: identity and signature lengths in the header.
    const uint32_t id_len = 1u << (d[0] >> 4);
    const uint32_t sig_len = (d[1] >> 4) * 4u;
    const uint32_t h = 8 + id_len + sig_len;
    const uint8_t next = d[3];
    if ((next == 41 || next == 4) && h + 20 <= n && (d[h] >> 4) == (next == 41 ? 6 : 4)) {
      SetTunnel(p, TunnelType::kAyiya, TunnelInner::kIp, d + h, n - h);
    }
  }
}

void Decoder::DecodeInner(const Packet& outer, Packet* p) {
  *p = Packet();
  p->timestamp_nanos = outer.timestamp_nanos;
  p->number = outer.number;
  p->frame = outer.frame;
  p->caplen = outer.caplen;
  p->wire_length = 0;
  p->tunnel_depth = static_cast<uint8_t>(outer.tunnel_depth + 1);
  if (outer.tunnel_inner == TunnelInner::kEthernet) {
    DecodeEthernet(outer.tunnel_data, outer.tunnel_len, p);
  } else if (outer.tunnel_inner == TunnelInner::kIeee80211) {
    // An 802.11 data frame (unprotected): header, optional 4th address and
    // QoS control, then LLC/SNAP with the ethertype.
    const uint8_t* d = outer.tunnel_data;
    const uint32_t n = outer.tunnel_len;
    if (n < 24 || (d[0] & 0x0c) != 0x08 || (d[1] & 0x40) != 0) return;
    uint32_t h = 24;
    if ((d[1] & 0x03) == 0x03) h += 6;
    if (d[0] & 0x80) h += 2;                      // QoS data subtypes.
    if ((d[0] & 0x80) && (d[1] & 0x80)) h += 4;  // HT control.
    if (n >= h + 8 && d[h] == 0xaa && d[h + 1] == 0xaa && d[h + 2] == 0x03) {
      DecodeEthertype(Be16(d + h + 6), d + h + 8, n - h - 8, p, 0);
    }
  } else {
    DecodeIp(outer.tunnel_data, outer.tunnel_len, p);
  }
}

uint32_t DispatchHash(capture::LinkType link, std::span<const uint8_t> frame) {
  const uint8_t* d = frame.data();
  uint32_t len = static_cast<uint32_t>(frame.size());
  uint16_t type = 0;
  switch (link) {
    case capture::LinkType::kEthernet:
      if (len < 14) return 0;
      type = Be16(d + 12);
      d += 14;
      len -= 14;
      break;
    case capture::LinkType::kLinuxSll:
      if (len < 16) return 0;
      type = Be16(d + 14);
      d += 16;
      len -= 16;
      break;
    case capture::LinkType::kLinuxSll2:
      if (len < 20) return 0;
      type = Be16(d);
      d += 20;
      len -= 20;
      break;
    case capture::LinkType::kNull:
    case capture::LinkType::kLoop:
      if (len < 5) return 0;
      d += 4;
      len -= 4;
      type = (d[0] >> 4) == 6 ? kEtherIpv6 : kEtherIpv4;
      break;
    default:
      if (len < 1) return 0;
      type = (d[0] >> 4) == 6 ? kEtherIpv6 : kEtherIpv4;
      break;
  }
  for (int i = 0; i < 3 && (type == kEtherVlan || type == kEtherQinq || type == kEtherQinq2); ++i) {
    if (len < 4) return 0;
    type = Be16(d + 2);
    d += 4;
    len -= 4;
  }
  if (type == kEtherPppoeSession) {
    if (len < 8) return 0;
    const uint16_t proto = Be16(d + 6);
    type = proto == 0x0021 ? kEtherIpv4 : (proto == 0x0057 ? kEtherIpv6 : 0);
    d += 8;
    len -= 8;
  } else if (type == kEtherMpls || type == kEtherMplsMulticast) {
    for (int labels = 0;; ++labels) {
      if (len < 4 || labels > 16) return 0;
      const bool bottom = (d[2] & 1) != 0;
      d += 4;
      len -= 4;
      if (bottom) break;
    }
    if (len < 1) return 0;
    type = (d[0] >> 4) == 6 ? kEtherIpv6 : kEtherIpv4;
  }
  uint32_t a = 0, b = 0;
  if (type == kEtherIpv4) {
    if (len < 20) return 0;
    std::memcpy(&a, d + 12, 4);
    std::memcpy(&b, d + 16, 4);
  } else if (type == kEtherIpv6) {
    if (len < 40) return 0;
    uint32_t w[8];
    std::memcpy(w, d + 8, 32);
    a = w[0] ^ w[1] ^ w[2] ^ w[3];
    b = w[4] ^ w[5] ^ w[6] ^ w[7];
  } else {
    return 0;
  }
  // Symmetric: the same for (a, b) and (b, a); then mixed.
  uint64_t x = static_cast<uint64_t>(a < b ? a : b) << 32 | (a < b ? b : a);
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return static_cast<uint32_t>(x);
}

}  // namespace rampart::decode
