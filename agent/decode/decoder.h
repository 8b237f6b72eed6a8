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

namespace rampart::decode {

struct DecoderOptions {
  // Verify TCP checksums (Suricata's default; `--checksum-checks none` turns
  // it off, for captures made with checksum offload).
  bool checksum_checks = true;
  // Also verify IPv4 header, UDP and ICMP checksums (for detection keywords
  // such as ipv4-csum; costs a pass over UDP payloads).
  bool all_checksums = false;
};

struct DecodeCounters {
  uint64_t pkts = 0;
  uint64_t bytes = 0;
  uint64_t invalid = 0;  // Packets with at least one decoder anomaly.
  uint64_t ethernet = 0;
  uint64_t vlan = 0;
  uint64_t vlan_qinq = 0;
  uint64_t sll = 0;
  uint64_t null = 0;
  uint64_t raw = 0;
  uint64_t pppoe = 0;
  uint64_t mpls = 0;
  uint64_t ipv4 = 0;
  uint64_t ipv6 = 0;
  uint64_t tcp = 0;
  uint64_t udp = 0;
  uint64_t icmpv4 = 0;
  uint64_t icmpv6 = 0;
  uint64_t max_pkt_size = 0;
  uint64_t gre = 0;
  uint64_t vxlan = 0;
  uint64_t geneve = 0;
  uint64_t teredo = 0;
  uint64_t ipv4_in_ipv6 = 0;
  uint64_t ipv6_in_ipv6 = 0;
  uint64_t ipv4_in_ipv4 = 0;
  uint64_t ipv6_in_ipv4 = 0;
  uint64_t erspan = 0;
  uint64_t gtp = 0;
  uint64_t invalid_checksum = 0;  // TCP packets with a wrong checksum (when checked).
  uint64_t events[kEventCount] = {};
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
  void DecodeL4(Packet* p);
  void DecodeTcp(Packet* p, const uint8_t* d, uint32_t len);
  void DecodeUdp(Packet* p, const uint8_t* d, uint32_t len);
  void DecodeIcmp4(Packet* p, const uint8_t* d, uint32_t len);
  void DecodeIcmp6(Packet* p, const uint8_t* d, uint32_t len);
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
