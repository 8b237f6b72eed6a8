// The transport layer: TCP (options, checksum), UDP, ICMPv4 and ICMPv6.

#include "agent/decode/decoder.h"

#include <cstring>

#include "agent/decode/checksum.h"
#include "agent/decode/decode_internal.h"

namespace rampart::decode {

using wire::Be16;
using wire::Be32;

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

bool Decoder::IcmpHeader(Packet* p, const uint8_t* d, uint32_t len, L4 kind, Event too_small) {
  if (len < 4) {
    AddEvent(p, too_small);
    return false;
  }
  p->l4_kind = kind;
  p->l4 = d;
  p->icmp_type = d[0];
  p->icmp_code = d[1];
  const uint32_t hlen = len >= 8 ? 8 : 4;
  p->l4_hlen = static_cast<uint16_t>(hlen);
  p->payload = d + hlen;
  p->payload_len = len - hlen;
  return true;
}

void Decoder::DecodeIcmp4(Packet* p, const uint8_t* d, uint32_t len) {
  ++counters_.icmpv4;
  if (!IcmpHeader(p, d, len, L4::kIcmp4, Event::kIcmpv4PktTooSmall)) return;
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
  if (!IcmpHeader(p, d, len, L4::kIcmp6, Event::kIcmpv6PktTooSmall)) return;
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

}  // namespace rampart::decode
