#include "agent/detect/inspect.h"

#include <gtest/gtest.h>

#include "agent/detect/rule_parser.h"

namespace rampart::detect {
namespace {

// Parses `options` as the option block of a TCP rule and runs its payload
// list over `data`, as the engine would on a packet payload.
class InspectTest : public ::testing::Test {
 protected:
  bool Match(std::string_view options, std::string_view data, BufferId buffer = BufferId::kPayload) {
    ParseEnv env{&vars_, &classes_, &names_, &names_, &names_};
    const std::string text = std::string(buffer == BufferId::kPayload ? "alert tcp" : "alert http") +
                             " any any -> any any (" + std::string(options) + " sid:1;)";
    ParseResult r = ParseRule(text, env);
    EXPECT_EQ(r.outcome, ParseResult::Outcome::kOk) << text << ": " << r.message;
    if (!r.rule) return false;
    const MatchList* l = FindList(*r.rule, buffer);
    EXPECT_NE(l, nullptr);
    if (l == nullptr) return false;
    InspectState st;
    st.regex = &regex_;
    st.b64_list = &l->base64_matches;
    std::span<const uint8_t> buf(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    std::string transformed;
    if (!l->transforms.empty()) {
      if (!ApplyTransforms(l->transforms, buf, &transformed, regex_)) return false;
      buf = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(transformed.data()), transformed.size());
    }
    return InspectList(l->matches, buf, st);
  }

