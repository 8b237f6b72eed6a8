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

// A RST from the client of `c`, at its next sequence number, with the
// given TCP options (raw).
Bytes ClientRst(testing::TcpConversation& c, Bytes options, uint16_t sport = 33333, uint16_t dport = 80) {
  PacketSpec s;
  s.src = "10.1.1.1";
  s.dst = "10.1.1.2";
  s.sport = sport;
  s.dport = dport;
  s.seq = c.client_next();
  s.ack = c.server_next();
  s.tcp_flags = 0x14;  // RST|ACK
  s.tcp_options = std::move(options);
  return testing::BuildEthernet(s);
}

// Kind 19, length 18: an MD5 signature (RFC 2385) no monitor can check.
Bytes Md5Option() {
  Bytes o = {19, 18};
  o.resize(18, 0xab);
  return o;
}

bool Has(const TcpResult& r, StreamEvent e) {
  for (StreamEvent x : r.events) {
    if (x == e) return true;
  }
  return false;
}

TEST_F(FlowTableTest, SignedRstFollowedByItsSendersDataIsSuspectedInjection) {
  // Suricata's security-4710 case: a RST with an MD5 (or TCP-AO) option the
  // server may drop, then the client goes on as if it had never sent it.
  for (Bytes option : {Md5Option(), Bytes{29, 6, 1, 2, 0xaa, 0xbb}}) {
    FlowTable t({}, Recorder());
    testing::TcpConversation c("10.1.1.1", 33333, "10.1.1.2", 80);
    int dir;
    Flow* f = nullptr;
    for (const Bytes& b : c.Handshake()) f = Feed(t, b, kSec, &dir);
    f = Feed(t, ClientRst(c, option), kSec, &dir);
    EXPECT_EQ(f->state, FlowState::kClosed);
    EXPECT_FALSE(Has(tcp_, StreamEvent::kSuspectedRstInject));
    f = Feed(t, c.Client("GET /ultrasurf.html HTTP/1.1\r\n\r\n")[0], kSec, &dir);
    EXPECT_TRUE(Has(tcp_, StreamEvent::kSuspectedRstInject));
    EXPECT_STREQ(StreamEventName(StreamEvent::kSuspectedRstInject), "stream.suspected_rst_inject");
    // The session is back where it was, and its data still flows.
    EXPECT_EQ(f->state, FlowState::kEstablished);
    EXPECT_EQ(static_cast<TcpState>(f->tcp->tcp_state), TcpState::kEstablished);
    ASSERT_EQ(tcp_.chunks.size(), 1u);
    EXPECT_EQ(tcp_.chunks[0].offset, 0u);
    // Once only.
    f = Feed(t, c.Client("more")[0], kSec, &dir);
    EXPECT_FALSE(Has(tcp_, StreamEvent::kSuspectedRstInject));
    for (const Bytes& b : c.Close()) f = Feed(t, b, kSec, &dir);
    EXPECT_EQ(f->state, FlowState::kClosed);
  }
}

TEST_F(FlowTableTest, PlainRstOrThePeersPacketsAreNoInjection) {
  {
    // A RST without a signature closes for good, whatever follows.
    FlowTable t({}, Recorder());
    testing::TcpConversation c("10.1.1.1", 33333, "10.1.1.2", 80);
    int dir;
    Flow* f = nullptr;
    for (const Bytes& b : c.Handshake()) f = Feed(t, b, kSec, &dir);
    Feed(t, ClientRst(c, {}), kSec, &dir);
    f = Feed(t, c.Client("late")[0], kSec, &dir);
    EXPECT_FALSE(Has(tcp_, StreamEvent::kSuspectedRstInject));
    EXPECT_EQ(f->state, FlowState::kClosed);
  }
  {
    // The receiver of a signed RST answering is not the sender going on;
    // another RST from the sender is not either.
    FlowTable t({}, Recorder());
    testing::TcpConversation c("10.1.1.1", 33333, "10.1.1.2", 80);
    int dir;
    Flow* f = nullptr;
    for (const Bytes& b : c.Handshake()) f = Feed(t, b, kSec, &dir);
    Feed(t, ClientRst(c, Md5Option()), kSec, &dir);
    f = Feed(t, c.Server("bye")[0], kSec, &dir);
    EXPECT_EQ(dir, 1);
    EXPECT_FALSE(Has(tcp_, StreamEvent::kSuspectedRstInject));
    Feed(t, ClientRst(c, Md5Option()), kSec, &dir);
    EXPECT_FALSE(Has(tcp_, StreamEvent::kSuspectedRstInject));
    EXPECT_EQ(f->state, FlowState::kClosed);
  }
  {
    // Options of the wrong length are no signature (and a decoder event).
    FlowTable t({}, Recorder());
    testing::TcpConversation c("10.1.1.1", 33333, "10.1.1.2", 80);
    int dir;
    for (const Bytes& b : c.Handshake()) Feed(t, b, kSec, &dir);
    Feed(t, ClientRst(c, Bytes{19, 10, 0, 0, 0, 0, 0, 0, 0, 0}), kSec, &dir);
    Feed(t, ClientRst(c, Bytes{29, 3, 0}), kSec, &dir);
    Feed(t, c.Client("late")[0], kSec, &dir);
    EXPECT_FALSE(Has(tcp_, StreamEvent::kSuspectedRstInject));
  }
}

TEST_F(FlowTableTest, RstToASynThenTheServersHandshakeIsSuspectedInjection) {
  FlowTable t({}, Recorder());
  testing::TcpConversation c("10.1.1.1", 33333, "10.1.1.2", 80);
  const std::vector<Bytes> hs = c.Handshake();
  int dir;
  Feed(t, hs[0], kSec, &dir);
  PacketSpec rst;
  rst.src = "10.1.1.2";
  rst.dst = "10.1.1.1";
  rst.sport = 80;
  rst.dport = 33333;
  rst.seq = 0;
  rst.ack = 1001;
  rst.tcp_flags = 0x14;
  Flow* f = Feed(t, testing::BuildEthernet(rst), kSec, &dir);
  EXPECT_EQ(dir, 1);
  EXPECT_EQ(f->state, FlowState::kClosed);
  f = Feed(t, hs[1], kSec, &dir);  // The real server answers the SYN after all.
  EXPECT_TRUE(Has(tcp_, StreamEvent::kSuspectedRstInject));
  EXPECT_EQ(static_cast<TcpState>(f->tcp->tcp_state), TcpState::kSynRecv);
  f = Feed(t, hs[2], kSec, &dir);
  EXPECT_EQ(f->state, FlowState::kEstablished);
}

}  // namespace
}  // namespace rampart::flow
