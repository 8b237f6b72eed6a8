// TCP reassembly of one direction: zero-copy in-order delivery, holes,
// overlaps (first wins), retransmissions, gaps, depth, memory cap, sequence
// wrap and snap-length cuts.

#include "agent/flow/tcp_stream.h"

#include <gtest/gtest.h>

#include <string>

namespace rampart::flow {
namespace {

class TcpStreamTest : public ::testing::Test {
 protected:
  // Adds `data` at relative offset `off` (base 1000) and returns what was delivered.
  std::string Add(uint32_t off, const std::string& data, uint32_t seg_len = 0) {
    chunks_.clear();
    events_.clear();
    s_.AddSegment(base_ + off, reinterpret_cast<const uint8_t*>(data.data()), static_cast<uint32_t>(data.size()),
                  seg_len != 0 ? seg_len : static_cast<uint32_t>(data.size()), mem_, &chunks_, &events_);
    return Joined();
  }
  std::string Joined() const {
    std::string out;
    for (const auto& c : chunks_) out.append(reinterpret_cast<const char*>(c.data), c.len);
    return out;
  }
  bool Raised(StreamEvent e) const {
    for (StreamEvent x : events_) {
      if (x == e) return true;
    }
    return false;
  }
  void SetUp() override { s_.SetBase(base_); }
  void TearDown() override { s_.Release(mem_); }

  uint32_t base_ = 1000;
  ReassemblyMemory mem_;
  TcpStream s_;
  std::vector<StreamChunk> chunks_;
  std::vector<StreamEvent> events_;
};

TEST_F(TcpStreamTest, InOrderSegmentsAreDeliveredWithoutCopy) {
  const std::string a = "GET / HTTP/1.1\r\n";
  chunks_.clear();
  s_.AddSegment(base_, reinterpret_cast<const uint8_t*>(a.data()), static_cast<uint32_t>(a.size()),
                static_cast<uint32_t>(a.size()), mem_, &chunks_, &events_);
  ASSERT_EQ(chunks_.size(), 1u);
  EXPECT_EQ(chunks_[0].data, reinterpret_cast<const uint8_t*>(a.data()));
  EXPECT_EQ(chunks_[0].offset, 0u);
  EXPECT_EQ(Add(static_cast<uint32_t>(a.size()), "Host: x\r\n"), "Host: x\r\n");
  EXPECT_EQ(chunks_[0].offset, a.size());
  EXPECT_EQ(mem_.used, 0u);
}

TEST_F(TcpStreamTest, HoleFillsInOrder) {
  EXPECT_EQ(Add(5, "world"), "");
  EXPECT_EQ(mem_.used, 5u);
  EXPECT_EQ(Add(0, "hello"), "helloworld");
  EXPECT_EQ(chunks_.size(), 2u);
  EXPECT_EQ(s_.next_offset(), 10u);
  EXPECT_EQ(mem_.used, 0u);
}

TEST_F(TcpStreamTest, OverlapKeepsWhatArrivedFirst) {
  EXPECT_EQ(Add(4, "AAAA"), "");
  EXPECT_EQ(Add(0, "xxxxBBBBzz"), "xxxxAAAAzz");
  EXPECT_TRUE(Raised(StreamEvent::kOverlapDifferentData));
  EXPECT_EQ(mem_.counters.overlap_diff_data, 1u);
}

TEST_F(TcpStreamTest, RetransmissionDeliversNothing) {
  EXPECT_EQ(Add(0, "abcdef"), "abcdef");
  EXPECT_EQ(Add(0, "abcdef"), "");
  EXPECT_TRUE(Raised(StreamEvent::kRetransmission));
  EXPECT_EQ(Add(3, "defghi"), "ghi");  // Partly new.
}

TEST_F(TcpStreamTest, AckedHoleBecomesAGap) {
  EXPECT_EQ(Add(0, "aaaa"), "aaaa");
  EXPECT_EQ(Add(8, "cccc"), "");  // [4,8) missing from the capture
  s_.OnAck(base_ + 12);           // The receiver has it all.
  EXPECT_EQ(Add(12, "dddd"), "ccccdddd");
  EXPECT_TRUE(chunks_[0].gap_before);
  EXPECT_TRUE(Raised(StreamEvent::kSeqGap));
}

TEST_F(TcpStreamTest, FlushDeliversPendingDataAfterHoles) {
  EXPECT_EQ(Add(10, "late"), "");
  chunks_.clear();
  events_.clear();
  s_.Flush(mem_, &chunks_, &events_);
  EXPECT_EQ(Joined(), "late");
  EXPECT_TRUE(chunks_[0].gap_before);
  EXPECT_EQ(mem_.used, 0u);
}

TEST_F(TcpStreamTest, DepthLimitsDelivery) {
  mem_.options.depth = 10;
  EXPECT_EQ(Add(0, "0123456"), "0123456");
  EXPECT_EQ(Add(7, "789abc"), "789");
  EXPECT_TRUE(Raised(StreamEvent::kDepthReached));
  EXPECT_TRUE(s_.depth_reached());
  EXPECT_EQ(Add(13, "more"), "");
}

TEST_F(TcpStreamTest, MemoryCapDropsOutOfOrderSegments) {
  mem_.options.memcap = 8;
  EXPECT_EQ(Add(100, "12345678"), "");
  EXPECT_EQ(Add(200, "overflow"), "");
  EXPECT_EQ(mem_.counters.memcap_drops, 1u);
  EXPECT_EQ(mem_.used, 8u);
}

TEST_F(TcpStreamTest, SequenceNumbersWrap) {
  TcpStream w;
  w.SetBase(0xfffffffa);
  std::string a = "0123456789";
  chunks_.clear();
  w.AddSegment(0xfffffffa, reinterpret_cast<const uint8_t*>(a.data()), 10, 10, mem_, &chunks_, &events_);
  std::string b = "abcdef";
  w.AddSegment(0x00000004, reinterpret_cast<const uint8_t*>(b.data()), 6, 6, mem_, &chunks_, &events_);
  EXPECT_EQ(Joined(), "0123456789abcdef");
  EXPECT_EQ(w.next_offset(), 16u);
  w.Release(mem_);
}

TEST_F(TcpStreamTest, SnapLengthCutIsAGapThenDeliveryGoesOn) {
  // The segment is 20 bytes long but only 6 were captured.
  EXPECT_EQ(Add(0, "abcdef", 20), "abcdef");
  EXPECT_TRUE(Raised(StreamEvent::kSeqGap));
  EXPECT_EQ(Add(20, "next"), "next");
  EXPECT_TRUE(chunks_[0].gap_before);
}

}  // namespace
}  // namespace rampart::flow