  RuleVars vars_ = RuleVars::Defaults();
  Classifications classes_ = Classifications::Builtin();
  NameTable names_;
  RegexScratch regex_;
};

TEST_F(InspectTest, ContentOffsetDepth) {
  EXPECT_TRUE(Match(R"(content:"abc";)", "xxabcxx"));
  EXPECT_FALSE(Match(R"(content:"abd";)", "xxabcxx"));
  EXPECT_TRUE(Match(R"(content:"abc"; offset:2; depth:3;)", "xxabcxx"));
  EXPECT_FALSE(Match(R"(content:"abc"; offset:3;)", "xxabcxx"));
  EXPECT_FALSE(Match(R"(content:"abc"; depth:4;)", "xxabcxx"));
  EXPECT_TRUE(Match(R"(content:"abc"; depth:5;)", "xxabcxx"));
}

TEST_F(InspectTest, NocaseAndHex) {
  EXPECT_TRUE(Match(R"(content:"GeT /"; nocase;)", "get /index"));
  EXPECT_FALSE(Match(R"(content:"GeT /";)", "get /index"));
  EXPECT_TRUE(Match(R"(content:"|00 01|ab|ff|";)", std::string("\x00\x01" "ab\xff", 5)));
}

TEST_F(InspectTest, DistanceWithinAndRetry) {
  // The first "a" is followed by "b" too far away; the second is close: the
  // content is retried at its next occurrence because of within.
  EXPECT_TRUE(Match(R"(content:"a"; content:"b"; distance:0; within:2;)", "a....ab"));
  EXPECT_FALSE(Match(R"(content:"a"; content:"b"; distance:0; within:2;)", "a....a..b"));
  EXPECT_TRUE(Match(R"(content:"a"; content:"b"; distance:3;)", "a...b"));
  EXPECT_FALSE(Match(R"(content:"a"; content:"b"; distance:4;)", "a...b"));
  // Negative distance looks back.
  EXPECT_TRUE(Match(R"(content:"cd"; content:"bc"; distance:-3; within:2;)", "abcd"));
}

TEST_F(InspectTest, NegatedContent) {
  EXPECT_TRUE(Match(R"(content:"GET"; content:!"admin";)", "GET /index"));
  EXPECT_FALSE(Match(R"(content:"GET"; content:!"admin";)", "GET /admin"));
  EXPECT_TRUE(Match(R"(content:"GET"; content:!"admin"; distance:0; within:5;)", "GET /xxxxxx/admin"));
}

TEST_F(InspectTest, StartsWithEndsWith) {
  EXPECT_TRUE(Match(R"(content:"GET"; startswith;)", "GET /"));
  EXPECT_FALSE(Match(R"(content:"GET"; startswith;)", " GET /"));
  EXPECT_TRUE(Match(R"(content:".com"; endswith;)", "evil.com"));
  EXPECT_FALSE(Match(R"(content:".com"; endswith;)", "evil.com.au"));
  EXPECT_TRUE(Match(R"(content:"abc"; startswith; endswith;)", "abc"));
}

TEST_F(InspectTest, PcreRelativeAndRetry) {
  EXPECT_TRUE(Match(R"(pcre:"/^GET \/[a-z]+$/";)", "GET /index"));
  EXPECT_FALSE(Match(R"(pcre:"/^GET \/[a-z]+$/";)", "GET /index1"));
  // Relative: ^ anchors at the end of the previous match.
  EXPECT_TRUE(Match(R"(content:"key="; pcre:"/^[0-9]{4}/R";)", "x key=abcd key=1234"));
  EXPECT_FALSE(Match(R"(content:"key="; pcre:"/^[0-9]{4}/R";)", "x key=abcd key=12"));
  EXPECT_TRUE(Match(R"(pcre:!"/evil/i";)", "good"));
  EXPECT_FALSE(Match(R"(pcre:!"/evil/i";)", "EVIL"));
}

TEST_F(InspectTest, ByteTestJumpExtractMath) {
  const std::string pkt("\x00\x05hello\x00\x02zz\x30\x31", 13);
  EXPECT_TRUE(Match(R"(byte_test:2,=,5,0;)", pkt));
  EXPECT_TRUE(Match(R"(byte_test:2,>,4,0;)", pkt));
  EXPECT_FALSE(Match(R"(byte_test:2,<,5,0;)", pkt));
  EXPECT_TRUE(Match(R"(byte_test:2,!=,6,0;)", pkt));
  EXPECT_TRUE(Match(R"(byte_test:1,&,4,1;)", pkt));
  EXPECT_TRUE(Match(R"(byte_test:2,=,0x0500,0,little;)", pkt));
  // Jump over the 2-byte length and 5 bytes of data to the next length.
  EXPECT_TRUE(Match(R"(byte_jump:2,0; content:"|00 02|"; within:2;)", pkt));
  EXPECT_TRUE(Match(R"(byte_extract:2,0,len; content:"zz"; distance:len;)", std::string("\x00\x03" "abczz", 7)));
  EXPECT_FALSE(Match(R"(byte_extract:2,0,len; content:"zz"; distance:len;)", std::string("\x00\x04" "abczz", 7)));
  EXPECT_TRUE(Match(R"(byte_test:2,=,1,11,string,dec;)", pkt));  // "01"
  EXPECT_TRUE(Match(R"(byte_math:bytes 2, offset 0, oper *, rvalue 3, result v; byte_test:1,=,v,0;)",
                    std::string("\x00\x05\x0f", 3)) == false);
  EXPECT_TRUE(Match(R"(byte_math:bytes 1, offset 0, oper +, rvalue 2, result v; byte_test:1,=,v,1;)",
                    std::string("\x03\x05", 2)));
  // Reading past the end is no match, not a crash.
  EXPECT_FALSE(Match(R"(byte_test:4,=,1,12;)", pkt));
  EXPECT_FALSE(Match(R"(byte_jump:4,100;)", pkt));
}

TEST_F(InspectTest, IsDataAt) {
  EXPECT_TRUE(Match(R"(content:"ab"; isdataat:2,relative;)", "abcd"));
  EXPECT_FALSE(Match(R"(content:"ab"; isdataat:3,relative;)", "abcd"));
  EXPECT_TRUE(Match(R"(content:"cd"; isdataat:!1,relative;)", "abcd"));
  EXPECT_TRUE(Match(R"(isdataat:3;)", "abcd"));
  EXPECT_FALSE(Match(R"(isdataat:4;)", "abcd"));
}

TEST_F(InspectTest, BsizeAndTransforms) {
  EXPECT_TRUE(Match(R"(http.uri; bsize:5;)", "/abcd", BufferId::kHttpUri));
  EXPECT_FALSE(Match(R"(http.uri; bsize:>5;)", "/abcd", BufferId::kHttpUri));
  EXPECT_TRUE(Match(R"(http.uri; to_lowercase; content:"/admin";)", "/ADMIN", BufferId::kHttpUri));
  EXPECT_TRUE(Match(R"(http.uri; url_decode; content:"/a b'";)", "/a%20b%27", BufferId::kHttpUri));
  EXPECT_TRUE(Match(R"(http.uri; strip_whitespace; content:"/ab";)", "/a b", BufferId::kHttpUri));
  EXPECT_TRUE(Match(R"(http.uri; compress_whitespace; content:"a b";)", "a \t\r\n b", BufferId::kHttpUri));
  EXPECT_TRUE(Match(R"(http.uri; from_base64: offset 4; content:"secret";)", "/?x=c2VjcmV0", BufferId::kHttpUri));
  EXPECT_TRUE(Match(R"(http.uri; to_md5; content:"|90 01 50 98 3c d2 4f b0 d6 96 3f 7d 28 e1 7f 72|";)", "abc",
                    BufferId::kHttpUri));
  EXPECT_TRUE(Match(R"(http.uri; to_sha256; bsize:32;)", "abc", BufferId::kHttpUri));
  EXPECT_TRUE(Match(R"(http.uri; xor:"01"; content:"abc";)", "`cb", BufferId::kHttpUri));
  EXPECT_TRUE(Match(R"x(http.uri; pcrexform:"id=([0-9]+)"; content:"42"; startswith; endswith;)x", "/x?id=42&y",
                    BufferId::kHttpUri));
}

TEST_F(InspectTest, Base64DecodeData) {
  EXPECT_TRUE(Match(R"(content:"data="; base64_decode:relative; base64_data; content:"attack";)",
                    "data=YXR0YWNrIGF0IGRhd24="));
  EXPECT_FALSE(Match(R"(content:"data="; base64_decode:relative; base64_data; content:"retreat";)",
                     "data=YXR0YWNrIGF0IGRhd24="));
}

TEST_F(InspectTest, RecursionIsBounded) {
  // Many candidates for the first content, each failing the second: the walk
  // stops at the recursion limit instead of running away.
  std::string data(20000, 'a');
  EXPECT_FALSE(Match(R"(content:"a"; content:"b"; distance:0; within:1;)", data));
}

TEST(DecodeBase64Test, Modes) {
  const std::string in = "dGhp\r\ncyBpcw==";
  auto span = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(in.data()), in.size());
  EXPECT_EQ(DecodeBase64(span, Transform::B64Mode::kRfc2045), "this is");
  EXPECT_EQ(DecodeBase64(span, Transform::B64Mode::kRfc4648), "thi");
  EXPECT_EQ(DecodeBase64(span, Transform::B64Mode::kStrict), "");
}

}  // namespace
}  // namespace rampart::detect
