// Packets inside packets: datagrams rebuilt from fragments, GRE (and
// ERSPAN), UDP tunnels (VXLAN, Geneve, Teredo, GTP-U), IP in IP.

#include "agent/decode/decoder.h"

#include <cstring>

#include "agent/decode/checksum.h"
#include "agent/decode/decode_internal.h"

namespace rampart::decode {

using wire::Be16;
using wire::Be32;

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

}  // namespace rampart::decode
