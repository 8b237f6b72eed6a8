// The flow table: both directions in one flow, orientation, timeouts by
// state in packet time, the flow cap with eviction, and TCP tracking.

#include "agent/flow/flow_table.h"

#include <gtest/gtest.h>

#include <deque>
#include <vector>

#include "agent/decode/decoder.h"
#include "tests/testing/packets.h"

namespace rampart::flow {
namespace {

using testing::Bytes;
using testing::PacketSpec;

constexpr int64_t kSec = 1'000'000'000;

class FlowTableTest : public ::testing::Test {
 protected:
  decode::Packet Decode(const Bytes& frame, int64_t ts) {
    frames_.push_back(frame);  // Keep the bytes alive: packets point into them.
    const Bytes& f = frames_.back();
    capture::Frame cf;
    cf.bytes = {f.data(), f.size()};
    cf.wire_length = static_cast<uint32_t>(f.size());
    cf.timestamp_nanos = ts;
    decode::Packet p;
    decoder_.Decode(cf, &p);
    return p;
  }
  Flow* Feed(FlowTable& t, const Bytes& frame, int64_t ts, int* dir, bool* created = nullptr) {
    const decode::Packet p = Decode(frame, ts);
    bool c = false;
    Flow* f = t.Lookup(p, dir, &c);
    if (created) *created = c;
    if (p.l4_kind == decode::L4::kTcp) t.Track(*f, p, *dir, &tcp_);
    return f;
  }
  struct Ended {
    uint64_t id;
    EndReason reason;
    uint64_t pkts0, pkts1;
  };
  FlowTable::EndCallback Recorder() {
    return [this](Flow& f, EndReason r) { ended_.push_back(Ended{f.id, r, f.pkts[0], f.pkts[1]}); };
  }

