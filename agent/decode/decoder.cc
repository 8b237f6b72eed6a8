#include "agent/decode/decoder.h"

#include <arpa/inet.h>

#include <cstring>

#include "agent/decode/checksum.h"
#include "agent/decode/decode_internal.h"

namespace rampart::decode {

using wire::Be16;
using wire::Be32;
using wire::kEtherIpv4;
using wire::kEtherIpv6;
using wire::kEtherMpls;
using wire::kEtherMplsMulticast;
using wire::kEtherPppoeSession;
using wire::kEtherQinq;
using wire::kEtherQinq2;
using wire::kEtherVlan;

namespace {

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

// The options of a hop-by-hop (`hop`) or destination options header of
// `hlen` bytes at `h`: events for padding-only headers, unknown options and
// option lengths that overrun the header.
void Decoder::ScanIpv6Options(const uint8_t* h, uint32_t hlen, bool hop, Packet* p) {
  bool only_padding = true;
  uint32_t o = 2;
  while (o < hlen) {
    const uint8_t t = h[o];
    if (t == 0) {  // Pad1
      ++o;
      continue;
    }
    if (o + 1 >= hlen) {
      AddEvent(p, Event::kIpv6ExthdrInvalidOptlen);
      break;
    }
    const uint8_t ol = h[o + 1];
    if (o + 2 + ol > hlen) {
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
        ScanIpv6Options(d + off, hlen, hop, p);
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
