// QUIC client Initial decryption on real captures (Zeek's test traces):
// version 1 and 2, and a client that changes its connection ID.

#include "agent/applayer/quic.h"

#include <gtest/gtest.h>

#include "agent/capture/capture.h"
#include "agent/decode/decoder.h"
#include "tests/testing/paths.h"

namespace rampart::applayer {
namespace {

// Feeds every UDP payload of a capture to one parser.
QuicInfo ParseCapture(const std::string& name) {
  const std::string path = rampart::testing::SharedDataDir() + "/pcaps/zeek-traces/quic/" + name;
  auto src = capture::OpenFile(path);
  EXPECT_TRUE(src) << src.error();
  if (!src) return {};
  decode::Decoder dec((*src)->link_type(), {});
  QuicParser q;
  std::vector<TlsEvent> events;
  while (true) {
    auto b = (*src)->Next();
    if (!b || *b == nullptr) break;
    for (const capture::Frame& f : (*b)->frames()) {
      decode::Packet p;
      dec.Decode(f, &p);
      if (p.l4_kind != decode::L4::kUdp || p.payload_len == 0) continue;
      bool progressed = false;
      q.Feed(0, p.payload, p.payload_len, &progressed, &events);
    }
    (*b)->Release();
  }
  return q.info();
}

TEST(QuicTest, Version1And2ClientHello) {
  const QuicInfo v2 = ParseCapture("quicv2-echo-443.pcap");
  EXPECT_EQ(QuicVersionName(v2.version), "2");
  EXPECT_TRUE(v2.hello_seen);
  EXPECT_EQ(v2.hello.sni, "localhost");
  const QuicInfo v1 = ParseCapture("quic-multiple-initial-fragmented-crypto.pcap");
  EXPECT_EQ(QuicVersionName(v1.version), "1");
  EXPECT_EQ(v1.hello.sni, "googleads.g.doubleclick.net");
  EXPECT_FALSE(v1.hello.ja3_hash.empty());
}

TEST(QuicTest, KeysStayWhenTheClientSwitchesConnectionId) {
  const QuicInfo q = ParseCapture("quic-decrypt-fail-google-de-51833.pcap");
  EXPECT_EQ(q.hello.sni, "www.google.de");
}

// Transactions as Suricata's QUIC parser makes them (suricata-verify's
// quic-v2 capture): one per long-header packet of a direction until its
// hello; the client's Initial and the server's Initial here, the server's
// coalesced Handshake and everything after making none.
TEST(QuicTest, OneTransactionPerDirectionUpToItsHello) {
  const std::string path = rampart::testing::SharedDataDir() + "/suricata-verify/tests/quic-v2/input.pcap";
  auto src = capture::OpenFile(path);
  ASSERT_TRUE(src) << src.error();
  decode::Decoder dec((*src)->link_type(), {});
  QuicParser q;
  std::vector<TlsEvent> events;
  std::vector<QuicTxRecord> txs;
  while (true) {
    auto b = (*src)->Next();
    if (!b || *b == nullptr) break;
    for (const capture::Frame& f : (*b)->frames()) {
      decode::Packet p;
      dec.Decode(f, &p);
      if (p.l4_kind != decode::L4::kUdp || p.payload_len == 0) continue;
      bool progressed = false;
      q.Feed(p.dport == 443 ? 0 : 1, p.payload, p.payload_len, &progressed, &events);
      txs.insert(txs.end(), q.info().txs.begin(), q.info().txs.end());
    }
    (*b)->Release();
  }
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(txs[0].dir, 0);
  EXPECT_EQ(txs[1].dir, 1);
  EXPECT_EQ(txs[0].id, 0u);
  EXPECT_EQ(txs[1].id, 1u);
  for (const QuicTxRecord& t : txs) EXPECT_EQ(t.version, 0x6b3343cfu);
  EXPECT_TRUE(q.info().dir_hello[0]);
  EXPECT_TRUE(q.info().dir_hello[1]);
  EXPECT_TRUE(q.info().hello_seen);
}

TEST(QuicTest, GarbageIsNotQuic) {
  uint8_t junk[1200];
  for (size_t i = 0; i < sizeof(junk); ++i) junk[i] = static_cast<uint8_t>(i * 31);
  junk[0] = 0xc3;
  junk[1] = 0;
  junk[2] = 0;
  junk[3] = 0;
  junk[4] = 1;
  junk[5] = 8;
  EXPECT_TRUE(LooksLikeQuicInitial(junk, sizeof(junk)));
  QuicParser q;
  bool progressed = false;
  std::vector<TlsEvent> events;
  EXPECT_FALSE(q.Feed(0, junk, sizeof(junk), &progressed, &events));  // The tag does not verify.
  EXPECT_FALSE(q.info().hello_seen);
  for (size_t n = 0; n < sizeof(junk); n += 37) q.Feed(0, junk, n, &progressed, &events);
}

}  // namespace
}  // namespace rampart::applayer
