// Community ID v1 against the specification's published examples.

#include "agent/flow/community_id.h"

#include <gtest/gtest.h>

#include "agent/decode/decoder.h"
#include "agent/flow/flow_table.h"
#include "tests/testing/packets.h"

namespace rampart::flow {
namespace {

std::string IdOf(const testing::PacketSpec& s) {
  const testing::Bytes frame = testing::BuildEthernet(s);
  decode::Decoder d(capture::LinkType::kEthernet, {});
  capture::Frame f;
  f.bytes = {frame.data(), frame.size()};
  decode::Packet p;
  d.Decode(f, &p);
  FlowTable t({}, [](Flow&, EndReason) {});
  int dir;
  bool created;
  return CommunityId(*t.Lookup(p, &dir, &created));
}

TEST(CommunityIdTest, SpecificationExamples) {
  testing::PacketSpec tcp;
  tcp.src = "128.232.110.120";
  tcp.dst = "66.35.250.204";
  tcp.sport = 34855;
  tcp.dport = 80;
  tcp.tcp_flags = 0x02;
  EXPECT_EQ(IdOf(tcp), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
  // The reverse direction gives the same id.
  testing::PacketSpec rev = tcp;
  std::swap(rev.src, rev.dst);
  std::swap(rev.sport, rev.dport);
  rev.tcp_flags = 0x10;
  EXPECT_EQ(IdOf(rev), "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
  testing::PacketSpec udp;
  udp.proto = 17;
  udp.src = "192.168.1.52";
  udp.dst = "8.8.8.8";
  udp.sport = 54585;
  udp.dport = 53;
  EXPECT_EQ(IdOf(udp), "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
  testing::PacketSpec icmp;
  icmp.proto = 1;
  icmp.src = "192.168.0.89";
  icmp.dst = "192.168.0.1";
  icmp.icmp_type = 8;
  EXPECT_EQ(IdOf(icmp), "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
  testing::PacketSpec nd;
  nd.proto = 58;
  nd.src = "fe80::200:86ff:fe05:80da";
  nd.dst = "fe80::260:97ff:fe07:69ea";
  nd.icmp_type = 135;
  nd.ttl = 255;
  EXPECT_EQ(IdOf(nd), "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");
}

}  // namespace
}  // namespace rampart::flow
