#include "agent/store/eve_fields.h"

#include <gtest/gtest.h>

namespace rampart::agent_store {
namespace {

TEST(EveFieldsTest, ReadsEnvelopeAndAlert) {
  const std::string line =
      R"({"timestamp":"2026-11-21T23:49:44.123456+0000","flow_id":1234567890123,"in_iface":"eth0",)"
      R"("event_type":"alert","src_ip":"10.0.0.1","src_port":51000,"dest_ip":"2001:db8::1","dest_port":443,)"
      R"("proto":"TCP","community_id":"1:abc=","alert":{"action":"allowed","gid":1,"signature_id":2100498,)"
      R"("rev":7,"signature":"GPL ATTACK_RESPONSE id check returned root","category":"Potentially Bad Traffic",)"
      R"("severity":2,"metadata":{"tag":["x"]}},"app_proto":"http","payload":"AAAA"})";
  EveFields f;
  ASSERT_TRUE(ParseEveFields(line, &f));
  EXPECT_EQ(f.event_type, "alert");
  ASSERT_TRUE(f.timestamp_nanos.has_value());
  EXPECT_EQ(*f.timestamp_nanos, 1795304984123456000LL);
  EXPECT_EQ(f.flow_id, 1234567890123u);
  EXPECT_EQ(f.src_ip, "10.0.0.1");
  EXPECT_EQ(f.src_port, 51000);
  EXPECT_EQ(f.dest_ip, "2001:db8::1");
  EXPECT_EQ(f.dest_port, 443);
  EXPECT_EQ(f.proto, "TCP");
  EXPECT_EQ(f.app_proto, "http");
  EXPECT_EQ(f.community_id, "1:abc=");
  EXPECT_TRUE(f.has_alert);
  EXPECT_EQ(f.signature_id, 2100498u);
  EXPECT_EQ(f.gid, 1u);
  EXPECT_EQ(f.rev, 7u);
  EXPECT_EQ(f.severity, 2u);
  EXPECT_EQ(f.signature, "GPL ATTACK_RESPONSE id check returned root");
  EXPECT_EQ(f.category, "Potentially Bad Traffic");
  EXPECT_EQ(f.action, "allowed");
}

TEST(EveFieldsTest, UnescapesStrings) {
  EveFields f;
  ASSERT_TRUE(ParseEveFields(R"({"event_type":"alert","alert":{"signature":"a\"b\\c\u00e9\ud83d\ude00\n"}})", &f));
  EXPECT_EQ(f.signature, "a\"b\\c\xc3\xa9\xf0\x9f\x98\x80\n");
  // A lone surrogate becomes U+FFFD, never invalid UTF-8.
  ASSERT_TRUE(ParseEveFields(R"({"alert":{"signature":"x\ud800y"}})", &f));
  EXPECT_EQ(f.signature, "x\xef\xbf\xbdy");
}

TEST(EveFieldsTest, IgnoresKnownKeysWithOtherTypes) {
  EveFields f;
  ASSERT_TRUE(ParseEveFields(R"({"src_port":"80","dest_port":-1,"proto":6,"flow_id":"x","alert":[1,2]})", &f));
  EXPECT_EQ(f.src_port, 0);
  EXPECT_EQ(f.dest_port, 0);
  EXPECT_EQ(f.proto, "6");
  EXPECT_FALSE(f.flow_id.has_value());
  EXPECT_FALSE(f.has_alert);
  // Out of range for the field: ignored.
  ASSERT_TRUE(ParseEveFields(R"({"src_port":70000})", &f));
  EXPECT_EQ(f.src_port, 0);
}

TEST(EveFieldsTest, RefusesWhatIsNotOneObject) {
  EveFields f;
  for (const char* bad : {"", "   ", "[]", "\"x\"", "{", "{\"a\":}", "{\"a\":1,}", "{\"a\":1} x", "{\"a\" 1}",
                          "{\"a\":tru}", "{\"a\":\"unterminated}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":\"\\q\"}",
                          "{\"a\":\"\\u12\"}", "{a:1}", "{\"a\":[1,2}", "{\"a\":{\"b\":1]}"}) {
    EXPECT_FALSE(ParseEveFields(bad, &f)) << bad;
  }
  EXPECT_TRUE(ParseEveFields(" {} ", &f));
  EXPECT_TRUE(ParseEveFields("{\"a\":[true,false,null,-0.5e+3,{\"b\":[]}]}", &f));
}

TEST(EveFieldsTest, DeepNestingIsBounded) {
  std::string deep = "{\"a\":";
  for (int i = 0; i < 10000; ++i) deep += "[";
  for (int i = 0; i < 10000; ++i) deep += "]";
  deep += "}";
  EveFields f;
  EXPECT_FALSE(ParseEveFields(deep, &f));
  std::string ok = "{\"a\":";
  for (int i = 0; i < 60; ++i) ok += "[";
  for (int i = 0; i < 60; ++i) ok += "]";
  ok += "}";
  EXPECT_TRUE(ParseEveFields(ok, &f));
}

TEST(EveFieldsTest, Timestamps) {
  EXPECT_EQ(ParseEveTimestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseEveTimestamp("1970-01-01T00:00:01.5+0000"), 1500000000);
  EXPECT_EQ(ParseEveTimestamp("1970-01-01T07:00:00+0700"), 0);
  EXPECT_EQ(ParseEveTimestamp("1970-01-01T07:00:00+07:00"), 0);
  EXPECT_EQ(ParseEveTimestamp("1969-12-31T23:00:00-01:00"), 0);
  EXPECT_EQ(ParseEveTimestamp("2000-03-01T00:00:00Z"), 951868800LL * 1000000000);
  EXPECT_EQ(ParseEveTimestamp("2026-11-21T23:49:44.123456789123+0000"), 1795304984123456789LL);
  for (const char* bad : {"", "2026-11-21", "2026-13-01T00:00:00Z", "2026-11-21T24:00:00Z", "2026-11-21T00:00:00.Z",
                          "2026-11-21T00:00:00+7", "2026-11-21T00:00:00Zjunk", "20x6-11-21T00:00:00Z",
                          "2726-11-21T10:00:00.000000+0020", "1500-01-01T00:00:00Z"}) {
    EXPECT_FALSE(ParseEveTimestamp(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace rampart::agent_store