  decode::Decoder decoder_{capture::LinkType::kEthernet, {}};
  std::deque<Bytes> frames_;
  std::vector<Ended> ended_;
  TcpResult tcp_;
};

TEST_F(FlowTableTest, BothDirectionsMeetInOneFlow) {
  FlowTable t({}, Recorder());
  PacketSpec a;
  a.proto = 17;
  a.sport = 5555;
  a.dport = 53;
  PacketSpec b = a;
  std::swap(b.src, b.dst);
  std::swap(b.sport, b.dport);
  int dir = -1;
  bool created = false;
  Flow* f1 = Feed(t, testing::BuildEthernet(a), kSec, &dir, &created);
  EXPECT_TRUE(created);
  EXPECT_EQ(dir, 0);
  const uint64_t id = f1->id;
  Flow* f2 = Feed(t, testing::BuildEthernet(b), 2 * kSec, &dir, &created);
  EXPECT_FALSE(created);
  EXPECT_EQ(dir, 1);
  EXPECT_EQ(f2->id, id);
  EXPECT_EQ(f2->pkts[0], 1u);
  EXPECT_EQ(f2->pkts[1], 1u);
  EXPECT_EQ(f2->state, FlowState::kEstablished);
  EXPECT_EQ(f2->Client().ToString(), "10.0.0.1");
  EXPECT_EQ(f2->ServerPort(), 53);
  EXPECT_EQ(t.active(), 1u);
  t.EndAll();
  ASSERT_EQ(ended_.size(), 1u);
  EXPECT_EQ(ended_[0].reason, EndReason::kShutdown);
}

TEST_F(FlowTableTest, SynAckFirstMakesTheReceiverTheClient) {
  FlowTable t({}, Recorder());
  PacketSpec s;
  s.src = "10.0.0.2";
  s.dst = "10.0.0.1";
  s.sport = 80;
  s.dport = 40000;
  s.tcp_flags = 0x12;
  int dir = -1;
  Flow* f = Feed(t, testing::BuildEthernet(s), kSec, &dir);
  EXPECT_EQ(dir, 1);
  EXPECT_EQ(f->Client().ToString(), "10.0.0.1");
  EXPECT_EQ(f->ServerPort(), 80);
}

TEST_F(FlowTableTest, TimeoutsFollowPacketTimeAndState) {
  FlowTableOptions o;
  o.timeouts.udp_new = 30;
  o.timeouts.udp_established = 300;
  FlowTable t(o, Recorder());
  PacketSpec one_way;
  one_way.proto = 17;
  one_way.sport = 1;
  PacketSpec both = one_way;
  both.sport = 2;
  PacketSpec reply = both;
  std::swap(reply.src, reply.dst);
  std::swap(reply.sport, reply.dport);
  int dir;
  Feed(t, testing::BuildEthernet(one_way), 0, &dir);
  Feed(t, testing::BuildEthernet(both), 0, &dir);
  Feed(t, testing::BuildEthernet(reply), kSec, &dir);
  t.Advance(20 * kSec);
  EXPECT_TRUE(ended_.empty());
  t.Advance(35 * kSec);  // The one-way flow (new) is past 30 s; the other is established.
  ASSERT_EQ(ended_.size(), 1u);
  EXPECT_EQ(ended_[0].reason, EndReason::kTimeout);
  EXPECT_EQ(ended_[0].pkts1, 0u);
  t.Advance(100 * kSec);
  EXPECT_EQ(ended_.size(), 1u);
  t.Advance(302 * kSec);
  EXPECT_EQ(ended_.size(), 2u);
  // Time never goes back: an old packet does not undo anything.
  Feed(t, testing::BuildEthernet(one_way), 5 * kSec, &dir);
  EXPECT_EQ(t.now(), 302 * kSec);
  EXPECT_EQ(t.counters().timeouts, 2u);
}

TEST_F(FlowTableTest, CapEvictsTheLeastRecentlySeenFlow) {
  FlowTableOptions o;
  o.memcap = 64 * 1024;
  o.flow_cost = 1024;  // 64 flows
  FlowTable t(o, Recorder());
  int dir;
  for (int i = 0; i < 100; ++i) {
    PacketSpec s;
    s.proto = 17;
    s.sport = static_cast<uint16_t>(10000 + i);
    Feed(t, testing::BuildEthernet(s), kSec + i, &dir);
    EXPECT_LE(t.active(), t.max_flows());
  }
  EXPECT_EQ(t.max_flows(), 64u);
  EXPECT_EQ(t.counters().evicted, 36u);
  ASSERT_EQ(ended_.size(), 36u);
  for (const Ended& e : ended_) EXPECT_EQ(e.reason, EndReason::kForced);
}

TEST_F(FlowTableTest, TcpHandshakeDataAndClose) {
  FlowTable t({}, Recorder());
  testing::TcpConversation c("10.1.1.1", 33333, "10.1.1.2", 8080);
  int dir;
  Flow* f = nullptr;
  for (const Bytes& b : c.Handshake()) f = Feed(t, b, kSec, &dir);
  EXPECT_EQ(f->state, FlowState::kEstablished);
  for (const Bytes& b : c.Client("hello server")) {
    f = Feed(t, b, kSec, &dir);
    ASSERT_EQ(tcp_.chunks.size(), 1u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(tcp_.chunks[0].data), tcp_.chunks[0].len), "hello server");
    EXPECT_EQ(tcp_.chunks[0].offset, 0u);
  }
  for (const Bytes& b : c.Close()) f = Feed(t, b, kSec, &dir);
  EXPECT_EQ(f->state, FlowState::kClosed);
  EXPECT_EQ(static_cast<TcpState>(f->tcp->tcp_state), TcpState::kTimeWait);
  // A new SYN on the closed tuple starts a new flow.
  testing::TcpConversation again("10.1.1.1", 33333, "10.1.1.2", 8080, 90000, 70000);
  bool created = false;
  Feed(t, again.Handshake()[0], 2 * kSec, &dir, &created);
  EXPECT_TRUE(created);
  EXPECT_EQ(t.counters().tcp_reuse, 1u);
}

TEST_F(FlowTableTest, MidstreamPickupCanBeTurnedOff) {
  for (bool midstream : {true, false}) {
    FlowTableOptions o;
    o.midstream = midstream;
    FlowTable t(o, Recorder());
    testing::TcpConversation c("10.1.1.1", 33333, "10.1.1.2", 80);
    int dir;
    Feed(t, c.Client("GET / HTTP/1.1\r\n\r\n")[0], kSec, &dir);
    EXPECT_EQ(tcp_.chunks.size(), midstream ? 1u : 0u);
  }
}

}  // namespace
}  // namespace rampart::flow
