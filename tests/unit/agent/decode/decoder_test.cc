// The L2-L4 decoder on well-formed frames of every link type, on malformed
// ones (counted anomalies, never a read past the frame), checksums, and
// tunnels.

#include "agent/decode/decoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "tests/testing/packets.h"

namespace rampart::decode {
namespace {

using testing::Bytes;
using testing::PacketSpec;

Packet DecodeFrame(const Bytes& frame, capture::LinkType link = capture::LinkType::kEthernet,
                   DecoderOptions o = {}, Decoder* dec = nullptr) {
  Decoder local(link, o);
  Decoder& d = dec != nullptr ? *dec : local;
  capture::Frame f;
  f.bytes = {frame.data(), frame.size()};
  f.wire_length = static_cast<uint32_t>(frame.size());
  f.number = 1;
  f.timestamp_nanos = 42;
  Packet p;
  d.Decode(f, &p);
  return p;
}

bool HasEvent(const Packet& p, Event e) {
  return std::find(p.events, p.events + std::min<int>(p.event_count, kMaxPacketEvents), e) !=
         p.events + std::min<int>(p.event_count, kMaxPacketEvents);
}

TEST(DecoderTest, EthernetIpv4TcpFieldsAndChecksum) {
  PacketSpec s;
  s.seq = 123456;
  s.ack = 654321;
  s.tcp_flags = 0x12;
  s.window = 4096;
  s.ttl = 33;
  s.ip_id = 777;
  s.df = true;
  s.tcp_options = {2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};
  s.payload = testing::ToBytes("hello");
  const Bytes frame = testing::BuildEthernet(s);  // The packet points into it.
  const Packet p = DecodeFrame(frame);
  EXPECT_EQ(p.event_count, 0);
  EXPECT_EQ(p.ip_version, 4);
  EXPECT_EQ(p.src.ToString(), "10.0.0.1");
  EXPECT_EQ(p.dst.ToString(), "10.0.0.2");
  EXPECT_EQ(p.proto, 6);
  EXPECT_EQ(p.ttl, 33);
  EXPECT_EQ(p.ip_id, 777u);
  EXPECT_TRUE(p.ip_df);
  EXPECT_EQ(p.l4_kind, L4::kTcp);
  EXPECT_EQ(p.sport, 40000);
  EXPECT_EQ(p.dport, 80);
  EXPECT_EQ(p.tcp_seq, 123456u);
  EXPECT_EQ(p.tcp_ack, 654321u);
  EXPECT_EQ(p.tcp_flags, 0x12);
  EXPECT_EQ(p.tcp_window, 4096);
  EXPECT_EQ(p.tcp_mss, 1460);
  EXPECT_EQ(p.tcp_wscale, 7);
  EXPECT_TRUE(p.tcp_sack_permitted);
  EXPECT_TRUE(p.tcp_has_ts);
  EXPECT_EQ(p.tcp_tsval, 1u);
  EXPECT_EQ(p.tcp_tsecr, 2u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(p.payload), p.payload_len), "hello");
  EXPECT_EQ(p.l4_csum, Checksum::kValid);
}

TEST(DecoderTest, BadTcpChecksumIsFlaggedOrNotChecked) {
  PacketSpec s;
  s.payload = testing::ToBytes("x");
  s.bad_l4_checksum = true;
  EXPECT_EQ(DecodeFrame(testing::BuildEthernet(s)).l4_csum, Checksum::kInvalid);
  DecoderOptions off;
  off.checksum_checks = false;
  EXPECT_EQ(DecodeFrame(testing::BuildEthernet(s), capture::LinkType::kEthernet, off).l4_csum,
            Checksum::kNotChecked);
  // UDP, ICMP and the IPv4 header are checked when all checksums are asked for.
  DecoderOptions all;
  all.all_checksums = true;
  PacketSpec u;
  u.proto = 17;
  u.payload = testing::ToBytes("abc");
  EXPECT_EQ(DecodeFrame(testing::BuildEthernet(u), capture::LinkType::kEthernet, all).l4_csum, Checksum::kValid);
  u.bad_l4_checksum = true;
  u.bad_ip_checksum = true;
  const Packet bad = DecodeFrame(testing::BuildEthernet(u), capture::LinkType::kEthernet, all);
  EXPECT_EQ(bad.l4_csum, Checksum::kInvalid);
  EXPECT_EQ(bad.ip_csum, Checksum::kInvalid);
}

TEST(DecoderTest, VlanAndQinq) {
  PacketSpec s;
  s.vlans = {100, 200};
  const Packet p = DecodeFrame(testing::BuildEthernet(s));
  EXPECT_EQ(p.vlan_count, 2);
  EXPECT_EQ(p.vlan[0], 100);
  EXPECT_EQ(p.vlan[1], 200);
  EXPECT_EQ(p.ip_version, 4);
  s.vlans = {1, 2, 3, 4};
  const Packet four = DecodeFrame(testing::BuildEthernet(s));
  EXPECT_TRUE(HasEvent(four, Event::kVlanTooManyLayers));
  EXPECT_EQ(four.ip_version, 0);
}

TEST(DecoderTest, EveryLinkType) {
  PacketSpec s;
  s.proto = 17;
  const Bytes ip = testing::BuildIp(s);
  PacketSpec s6 = s;
  s6.src = "2001:db8::1";
  s6.dst = "2001:db8::2";
  const Bytes ip6 = testing::BuildIp(s6);
  // Linux cooked v1: 16 bytes, protocol at 14.
  Bytes sll(16, 0);
  sll[14] = 0x08;
  sll.insert(sll.end(), ip.begin(), ip.end());
  EXPECT_EQ(DecodeFrame(sll, capture::LinkType::kLinuxSll).src.ToString(), "10.0.0.1");
  // Linux cooked v2: 20 bytes, protocol first.
  Bytes sll2(20, 0);
  sll2[0] = 0x86;
  sll2[1] = 0xdd;
  sll2.insert(sll2.end(), ip6.begin(), ip6.end());
  EXPECT_EQ(DecodeFrame(sll2, capture::LinkType::kLinuxSll2).dst.ToString(), "2001:db8::2");
  // BSD null: host-order family (2 = IPv4), both byte orders; IPv6 as 24/28/30.
  Bytes null_le = {2, 0, 0, 0};
  null_le.insert(null_le.end(), ip.begin(), ip.end());
  EXPECT_EQ(DecodeFrame(null_le, capture::LinkType::kNull).ip_version, 4);
  Bytes null_be = {0, 0, 0, 2};
  null_be.insert(null_be.end(), ip.begin(), ip.end());
  EXPECT_EQ(DecodeFrame(null_be, capture::LinkType::kNull).ip_version, 4);
  for (uint8_t fam : {24, 28, 30}) {
    Bytes n6 = {fam, 0, 0, 0};
    n6.insert(n6.end(), ip6.begin(), ip6.end());
    EXPECT_EQ(DecodeFrame(n6, capture::LinkType::kNull).ip_version, 6) << int(fam);
  }
  Bytes loop = {0, 0, 0, 2};
  loop.insert(loop.end(), ip.begin(), ip.end());
  EXPECT_EQ(DecodeFrame(loop, capture::LinkType::kLoop).ip_version, 4);
  Bytes unknown_family = {99, 0, 0, 0};
  EXPECT_TRUE(HasEvent(DecodeFrame(unknown_family, capture::LinkType::kNull), Event::kLtnullUnsupportedType));
  // Raw IP by version nibble.
  EXPECT_EQ(DecodeFrame(ip, capture::LinkType::kRawIp).ip_version, 4);
  EXPECT_EQ(DecodeFrame(ip6, capture::LinkType::kRawIp).ip_version, 6);
  EXPECT_TRUE(HasEvent(DecodeFrame(Bytes{0x50, 0, 0, 0}, capture::LinkType::kRawIp), Event::kIprawInvalidIpVersion));
}

TEST(DecoderTest, Ipv6ExtensionHeadersAndIcmpv6) {
  // Hop-by-hop (router alert), destination options (PadN), then ICMPv6 echo.
  PacketSpec s;
  s.src = "fe80::1";
  s.dst = "ff02::1";
  s.proto = 58;
  s.icmp_type = 128;
  Bytes ip = testing::BuildIp(s);
  const Bytes icmp(ip.begin() + 40, ip.end());
  Bytes ext = {60, 0, 5, 2, 0, 0, 1, 0,    // hop-by-hop -> dstopts: router alert + Pad1 x... (8 bytes)
               58, 0, 1, 4, 0, 0, 0, 0};   // dstopts -> ICMPv6: PadN(4)
  Bytes pkt(40 + ext.size() + icmp.size());
  std::copy(ip.begin(), ip.begin() + 40, pkt.begin());
  std::copy(ext.begin(), ext.end(), pkt.begin() + 40);
  std::copy(icmp.begin(), icmp.end(), pkt.begin() + 40 + static_cast<std::ptrdiff_t>(ext.size()));
  pkt[6] = 0;  // next header: hop-by-hop
  const uint16_t plen = static_cast<uint16_t>(ext.size() + icmp.size());
  pkt[4] = static_cast<uint8_t>(plen >> 8);
  pkt[5] = static_cast<uint8_t>(plen);
  const Packet p = DecodeFrame(testing::EthernetFrame(0x86dd, pkt));
  EXPECT_EQ(p.proto, 58);
  EXPECT_EQ(p.l4_kind, L4::kIcmp6);
  EXPECT_EQ(p.icmp_type, 128);
  EXPECT_EQ(p.ipv6_exthdrs & 0x9, 0x9);  // hop-by-hop and destination options
  EXPECT_EQ(p.l3_hlen, 56);
  EXPECT_TRUE(HasEvent(p, Event::kIpv6DstoptsOnlyPadding));
}

// An IPv6 packet: the fixed header with `first_next`, then `rest` (extension
// headers and whatever follows) as its payload.
Bytes Ipv6Packet(uint8_t first_next, const Bytes& rest) {
  PacketSpec s;
  s.src = "2001:db8:1::2";
  s.dst = "2001:db8:1::1";
  s.proto = 58;
  Bytes ip = testing::BuildIp(s);
  ip.resize(40);
  ip[6] = first_next;
  ip[4] = static_cast<uint8_t>(rest.size() >> 8);
  ip[5] = static_cast<uint8_t>(rest.size());
  ip.insert(ip.end(), rest.begin(), rest.end());
  return testing::EthernetFrame(0x86dd, ip);
}

TEST(DecoderTest, Ipv6ChainEndingShortOfTheNextHeaderIsTruncated) {
  // Suricata's ipv6-malformed-fragments-26/-27: an atomic fragment header
  // (offset 0, no more fragments) followed by 1 byte of "TCP" or nothing.
  const Bytes atomic_tcp = {6, 0, 0, 0, 0xfa, 0xce, 0xf0, 0xe4};
  Bytes one = atomic_tcp;
  one.push_back(0);
  Packet p = DecodeFrame(Ipv6Packet(44, one));
  EXPECT_TRUE(HasEvent(p, Event::kIpv6ExthdrUselessFh));
  EXPECT_TRUE(HasEvent(p, Event::kIpv6TruncExthdr));
  EXPECT_FALSE(HasEvent(p, Event::kTcpPktTooSmall));  // Decoding stopped at the chain.
  EXPECT_EQ(p.l4_kind, L4::kNone);
  Bytes none = atomic_tcp;
  none[0] = 58;
  p = DecodeFrame(Ipv6Packet(44, none));
  EXPECT_TRUE(HasEvent(p, Event::kIpv6TruncExthdr));
  // A destination options header with nothing after it.
  p = DecodeFrame(Ipv6Packet(60, Bytes{17, 0, 1, 4, 0, 0, 0, 0}));
  EXPECT_TRUE(HasEvent(p, Event::kIpv6TruncExthdr));
  // "No next header" after it needs nothing.
  p = DecodeFrame(Ipv6Packet(60, Bytes{59, 0, 1, 4, 0, 0, 0, 0}));
  EXPECT_FALSE(HasEvent(p, Event::kIpv6TruncExthdr));
  // Two bytes after the chain are enough for the chain; the upper layer
  // then reports its own shortness.
  Bytes two = atomic_tcp;
  two.push_back(0);
  two.push_back(0);
  p = DecodeFrame(Ipv6Packet(44, two));
  EXPECT_FALSE(HasEvent(p, Event::kIpv6TruncExthdr));
  EXPECT_TRUE(HasEvent(p, Event::kTcpPktTooSmall));
  // Without extension headers a short upper layer is the upper layer's event only.
  p = DecodeFrame(Ipv6Packet(6, Bytes{0}));
  EXPECT_FALSE(HasEvent(p, Event::kIpv6TruncExthdr));
  EXPECT_TRUE(HasEvent(p, Event::kTcpPktTooSmall));
}

TEST(DecoderTest, TcpSignatureOptionsNeedTheirLength) {
  PacketSpec s;
  s.tcp_options = {19, 18};
  s.tcp_options.resize(18, 0x5a);
  Packet p = DecodeFrame(testing::BuildEthernet(s));
  EXPECT_TRUE(p.tcp_md5_sig);
  EXPECT_FALSE(p.tcp_auth_opt);
  EXPECT_EQ(p.event_count, 0);
  s.tcp_options = {1, 1, 29, 6, 7, 7, 0xaa, 0xbb};  // NOPs, then TCP-AO with a 2-byte MAC
  p = DecodeFrame(testing::BuildEthernet(s));
  EXPECT_TRUE(p.tcp_auth_opt);
  EXPECT_FALSE(p.tcp_md5_sig);
  EXPECT_EQ(p.event_count, 0);
  s.tcp_options = {19, 10, 0, 0, 0, 0, 0, 0, 0, 0};
  p = DecodeFrame(testing::BuildEthernet(s));
  EXPECT_FALSE(p.tcp_md5_sig);
  EXPECT_TRUE(HasEvent(p, Event::kTcpOptInvalidLen));
  s.tcp_options = {29, 3, 0, 0};
  p = DecodeFrame(testing::BuildEthernet(s));
  EXPECT_FALSE(p.tcp_auth_opt);
  EXPECT_TRUE(HasEvent(p, Event::kTcpOptInvalidLen));
}

TEST(DecoderTest, Ipv4OptionsAndTheirAnomalies) {
  PacketSpec s;
  s.ip_options = {7, 7, 4, 0, 0, 0, 0, 1};  // Record route (7 bytes) + NOP
  Packet p = DecodeFrame(testing::BuildEthernet(s));
  EXPECT_TRUE(p.ip_options & kIpOptRr);
  EXPECT_TRUE(p.ip_options & kIpOptNop);
  s.ip_options = {68, 40, 5, 0};  // Timestamp whose length runs past the header
  p = DecodeFrame(testing::BuildEthernet(s));
  EXPECT_TRUE(HasEvent(p, Event::kIpv4OptInvalidLen));
  EXPECT_EQ(p.l4_kind, L4::kTcp);  // Still decoded past the options.
}

TEST(DecoderTest, MalformedHeadersAreEventsNotCrashes) {
  PacketSpec s;
  s.payload = testing::ToBytes("payload bytes");
  const Bytes good = testing::BuildEthernet(s);
  // Every prefix of a good frame decodes without reading past it (ASan
  // checks the reads); the short ones raise the matching anomaly.
  for (size_t n = 0; n < good.size(); ++n) {
    Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    const Packet p = DecodeFrame(cut);
    if (n < 14) {
      EXPECT_TRUE(HasEvent(p, Event::kEthernetPktTooSmall)) << n;
    } else if (n < 34) {
      EXPECT_TRUE(HasEvent(p, Event::kIpv4PktTooSmall) || HasEvent(p, Event::kIpv4TruncPkt)) << n;
    }
  }
  Bytes hlen = good;
  hlen[14] = 0x44;  // IHL 4: shorter than the fixed header
  EXPECT_TRUE(HasEvent(DecodeFrame(hlen), Event::kIpv4HlenTooSmall));
  Bytes tcp_hlen = good;
  tcp_hlen[14 + 20 + 12] = 0x30;  // data offset 3 words
  EXPECT_TRUE(HasEvent(DecodeFrame(tcp_hlen), Event::kTcpHlenTooSmall));
  PacketSpec u;
  u.proto = 17;
  Bytes udp = testing::BuildEthernet(u);
  udp[14 + 20 + 4] = 0x10;  // UDP length far beyond the datagram
  EXPECT_TRUE(HasEvent(DecodeFrame(udp), Event::kUdpLenInvalid));
  // A frame cut by the snap length is not an anomaly: the rest is just not there.
  Decoder d(capture::LinkType::kEthernet, {});
  capture::Frame f;
  f.bytes = {good.data(), 14 + 20 + 20 + 2};  // Cut inside the payload.
  f.wire_length = static_cast<uint32_t>(good.size());
  Packet snap;
  d.Decode(f, &snap);
  EXPECT_EQ(snap.event_count, 0);
  EXPECT_TRUE(snap.l3_truncated);
  EXPECT_EQ(snap.l4_csum, Checksum::kNotChecked);
}

TEST(DecoderTest, GreAndVxlanTunnelsCarryInnerPackets) {
  PacketSpec inner;
  inner.src = "192.168.1.1";
  inner.dst = "192.168.1.2";
  inner.proto = 17;
  inner.dport = 53;
  const Bytes inner_ip = testing::BuildIp(inner);
  // GRE (no options, IPv4 payload) over IPv4.
  Bytes gre = {0, 0, 0x08, 0x00};
  gre.insert(gre.end(), inner_ip.begin(), inner_ip.end());
  PacketSpec outer;
  outer.proto = 47;
  outer.payload = gre;
  Decoder dec(capture::LinkType::kEthernet, {});
  const Bytes frame = testing::BuildEthernet(outer);
  Packet p = DecodeFrame(frame, capture::LinkType::kEthernet, {}, &dec);
  ASSERT_EQ(p.tunnel, TunnelType::kGre);
  Packet in;
  dec.DecodeInner(p, &in);
  EXPECT_EQ(in.tunnel_depth, 1);
  EXPECT_EQ(in.src.ToString(), "192.168.1.1");
  EXPECT_EQ(in.dport, 53);
  // VXLAN: UDP 4789, 8-byte header, an Ethernet frame.
  Bytes vx = {0x08, 0, 0, 0, 0, 0, 1, 0};
  const Bytes eth = testing::EthernetFrame(0x0800, inner_ip);
  vx.insert(vx.end(), eth.begin(), eth.end());
  PacketSpec v;
  v.proto = 17;
  v.dport = 4789;
  v.payload = vx;
  const Bytes vframe = testing::BuildEthernet(v);
  p = DecodeFrame(vframe, capture::LinkType::kEthernet, {}, &dec);
  ASSERT_EQ(p.tunnel, TunnelType::kVxlan);
  dec.DecodeInner(p, &in);
  EXPECT_EQ(in.dst.ToString(), "192.168.1.2");
  // Port 4789 without a VXLAN header is just UDP.
  v.payload = testing::ToBytes("not vxlan");
  const Bytes plain = testing::BuildEthernet(v);
  EXPECT_EQ(DecodeFrame(plain).tunnel, TunnelType::kNone);
}

TEST(DecoderTest, DispatchHashIsSymmetricAndIgnoresPorts) {
  PacketSpec a;
  a.sport = 1111;
  PacketSpec b = a;
  std::swap(b.src, b.dst);
  b.sport = 80;
  b.dport = 1111;
  PacketSpec c = a;
  c.sport = 2222;  // Another flow of the same address pair (and any fragment of it).
  const Bytes fa = testing::BuildEthernet(a), fb = testing::BuildEthernet(b), fc = testing::BuildEthernet(c);
  const auto h = [](const Bytes& f) { return DispatchHash(capture::LinkType::kEthernet, {f.data(), f.size()}); };
  EXPECT_EQ(h(fa), h(fb));
  EXPECT_EQ(h(fa), h(fc));
  PacketSpec d = a;
  d.dst = "10.0.0.3";
  EXPECT_NE(h(fa), h(testing::BuildEthernet(d)));
  EXPECT_EQ(DispatchHash(capture::LinkType::kEthernet, {}), 0u);
}

TEST(DecoderTest, CountersAndEventNames) {
  Decoder d(capture::LinkType::kEthernet, {});
  PacketSpec s;
  DecodeFrame(testing::BuildEthernet(s), capture::LinkType::kEthernet, {}, &d);
  DecodeFrame(Bytes(5, 0), capture::LinkType::kEthernet, {}, &d);
  EXPECT_EQ(d.counters().pkts, 2u);
  EXPECT_EQ(d.counters().tcp, 1u);
  EXPECT_EQ(d.counters().invalid, 1u);
  EXPECT_EQ(d.counters().events[static_cast<int>(Event::kEthernetPktTooSmall)], 1u);
  EXPECT_EQ(EventName(Event::kIpv4TruncPkt), "decoder.ipv4.trunc_pkt");
  std::set<std::string_view> names;
  for (int i = 0; i < kEventCount; ++i) names.insert(EventName(static_cast<Event>(i)));
  EXPECT_EQ(names.size(), static_cast<size_t>(kEventCount));
}

}  // namespace
}  // namespace rampart::decode
