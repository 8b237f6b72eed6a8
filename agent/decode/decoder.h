#pragma once
// L2-L4 decoding: Ethernet (802.1Q/QinQ, PPPoE session, MPLS), Linux cooked
// (SLL, SLL2), BSD null/loopback, raw IP; IPv4 with options and header
// checksum, IPv6 with extension headers; TCP (options), UDP, ICMP, ICMPv6
// with their checksums.
//
// Malformed input is never an error: the packet is decoded as far as it
// goes, the anomaly is recorded in Packet::events and counted, and the
// caller decides what to do (no flow without valid L3/L4). Nothing reads
// outside the frame.
//
// One Decoder per worker thread (counters are not atomic).

#include <cstdint>
#include <span>

#include "agent/capture/capture.h"
#include "agent/decode/events.h"
#include "agent/decode/packet.h"
#include "common/metrics/counters.h"

namespace rampart::decode {

struct DecoderOptions {
  // Verify TCP checksums (Suricata's default; `--checksum-checks none` turns
  // it off, for captures made with checksum offload).
  bool checksum_checks = true;
  // Also verify IPv4 header, UDP and ICMP checksums (for detection keywords
  // such as ipv4-csum; costs a pass over UDP payloads).
  bool all_checksums = false;
};

// What the decoder counts (common/metrics/counters.h: kind, name, path in
// Suricata's stats record, help). Tunnel counts are not in the stats record.
#define RAMPART_DECODE_COUNTERS(X)                                                            \
  X(kCounter, pkts, "decoder.pkts", "frames decoded")                                         \
  X(kCounter, bytes, "decoder.bytes", "bytes of the frames decoded")                          \
  X(kCounter, invalid, "decoder.invalid", "packets with at least one decoder anomaly")        \
  X(kCounter, ethernet, "decoder.ethernet", "Ethernet frames")                                \
  X(kCounter, vlan, "decoder.vlan", "VLAN-tagged frames")                                     \
  X(kCounter, vlan_qinq, "decoder.vlan_qinq", "frames with two or more VLAN tags")            \
  X(kCounter, sll, "decoder.sll", "Linux cooked-capture frames")                              \
  X(kCounter, null, "decoder.null", "BSD loopback frames")                                    \
  X(kCounter, raw, "decoder.raw", "raw IP frames")                                            \
  X(kCounter, pppoe, "decoder.pppoe", "PPPoE session frames")                                 \
  X(kCounter, mpls, "decoder.mpls", "MPLS-labelled packets")                                  \
  X(kCounter, ipv4, "decoder.ipv4", "IPv4 packets")                                           \
  X(kCounter, ipv6, "decoder.ipv6", "IPv6 packets")                                           \
  X(kCounter, tcp, "decoder.tcp", "TCP segments")                                             \
  X(kCounter, udp, "decoder.udp", "UDP datagrams")                                            \
  X(kCounter, icmpv4, "decoder.icmpv4", "ICMPv4 messages")                                    \
  X(kCounter, icmpv6, "decoder.icmpv6", "ICMPv6 messages")                                    \
  X(kMax, max_pkt_size, "decoder.max_pkt_size", "largest frame seen, bytes")                  \
  X(kCounter, gre, "", "GRE tunnels opened")                                                  \
  X(kCounter, vxlan, "", "VXLAN tunnels opened")                                              \
  X(kCounter, geneve, "", "Geneve tunnels opened")                                            \
  X(kCounter, teredo, "", "Teredo tunnels opened")                                            \
  X(kCounter, ipv4_in_ipv6, "", "IPv4-in-IPv6 tunnels opened")                                \
  X(kCounter, ipv6_in_ipv6, "", "IPv6-in-IPv6 tunnels opened")                                \
  X(kCounter, ipv4_in_ipv4, "", "IPv4-in-IPv4 tunnels opened")                                \
  X(kCounter, ipv6_in_ipv4, "", "IPv6-in-IPv4 tunnels opened")                                \
  X(kCounter, erspan, "", "ERSPAN tunnels opened")                                            \
  X(kCounter, gtp, "", "GTP-U tunnels opened")                                                \
  X(kCounter, invalid_checksum, "", "TCP packets with a wrong checksum (when checked)")

struct DecodeCounters {
  RAMPART_COUNTERS(DecodeCounters, "decode", RAMPART_DECODE_COUNTERS)
  // Per anomaly (events.h names them); Suricata's stats.decoder.event.*.
  uint64_t events[kEventCount] = {};

  // Adds `o`: the table's rows by their kind, and every event count.
  void Add(const DecodeCounters& o) {
    metrics::MergeCounters(*this, o);
    for (int i = 0; i < kEventCount; ++i) events[i] += o.events[i];
  }
};

class Decoder {
 public:
  Decoder(capture::LinkType link, const DecoderOptions& options) : link_(link), options_(options) {}

  // Decodes one frame into *p (which is reset first).
  void Decode(const capture::Frame& frame, Packet* p);

  // Decodes a rebuilt IP datagram (from the defragmenter) into *p, keeping
  // the capture fields and VLANs already in *p and marking it reassembled.
  void DecodeReassembled(std::span<const uint8_t> datagram, Packet* p);

  // Decodes the packet carried by `outer`'s tunnel (outer.tunnel set) into
  // *inner: the capture fields are kept, tunnel_depth is one more. At most
  // kMaxTunnelDepth tunnels are opened.
  void DecodeInner(const Packet& outer, Packet* inner);
  static constexpr int kMaxTunnelDepth = 4;

  const DecodeCounters& counters() const { return counters_; }
  const DecoderOptions& options() const { return options_; }

 private:
  void DecodeEthernet(const uint8_t* d, uint32_t len, Packet* p);
  void DecodeEthertype(uint16_t type, const uint8_t* d, uint32_t len, Packet* p, int depth);
  void DecodeIp(const uint8_t* d, uint32_t len, Packet* p);
  void DecodeIpv4(const uint8_t* d, uint32_t len, Packet* p);
  void DecodeIpv6(const uint8_t* d, uint32_t len, Packet* p);
  void ScanIpv6Options(const uint8_t* h, uint32_t hlen, bool hop, Packet* p);
  // decode_l4.cc
  void DecodeL4(Packet* p);
  void DecodeTcp(Packet* p, const uint8_t* d, uint32_t len);
  void DecodeUdp(Packet* p, const uint8_t* d, uint32_t len);
  // The type, code and 4- or 8-byte header of an ICMP message; false (with
  // `too_small`) when it has fewer than 4 bytes.
  bool IcmpHeader(Packet* p, const uint8_t* d, uint32_t len, L4 kind, Event too_small);
  void DecodeIcmp4(Packet* p, const uint8_t* d, uint32_t len);
  void DecodeIcmp6(Packet* p, const uint8_t* d, uint32_t len);
  // decode_tunnel.cc
  void DecodeGre(Packet* p, const uint8_t* d, uint32_t len);
  void DetectUdpTunnel(Packet* p);
  void SetTunnel(Packet* p, TunnelType type, TunnelInner inner, const uint8_t* d, uint32_t len);
  void AddEvent(Packet* p, Event e);

  capture::LinkType link_;
  DecoderOptions options_;
  DecodeCounters counters_;
};

// A hash of the packet's address pair that is the same in both directions
// and for every fragment of a datagram: the reader uses it to pick the
// worker, so a flow (and its fragments) always meets the same worker.
// Frames without IP hash to 0. Reads only the headers, cheaply.
uint32_t DispatchHash(capture::LinkType link, std::span<const uint8_t> frame);

}  // namespace rampart::decode
