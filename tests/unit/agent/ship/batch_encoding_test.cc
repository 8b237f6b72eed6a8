#include "agent/ship/batch_encoding.h"

#include <gtest/gtest.h>

#include "rampart/v1/agent_service.pb.h"

namespace rampart::ship::detail {
namespace {

agent_store::OutboxEntry Entry(uint64_t seq, const std::string& json) {
  rampart::v1::Event e;
  e.set_sequence(seq);
  e.set_kind(rampart::v1::EVENT_KIND_FLOW);
  e.set_eve_json(json);
  agent_store::OutboxEntry out;
  out.sequence = seq;
  out.event = e.SerializeAsString();
  return out;
}

TEST(BatchEncodingTest, IsAnAgentMessageWithEveryField) {
  // One event large enough for multi-byte lengths at both levels.
  std::vector<agent_store::OutboxEntry> entries = {Entry(7, std::string(300, 'x')), Entry(8, "{}"),
                                                    Entry(300, std::string(70000, 'y'))};
  const std::vector<agent_store::SeqRange> gone = {{1, 6}, {9, 299}};
  const std::string bytes = EncodeBatch(entries, true, gone, 1ull << 40);
  EXPECT_EQ(bytes.capacity() - bytes.size() < 16, true) << "sized before it is written";
  rampart::v1::AgentMessage m;
  ASSERT_TRUE(m.ParseFromString(bytes));
  ASSERT_TRUE(m.has_batch());
  const rampart::v1::EventBatch& b = m.batch();
  ASSERT_EQ(b.events_size(), 3);
  EXPECT_EQ(b.events(0).sequence(), 7u);
  EXPECT_EQ(b.events(0).eve_json(), std::string(300, 'x'));
  EXPECT_EQ(b.events(1).eve_json(), "{}");
  EXPECT_EQ(b.events(2).sequence(), 300u);
  EXPECT_EQ(b.events(2).eve_json().size(), 70000u);
  EXPECT_TRUE(b.backlog());
  ASSERT_EQ(b.gone_size(), 2);
  EXPECT_EQ(b.gone(1).first(), 9u);
  EXPECT_EQ(b.gone(1).last(), 299u);
  EXPECT_EQ(b.batch_id(), 1ull << 40);
  // Byte for byte what protobuf itself writes for the same message.
  EXPECT_EQ(bytes, m.SerializeAsString());
}

TEST(BatchEncodingTest, EmptyBatchCarriesOnlyItsId) {
  const std::string bytes = EncodeBatch({}, false, {}, 1);
  rampart::v1::AgentMessage m;
  ASSERT_TRUE(m.ParseFromString(bytes));
  ASSERT_TRUE(m.has_batch());
  EXPECT_EQ(m.batch().events_size(), 0);
  EXPECT_FALSE(m.batch().backlog());
  EXPECT_EQ(m.batch().batch_id(), 1u);
}

}  // namespace
}  // namespace rampart::ship::detail
