// DNS messages: questions and answers, name compression, hostile names.

#include "agent/applayer/dns.h"

#include <gtest/gtest.h>

#include "tests/testing/packets.h"

namespace rampart::applayer {
namespace {

using testing::Bytes;

void Name(Bytes* b, std::initializer_list<std::string_view> labels) {
  for (std::string_view l : labels) {
    b->push_back(static_cast<uint8_t>(l.size()));
    b->insert(b->end(), l.begin(), l.end());
  }
  b->push_back(0);
}

Bytes Query(uint16_t id = 0x1234) {
  Bytes b = {static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  Name(&b, {"www", "example", "com"});
  b.insert(b.end(), {0, 1, 0, 1});
  return b;
}

TEST(DnsTest, QueryAndCompressedAnswer) {
  Bytes r = Query();
  r[2] = 0x81;
  r[3] = 0x80;
  r[7] = 2;  // two answers
  // CNAME www.example.com -> web.example.com (compressed), then its A record.
  r.insert(r.end(), {0xc0, 12, 0, 5, 0, 1, 0, 0, 0x0e, 0x10, 0, 6, 3, 'w', 'e', 'b', 0xc0, 16});
  r.insert(r.end(), {0xc0, static_cast<uint8_t>(r.size() - 6), 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7});
  DnsMessage m;
  DnsProblem problem;
  ASSERT_TRUE(ParseDnsMessage(r.data(), r.size(), &m, &problem));
  EXPECT_EQ(problem, DnsProblem::kNone);
  EXPECT_TRUE(m.response);
  EXPECT_EQ(m.id, 0x1234);
  ASSERT_EQ(m.questions.size(), 1u);
  EXPECT_EQ(m.questions[0].name, "www.example.com");
  ASSERT_EQ(m.answers.size(), 2u);
  EXPECT_EQ(DnsTypeName(m.answers[0].type), "CNAME");
  EXPECT_EQ(m.answers[0].rdata_text, "web.example.com");
  EXPECT_EQ(m.answers[0].ttl, 3600u);
  EXPECT_EQ(m.answers[1].name, "web.example.com");
  EXPECT_EQ(m.answers[1].rdata_text, "192.0.2.7");
  EXPECT_EQ(DnsRcodeName(m.rcode), "NOERROR");
  EXPECT_TRUE(LooksLikeDns(r.data(), r.size()));
}

TEST(DnsTest, PointerLoopsAndGarbageAreBounded) {
  Bytes loop = {0, 1, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
  DnsMessage m;
  DnsProblem problem;
  EXPECT_FALSE(ParseDnsMessage(loop.data(), loop.size(), &m, &problem));
  EXPECT_EQ(problem, DnsProblem::kInfiniteLoop);
  EXPECT_FALSE(LooksLikeDns(loop.data(), loop.size()));
  // Answers cut short: the question is kept, the problem reported.
  Bytes cut = Query();
  cut[2] = 0x81;
  cut[7] = 1;
  cut.insert(cut.end(), {0xc0, 12, 0, 1});
  ASSERT_TRUE(ParseDnsMessage(cut.data(), cut.size(), &m, &problem));
  EXPECT_EQ(problem, DnsProblem::kMalformed);
  EXPECT_EQ(m.questions.size(), 1u);
  // Odd bytes in a label are escaped.
  Bytes odd = {0, 2, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'a', '.', 0x01, 0, 0, 1, 0, 1};
  ASSERT_TRUE(ParseDnsMessage(odd.data(), odd.size(), &m, &problem));
  EXPECT_EQ(m.questions[0].name, "a\\x2e\\x01");
  // Every prefix of a valid message parses or is refused without reading past it.
  const Bytes q = Query();
  for (size_t n = 0; n < q.size(); ++n) ParseDnsMessage(q.data(), n, &m, &problem);
  EXPECT_FALSE(LooksLikeDns(q.data(), 11));
}

}  // namespace
}  // namespace rampart::applayer
