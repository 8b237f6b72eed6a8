#pragma once
// A decoded packet: views into the captured frame (or into the
// defragmenter's buffer for a rebuilt datagram) plus the header fields the
// flow table, reassembly and detection use. Plain data, no ownership: valid
// as long as the bytes it points into.

#include <cstdint>
#include <cstring>
#include <string>

#include "agent/decode/events.h"

namespace rampart::decode {

struct IpAddr {
  uint8_t family = 0;      // 4 or 6; 0 = none.
  uint8_t bytes[16] = {};  // Network order; IPv4 in bytes[0..3], the rest zero.

  bool operator==(const IpAddr& o) const { return family == o.family && std::memcmp(bytes, o.bytes, 16) == 0; }
  // Total order (family, then bytes), for normalising flow keys.
  bool operator<(const IpAddr& o) const {
    if (family != o.family) return family < o.family;
    return std::memcmp(bytes, o.bytes, 16) < 0;
  }
  // "192.0.2.1", "2001:db8::1" (RFC 5952, as Suricata prints).
  std::string ToString() const;
  // Writes the text form into out (at least 46 bytes); returns its length.
  size_t Format(char* out) const;
};

// IPv4 options present (Packet::ip_options); the same bits as
// sensor::kIpOpt* (Suricata's `ipopts` names).
inline constexpr uint16_t kIpOptEol = 1 << 0;
inline constexpr uint16_t kIpOptNop = 1 << 1;
inline constexpr uint16_t kIpOptRr = 1 << 2;
inline constexpr uint16_t kIpOptTs = 1 << 3;
inline constexpr uint16_t kIpOptSec = 1 << 4;
inline constexpr uint16_t kIpOptEsec = 1 << 5;
inline constexpr uint16_t kIpOptLsrr = 1 << 6;
inline constexpr uint16_t kIpOptSsrr = 1 << 7;
inline constexpr uint16_t kIpOptSatid = 1 << 8;
inline constexpr uint16_t kIpOptOther = 1 << 9;

enum class Checksum : uint8_t { kNotChecked = 0, kValid = 1, kInvalid = 2 };

enum class L4 : uint8_t { kNone = 0, kTcp, kUdp, kIcmp4, kIcmp6, kOther };

// What a tunnel carries: an IP packet or an Ethernet frame.
enum class TunnelInner : uint8_t { kNone = 0, kIp, kEthernet, kIeee80211 };

// Tunnels the decoder opens (the outer packet is handled as itself, then
// the inner one as its own packet with its own flow, as Suricata does).
enum class TunnelType : uint8_t { kNone = 0, kIpInIp, kGre, kErspan, kVxlan, kGeneve, kTeredo, kGtp, kAyiya, kPptp, kArubaWlan };

inline constexpr int kMaxPacketEvents = 6;

struct Packet {
  // From the capture.
  int64_t timestamp_nanos = 0;
  uint64_t number = 0;
  const uint8_t* frame = nullptr;
  uint32_t caplen = 0;
  uint32_t wire_length = 0;

  // Link layer.
  uint16_t vlan[2] = {};
  uint8_t vlan_count = 0;

  // Network layer.
  uint8_t ip_version = 0;       // 4, 6, 0.
  const uint8_t* l3 = nullptr;  // IP header.
  uint16_t l3_hlen = 0;         // IPv4 header with options; IPv6 fixed header + extension headers.
  uint32_t l3_len = 0;          // Datagram length by its header, limited to what was captured.
  uint32_t l3_declared_len = 0; // Datagram length by its header.
  bool l3_truncated = false;    // Captured bytes end before the header's total length.
  IpAddr src;
  IpAddr dst;
  uint8_t proto = 0;
  uint8_t ttl = 0;
  uint8_t tos = 0;
  uint32_t ip_id = 0;
  uint16_t ip_options = 0;  // kIpOpt* bits.
  bool ip_rf = false;
  bool ip_df = false;
  bool ip_mf = false;
  uint16_t frag_offset = 0;  // Bytes.
  bool fragment = false;     // A fragment: no L4 decoded.
  bool reassembled = false;  // Rebuilt by the defragmenter.
  uint16_t ipv6_exthdrs = 0;
  uint16_t ipv6_frag_hdr_offset = 0;  // Offset of the fragment header from l3 (IPv6 fragments).
  uint16_t ipv6_unfrag_len = 0;       // Length of the unfragmentable part (IPv6 fragments).
  uint8_t ipv6_frag_next = 0;         // Next header after the fragment header.

  // Transport layer.
  L4 l4_kind = L4::kNone;
  const uint8_t* l4 = nullptr;
  uint16_t l4_hlen = 0;
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint8_t tcp_flags = 0;
  uint32_t tcp_seq = 0;
  uint32_t tcp_ack = 0;
  uint16_t tcp_window = 0;
  uint16_t tcp_urgent = 0;
  uint32_t tcp_options = 0;  // Bit k: option kind k present (kinds >= 31 share bit 31).
  uint16_t tcp_mss = 0;
  uint8_t tcp_wscale = 0;
  bool tcp_sack_permitted = false;
  bool tcp_has_ts = false;
  uint32_t tcp_tsval = 0;
  uint32_t tcp_tsecr = 0;
  // Signature options whose key is agreed out of band, so the receiver may
  // drop the segment where a monitor cannot tell: MD5 (kind 19, RFC 2385)
  // and TCP-AO (kind 29, RFC 5925), each only with a valid length.
  bool tcp_md5_sig = false;
  bool tcp_auth_opt = false;
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  uint16_t icmp_id = 0;
  uint16_t icmp_seq = 0;
  const uint8_t* payload = nullptr;
  uint32_t payload_len = 0;

  Checksum ip_csum = Checksum::kNotChecked;
  Checksum l4_csum = Checksum::kNotChecked;

  // A tunnel payload found in this packet (decoded next by DecodeInner).
  TunnelType tunnel = TunnelType::kNone;
  TunnelInner tunnel_inner = TunnelInner::kNone;
  const uint8_t* tunnel_data = nullptr;
  uint32_t tunnel_len = 0;
  uint8_t tunnel_depth = 0;  // How many tunnels enclose this packet.

  // Decoder anomalies of this packet (more than kMaxPacketEvents are counted, not kept).
  Event events[kMaxPacketEvents] = {};
  uint8_t event_count = 0;

  bool has_ports() const { return l4_kind == L4::kTcp || l4_kind == L4::kUdp; }
};

}  // namespace rampart::decode
