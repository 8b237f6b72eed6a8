#include "common/probe/link_probe.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace rampart::link_probe {
namespace {

TEST(LinkProbeTest, ParseVerifyAndReply) {
  const std::string agent = "a-0123456789abcdef";
  const std::string key = DeriveKey("secret", agent);
  EXPECT_EQ(key.size(), 32u);
  EXPECT_NE(key, DeriveKey("secret", "a-other"));
  // Built by hand from the layout in the header, not with EncodeRequest.
  std::vector<uint8_t> p(36 + agent.size() + 16, 0);
  std::memcpy(p.data(), "RPRB", 4);
  p[4] = 1;
  p[5] = 1;
  p[7] = static_cast<uint8_t>(agent.size());
  p[11] = 7;
  std::memcpy(p.data() + 36, agent.data(), agent.size());
  auto r = ParseRequest(p.data(), p.size());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->agent_id, agent);
  EXPECT_EQ(r->sequence, 7u);
  EXPECT_FALSE(MacValid(key, p.data(), r->body_size)) << "no MAC yet";
  MakeReply(key, p.data(), r->body_size, 1, 2);  // Signs it (as a reply).
  EXPECT_TRUE(MacValid(key, p.data(), r->body_size));
  EXPECT_FALSE(ParseRequest(p.data(), p.size()).has_value()) << "a reply is not a request";
  p[5] = 1;
  EXPECT_FALSE(MacValid(key, p.data(), r->body_size)) << "changed after signing";
  EXPECT_FALSE(ParseRequest(p.data(), p.size() - 1).has_value());
  p[7] = 200;
  EXPECT_FALSE(ParseRequest(p.data(), p.size()).has_value());
  EXPECT_FALSE(ParseRequest(p.data(), 10).has_value());
}

TEST(LinkProbeTest, RequestAndReplyRoundTrip) {
  const std::string agent = "a-42";
  const std::string key = DeriveKey("secret", agent);
  uint8_t buf[kMaxPacketSize];
  const size_t n = EncodeRequest(key, agent, 123456, 1'795'000'000'000'000'000, buf);
  ASSERT_EQ(n, kHeaderSize + agent.size() + kMacSize);
  auto req = ParseRequest(buf, n);
  ASSERT_TRUE(req.has_value());
  EXPECT_EQ(req->agent_id, agent);
  EXPECT_EQ(req->sequence, 123456u);
  EXPECT_EQ(req->sender_stamp, 1'795'000'000'000'000'000);
  EXPECT_TRUE(MacValid(key, buf, req->body_size));
  EXPECT_FALSE(ParseReply(key, agent, buf, n).has_value()) << "a request is not a reply";

  MakeReply(key, buf, req->body_size, 1000, 1500);
  auto reply = ParseReply(key, agent, buf, n);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->sequence, 123456u);
  EXPECT_EQ(reply->sender_stamp, 1'795'000'000'000'000'000);
  EXPECT_EQ(reply->reflector_received, 1000);
  EXPECT_EQ(reply->reflector_sent, 1500);

  EXPECT_FALSE(ParseReply(DeriveKey("other secret", agent), agent, buf, n).has_value()) << "wrong key";
  EXPECT_FALSE(ParseReply(key, "a-43", buf, n).has_value()) << "another agent's reply";
  buf[20] ^= 1;
  EXPECT_FALSE(ParseReply(key, agent, buf, n).has_value()) << "tampered timestamp";
}

TEST(LinkProbeTest, AgentIdsOutsideTheFormatAreNotEncoded) {
  uint8_t buf[kMaxPacketSize];
  EXPECT_EQ(EncodeRequest("k", "", 1, 1, buf), 0u);
  EXPECT_EQ(EncodeRequest("k", std::string(kMaxAgentId + 1, 'a'), 1, 1, buf), 0u);
  EXPECT_EQ(EncodeRequest("k", std::string(kMaxAgentId, 'a'), 1, 1, buf), kMaxPacketSize);
}

}  // namespace
}  // namespace rampart::link_probe
