// IPv4 and IPv6 defragmentation: order, overlaps (first wins), timeouts in
// packet time, the memory cap, and fragments that can never complete.

#include "agent/decode/defrag.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "agent/decode/decoder.h"
#include "tests/testing/packets.h"

namespace rampart::decode {
namespace {

using testing::Bytes;
using testing::PacketSpec;

struct Fed {
  Bytes whole;  // Empty unless a datagram completed.
  bool event = false;
  Event ev{};
};

class DefragTest : public ::testing::Test {
 protected:
  Fed Feed(Defragmenter& d, const Bytes& frame, int64_t ts = 1'000'000'000) {
    capture::Frame f;
    f.bytes = {frame.data(), frame.size()};
    f.wire_length = static_cast<uint32_t>(frame.size());
    f.timestamp_nanos = ts;
    Packet p;
    decoder_.Decode(f, &p);
    EXPECT_TRUE(p.fragment);
    Fed out;
    auto w = d.Add(p, &out.ev, &out.event);
    out.whole.assign(w.begin(), w.end());
    return out;
  }
  Decoder decoder_{capture::LinkType::kEthernet, {}};
};

Bytes Datagram(bool v6 = false, size_t payload = 3000) {
  PacketSpec s;
  if (v6) {
    s.src = "2001:db8::1";
    s.dst = "2001:db8::2";
  }
  s.proto = 17;
  s.ip_id = 4242;
  s.payload.resize(payload);
  for (size_t i = 0; i < payload; ++i) s.payload[i] = static_cast<uint8_t>(i * 7);
  return testing::BuildIp(s);
}

TEST_F(DefragTest, Ipv4InOrderAndOutOfOrder) {
  const Bytes dg = Datagram();
  auto frags = testing::FragmentIpv4(dg, 1000);
  ASSERT_EQ(frags.size(), 4u);
  Defragmenter d;
  for (size_t i = 0; i + 1 < frags.size(); ++i) EXPECT_TRUE(Feed(d, frags[i]).whole.empty());
  EXPECT_EQ(Feed(d, frags.back()).whole, dg);
  EXPECT_EQ(d.pending(), 0u);
  std::reverse(frags.begin(), frags.end());
  Fed last;
  for (const Bytes& f : frags) last = Feed(d, f);
  EXPECT_EQ(last.whole, dg);
  EXPECT_EQ(d.counters().ipv4_reassembled, 2u);
  EXPECT_EQ(d.counters().ipv4_fragments, 8u);
}

TEST_F(DefragTest, OverlapKeepsTheFirstBytes) {
  const Bytes dg = Datagram(false, 8);         // 16 bytes of data after the IP header
  auto frags = testing::FragmentIpv4(dg, 8);  // [0,8) and [8,16)
  ASSERT_EQ(frags.size(), 2u);
  // The genuine first fragment, then a forged copy with other data, then the end.
  Bytes forged = frags[0];
  for (size_t i = forged.size() - 8; i < forged.size(); ++i) forged[i] ^= 0xff;
  Defragmenter d;
  EXPECT_TRUE(Feed(d, frags[0]).whole.empty());
  const Fed dup = Feed(d, forged);
  EXPECT_TRUE(dup.event);
  EXPECT_EQ(dup.ev, Event::kIpv4FragOverlap);
  EXPECT_EQ(Feed(d, frags[1]).whole, dg);  // The genuine bytes, not the forged ones.
}

TEST_F(DefragTest, TimeoutInPacketTimeAndMemcap) {
  const Bytes dg = Datagram();
  const auto frags = testing::FragmentIpv4(dg, 1000);
  DefragOptions o;
  o.timeout_nanos = 30'000'000'000;
  Defragmenter d(o);
  Feed(d, frags[0], 1'000'000'000);
  EXPECT_EQ(d.pending(), 1u);
  d.Expire(20'000'000'000);
  EXPECT_EQ(d.pending(), 1u);
  d.Expire(40'000'000'000);
  EXPECT_EQ(d.pending(), 0u);
  EXPECT_EQ(d.counters().ipv4_timeouts, 1u);
  // The rest of the fragments alone cannot complete it.
  for (size_t i = 1; i < frags.size(); ++i) EXPECT_TRUE(Feed(d, frags[i], 41'000'000'000).whole.empty());

  DefragOptions small;
  small.memcap = 8 * 1024;
  Defragmenter tiny(small);
  for (uint32_t id = 0; id < 50; ++id) {
    PacketSpec s;
    s.proto = 17;
    s.ip_id = id;
    s.payload.resize(3000);
    Feed(tiny, testing::FragmentIpv4(testing::BuildIp(s), 1000)[0]);
    EXPECT_LE(tiny.counters().memuse, small.memcap);
  }
  EXPECT_GT(tiny.counters().max_frag_hits, 0u);
}

TEST_F(DefragTest, Ipv6Fragments) {
  const Bytes dg = Datagram(true);
  auto frags = testing::FragmentIpv6(dg, 1200, 0xabcdef);
  ASSERT_EQ(frags.size(), 3u);
  Defragmenter d;
  Feed(d, frags[2]);
  Feed(d, frags[0]);
  const Fed last = Feed(d, frags[1]);
  EXPECT_EQ(last.whole, dg);
  EXPECT_EQ(d.counters().ipv6_reassembled, 1u);
}

TEST_F(DefragTest, FragmentsThatCannotCompleteAreNotKept) {
  // More-fragments set with a length that is not a multiple of 8.
  const Bytes dg = Datagram(false, 40);
  Bytes frag = testing::FragmentIpv4(dg, 16)[0];
  frag.pop_back();
  const size_t ip_len = frag.size() - 14;
  frag[14 + 2] = static_cast<uint8_t>(ip_len >> 8);
  frag[14 + 3] = static_cast<uint8_t>(ip_len);
  Defragmenter d;
  Feed(d, frag);
  EXPECT_EQ(d.pending(), 0u);
}

}  // namespace
}  // namespace rampart::decode
