#include "agent/detect/rule_parser.h"

#include <gtest/gtest.h>

#include "agent/detect/ruleset.h"
#include "tests/testing/temp_dir.h"

namespace rampart::detect {
namespace {

class RuleParserTest : public ::testing::Test {
 protected:
  ParseResult Parse(std::string_view text) {
    ParseEnv env{&vars_, &classes_, &flowbits_, &flowints_, &xbits_};
    return ParseRule(text, env);
  }
  std::unique_ptr<Rule> Ok(std::string_view text) {
    ParseResult r = Parse(text);
    EXPECT_EQ(r.outcome, ParseResult::Outcome::kOk) << text << ": " << r.message;
    return std::move(r.rule);
  }
  RuleVars vars_ = RuleVars::Defaults();
  Classifications classes_ = Classifications::Builtin();
  NameTable flowbits_, flowints_, xbits_;
};

const ContentMatch& ContentAt(const Rule& r, BufferId b, size_t i) {
  const MatchList* l = FindList(r, b);
  EXPECT_NE(l, nullptr);
  return std::get<ContentMatch>(l->matches.at(i));
}

TEST_F(RuleParserTest, HeaderAndIdentity) {
  auto r = Ok(R"(alert tcp $HOME_NET any -> $EXTERNAL_NET [80,8080] (msg:"A \"quoted\" msg\; here"; )"
              R"(classtype:trojan-activity; sid:1000001; rev:3; gid:7; reference:url,example.org/x; )"
              R"(metadata: created_at 2024_01_01, deployment Perimeter;))");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->action, Action::kAlert);
  EXPECT_TRUE(r->proto.ip_protos.test(6));
  EXPECT_FALSE(r->proto.ip_protos.test(17));
  EXPECT_EQ(r->msg, "A \"quoted\" msg; here");
  EXPECT_EQ(r->sid, 1000001u);
  EXPECT_EQ(r->rev, 3u);
  EXPECT_EQ(r->gid, 7u);
  EXPECT_EQ(r->priority, 1);
  EXPECT_EQ(r->category, "A Network Trojan was detected");
  ASSERT_EQ(r->references.size(), 1u);
  EXPECT_EQ(r->references[0].type, "url");
  ASSERT_EQ(r->metadata.size(), 2u);
  EXPECT_TRUE(r->dport.Contains(8080));
  EXPECT_FALSE(r->dport.Contains(81));
  EXPECT_TRUE(r->addr_negated);  // $EXTERNAL_NET is !$HOME_NET
}

TEST_F(RuleParserTest, PriorityOverridesClasstype) {
  auto r = Ok("alert ip any any -> any any (classtype:trojan-activity; priority:4; sid:1;)");
  EXPECT_EQ(r->priority, 4);
  auto r2 = Ok("alert ip any any -> any any (priority:2; classtype:misc-activity; sid:2;)");
  EXPECT_EQ(r2->priority, 2);
}

TEST_F(RuleParserTest, ContentEncodingAndModifiers) {
  auto r = Ok(R"(alert tcp any any -> any any (content:"GET |20 2F|a\;b"; nocase; offset:2; depth:10; )"
              R"(content:!"x|00|"; distance:0; within:8; sid:1;))");
  const ContentMatch& c0 = ContentAt(*r, BufferId::kPayload, 0);
  EXPECT_EQ(c0.pattern, "GET  /a;b");
  EXPECT_TRUE(c0.nocase);
  EXPECT_EQ(c0.folded, "get  /a;b");
  EXPECT_EQ(c0.offset, 2u);
  EXPECT_EQ(c0.depth, 12u);  // Suricata keeps depth as offset + depth.
  const ContentMatch& c1 = ContentAt(*r, BufferId::kPayload, 1);
  EXPECT_EQ(c1.pattern, std::string("x\0", 2));
  EXPECT_TRUE(c1.negated);
  EXPECT_TRUE(c1.has_distance);
  EXPECT_EQ(c1.within, 8);
  EXPECT_TRUE(c0.retry_next);  // A within after it: retry on later occurrences.
  EXPECT_TRUE(r->require_stream);
}

TEST_F(RuleParserTest, DistanceOnlyDoesNotRetry) {
  auto r = Ok(R"(alert tcp any any -> any any (content:"a"; content:"b"; distance:0; sid:1;))");
  EXPECT_FALSE(ContentAt(*r, BufferId::kPayload, 0).retry_next);
  auto p = Ok(R"(alert tcp any any -> any any (content:"a"; pcre:"/b/R"; sid:2;))");
  EXPECT_TRUE(ContentAt(*p, BufferId::kPayload, 0).retry_next);
}

TEST_F(RuleParserTest, StickyBuffersAndLegacyModifiers) {
  auto r = Ok(R"(alert http any any -> any any (flow:established,to_server; http.method; content:"POST"; )"
              R"(pkt_data; content:"/gate.php"; http_uri; http.user_agent; content:"curl"; startswith; sid:1;))");
  EXPECT_EQ(r->proto.app, AppProto::kHttp1);
  EXPECT_EQ(ContentAt(*r, BufferId::kHttpMethod, 0).pattern, "POST");
  // pkt_data ends the sticky buffer; http_uri then moves the payload
  // content after it (and only it) to the uri buffer.
  EXPECT_EQ(ContentAt(*r, BufferId::kHttpUri, 0).pattern, "/gate.php");
  const ContentMatch& ua = ContentAt(*r, BufferId::kHttpUserAgent, 0);
  EXPECT_TRUE(ua.startswith);
  EXPECT_EQ(ua.depth, 4u);
  EXPECT_EQ(r->dirs, kDirToServer);
}

TEST_F(RuleParserTest, LegacyModifierOnPayloadContent) {
  auto r = Ok(R"(alert tcp any any -> any any (content:"GET"; http_method; content:"/x"; http_uri; sid:1;))");
  EXPECT_EQ(FindList(*r, BufferId::kPayload), nullptr);
  EXPECT_EQ(ContentAt(*r, BufferId::kHttpMethod, 0).pattern, "GET");
  EXPECT_EQ(r->proto.app, AppProto::kHttp1);
}

TEST_F(RuleParserTest, RequestAndResponseBuffersInspectOnResponse) {
  auto r = Ok(R"(alert http any any -> any any (http.uri; content:"/a"; http.stat_code; content:"200"; sid:1;))");
  EXPECT_EQ(r->dirs, kDirToClient);
}

TEST_F(RuleParserTest, PcreFlagsAndBuffer) {
  auto r = Ok(R"(alert http any any -> any any (pcre:"/^\/admin\/[a-z]+\.php$/Ui"; sid:1;))");
  const MatchList* l = FindList(*r, BufferId::kHttpUri);
  ASSERT_NE(l, nullptr);
  ASSERT_TRUE(std::holds_alternative<PcreMatch>(l->matches[0]));
  auto bad = Parse(R"(alert tcp any any -> any any (pcre:"/x/q"; sid:1;))");
  EXPECT_EQ(bad.outcome, ParseResult::Outcome::kFailed);
  EXPECT_NE(bad.message.find("unknown pcre flag"), std::string::npos) << bad.message;
  auto bad_re = Parse(R"(alert tcp any any -> any any (pcre:"/(unclosed/"; sid:1;))");
  EXPECT_EQ(bad_re.outcome, ParseResult::Outcome::kFailed);
}

TEST_F(RuleParserTest, ByteKeywordsAndVariables) {
  auto r = Ok(R"(alert tcp any any -> any 8080 (content:"Authorization:"; )"
              R"(byte_extract:1,0,option_len,string,relative; content:"|37|"; distance:option_len; within:1; )"
              R"(byte_test:2,>,0x10,0,relative,little; byte_jump:2,0,relative,multiplier 2,post_offset -1; )"
              R"(byte_math:bytes 1, offset 0, oper +, rvalue 5, result total, relative; isdataat:!total,relative; )"
              R"(sid:1;))");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->num_vars, 2);
  const ContentMatch& c = ContentAt(*r, BufferId::kPayload, 2);
  EXPECT_EQ(c.distance_var, 0);
  auto unknown = Parse(R"(alert tcp any any -> any any (content:"a"; distance:nope; sid:1;))");
  EXPECT_EQ(unknown.outcome, ParseResult::Outcome::kFailed);
}

TEST_F(RuleParserTest, FlowbitsFlowintThreshold) {
  auto r = Ok(R"(alert tcp any any -> any any (flowbits:isset,a|b; flowbits:set,c; flowint:n,+,1; )"
              R"(threshold: type limit, track by_src, count 2, seconds 60; sid:1;))");
  EXPECT_EQ(r->flowbits_order, StateOrder::kSets);
  EXPECT_EQ(r->flowint_order, StateOrder::kSets);
  EXPECT_EQ(r->threshold.type, ThresholdSpec::Type::kLimit);
  EXPECT_EQ(r->threshold.count, 2u);
  EXPECT_EQ(flowbits_.size(), 3u);
  auto bad = Parse("alert tcp any any -> any any (threshold: type limit, count 2; sid:1;)");
  EXPECT_EQ(bad.outcome, ParseResult::Outcome::kFailed);
}

TEST_F(RuleParserTest, UnsupportedKeywordIsNamed) {
  ParseResult r = Parse(R"(alert tcp any any -> any any (content:"x"; lua:script.lua; sid:1;))");
  EXPECT_EQ(r.outcome, ParseResult::Outcome::kSkipped);
  EXPECT_EQ(r.keyword, "lua");
  ParseResult p = Parse("alert foo-proto any any -> any any (sid:1;)");
  EXPECT_EQ(p.outcome, ParseResult::Outcome::kSkipped);
  EXPECT_EQ(p.keyword, "protocol:foo-proto");
}

TEST_F(RuleParserTest, MalformedRulesFailWithReason) {
  struct Case {
    const char* text;
    const char* reason;
  };
  const Case cases[] = {
      {"alert tcp any any -> any any (msg:\"no sid\";)", "no sid"},
      {"alert tcp any any any any (sid:1;)", "7 fields"},
      {"alert tcp any any => any any sid:1;", "no option block"},
      {"hello tcp any any -> any any (sid:1;)", "unknown action"},
      {"alert tcp any any -> any any (sid:1; content:\"a|4\"; )", "hex"},
      {"alert tcp any any -> any any (nocase; sid:1;)", "no preceding content"},
      {"alert tcp any any -> any any (content:\"abc\"; depth:2; sid:1;)", "smaller than the content length"},
      {"alert tcp any any -> any any (content:\"a\"; distance:1; offset:3; sid:1;)", "cannot be mixed"},
      {"alert tcp any any -> any any (sid:1; sid:2;)", "twice"},
      {"alert tcp any any -> any any (flow:sideways; sid:1;)", "unknown flow option"},
      {"alert tcp any any -> any any (classtype:no-such-class; sid:1;)", "unknown classtype"},
      {"alert icmp any 80 -> any any (sid:1;)", "no ports"},
      {"alert tcp any any -> any any (content:\"x\" sid:1)", "not terminated"},
      {"alert dns any any -> any any (http.uri; content:\"x\"; sid:1;)", "cannot be used"},
      {"alert http any any -> any any (http.method; content:\"x\"; content:\"y\"; http_uri; sid:1;)",
       "sticky buffer is active"},
      // An unescaped ';' inside quotes ends the option: the quote is left open.
      {"alert tcp any any -> any any (msg:\"a; b\"; sid:1;)", "is not closed"},
      {"alert tcp any any -> any any (msg:\"escaped end\\\"; sid:1;)", "is not closed"},
  };
  for (const Case& c : cases) {
    ParseResult r = Parse(c.text);
    EXPECT_EQ(r.outcome, ParseResult::Outcome::kFailed) << c.text;
    EXPECT_NE(r.message.find(c.reason), std::string::npos) << c.text << " -> " << r.message;
  }
}

TEST_F(RuleParserTest, TransformAfterContentStartsATransformedInstance) {
  auto r = Ok(R"(alert http any any -> any any (http.uri; content:"/?x="; to_lowercase; from_base64: offset 4; )"
              R"(content:"secret"; sid:1;))");
  ASSERT_EQ(r->lists.size(), 2u);
  EXPECT_EQ(r->lists[0].buffer, BufferId::kHttpUri);
  EXPECT_TRUE(r->lists[0].transforms.empty());
  EXPECT_EQ(std::get<ContentMatch>(r->lists[0].matches[0]).pattern, "/?x=");
  EXPECT_EQ(r->lists[1].buffer, BufferId::kHttpUri);
  ASSERT_EQ(r->lists[1].transforms.size(), 2u);
  EXPECT_EQ(r->lists[1].transforms[1].kind, TransformKind::kFromBase64);
  EXPECT_EQ(std::get<ContentMatch>(r->lists[1].matches[0]).pattern, "secret");
}

TEST_F(RuleParserTest, TransformsAndBsize) {
  auto r = Ok(R"(alert dns any any -> any any (dns.query; dotprefix; content:".evil.com"; endswith; bsize:>8; sid:1;))");
  const MatchList* l = FindList(*r, BufferId::kDnsQuery);
  ASSERT_NE(l, nullptr);
  ASSERT_EQ(l->transforms.size(), 1u);
  EXPECT_EQ(l->transforms[0].kind, TransformKind::kDotPrefix);
  EXPECT_EQ(r->proto.app, AppProto::kDns);
  auto x = Ok(R"(alert http any any -> any any (http.request_body; xor:"0d0ac8ff"; content:"x"; sid:2;))");
  EXPECT_EQ(FindList(*x, BufferId::kHttpRequestBody)->transforms[0].key, std::string("\x0d\x0a\xc8\xff", 4));
}

TEST(RuleLoaderTest, FileLineErrorsAndSummary) {
  testing::ScopedTempDir dir("detect");
  const std::string path = dir.File("t.rules");
  testing::WriteTextFile(path,
                         "# a comment\n"
                         "alert tcp any any -> any any (msg:\"ok\"; content:\"a\"; sid:1;)\n"
                         "\n"
                         "alert tcp any any -> any any (msg:\"multi\"; \\\n"
                         "   content:\"b\"; sid:2;)\n"
                         "alert tcp any any -> any any (msg:\"bad\"; content:\"|zz|\"; sid:3;)\n"
                         "alert tcp any any -> any any (msg:\"skip\"; lua:x.lua; sid:4;)\n"
                         "alert tcp any any -> any any (msg:\"dup\"; content:\"c\"; sid:1;)\n"
                         "alert tcp any any -> any any (msg:\"newer\"; content:\"d\"; sid:2; rev:5;)\n");
  RuleVars vars = RuleVars::Defaults();
  Classifications classes = Classifications::Builtin();
  RuleLoader loader(vars, classes);
  ASSERT_TRUE(loader.LoadFile(path).ok());
  const LoadReport& rep = loader.report();
  EXPECT_EQ(rep.loaded, 2u);
  EXPECT_EQ(rep.skipped, 1u);
  EXPECT_EQ(rep.failed, 3u);  // bad hex, duplicate, replaced duplicate
  ASSERT_FALSE(rep.errors.empty());
  EXPECT_EQ(rep.errors[0].rfind(path + ":6: content: ", 0), 0u) << rep.errors[0];
  ASSERT_EQ(rep.warnings.size(), 1u);
  EXPECT_EQ(rep.warnings[0].rfind(path + ":7: skipped:", 0), 0u) << rep.warnings[0];
  EXPECT_EQ(rep.skipped_keywords.at("lua"), 1u);
  EXPECT_EQ(rep.Summary(), "1 rule file: 2 rules loaded, 1 skipped (unsupported keywords), 3 failed");
  RuleSet set = loader.Take();
  ASSERT_EQ(set.rules.size(), 2u);
  EXPECT_EQ(set.rules[1]->rev, 5u);  // The newer revision replaced the older.
  EXPECT_EQ(set.rules[1]->line, 9);
  EXPECT_EQ(set.rules[0]->msg, "ok");
}

// dataset / datarep files are found next to the rule file; a missing one
// skips the rule and names the file; a bad one fails it.
TEST(RuleLoaderTest, DatasetFilesNextToTheRuleFile) {
  testing::ScopedTempDir dir("detect");
  // "a.example" and "b.example" in base64; two MD5 digests in hex.
  testing::WriteTextFile(dir.File("names.lst"), "# names\nYS5leGFtcGxl\n\nYi5leGFtcGxl\n");
  testing::WriteTextFile(dir.File("rep.csv"), "YS5leGFtcGxl,100\nYi5leGFtcGxl,300\n");
  testing::WriteTextFile(dir.File("md5.lst"), "0123456789abcdef0123456789ABCDEF\n");
  testing::WriteTextFile(dir.File("bad.lst"), "not base64 !\n");
  testing::WriteTextFile(dir.File("ips.lst"), "192.0.2.1\n2001:db8::1\n");
  const std::string path = dir.File("t.rules");
  testing::WriteTextFile(path,
                         "alert dns any any -> any any (dns.query; dataset:isset,names,type string,load names.lst,"
                         "memcap 10mb,hashsize 1024; sid:1;)\n"
                         "alert dns any any -> any any (dns.query; to_md5; dataset:isset,digests,type md5,"
                         "load md5.lst; sid:2;)\n"
                         "alert dns any any -> any any (dns.query; datarep:reps, >, 200, load rep.csv, type string; "
                         "sid:3;)\n"
                         "alert dns any any -> any any (dns.query; dataset:isset,gone,type string,load missing.csv; "
                         "sid:4;)\n"
                         "alert dns any any -> any any (dns.query; dataset:isset,broken,type string,load bad.lst; "
                         "sid:5;)\n"
                         "alert dns any any -> any any (dns.query; dataset:isset,names,type md5; sid:6;)\n"
                         "alert dns any any -> any any (dns.query; dataset:bogus,names,type string; sid:7;)\n"
                         "alert dns any any -> any any (dns.query; dataset:isset,names; sid:8;)\n"
                         "alert http any any -> any any (http.host; dataset:isset,ips,type ip,load ips.lst; sid:9;)\n");
  RuleVars vars = RuleVars::Defaults();
  Classifications classes = Classifications::Builtin();
  RuleLoader loader(vars, classes);
  ASSERT_TRUE(loader.LoadFile(path).ok());
  const LoadReport& rep = loader.report();
  EXPECT_EQ(rep.loaded, 4u);
  EXPECT_EQ(rep.skipped, 1u);
  ASSERT_EQ(rep.warnings.size(), 1u);
  EXPECT_NE(rep.warnings[0].find(dir.File("missing.csv")), std::string::npos) << rep.warnings[0];
  EXPECT_EQ(rep.warnings[0].rfind(path + ":4: skipped:", 0), 0u) << rep.warnings[0];
  EXPECT_EQ(rep.failed, 4u);  // bad file, type conflict, unknown command, no type
  RuleSet set = loader.Take();
  ASSERT_EQ(set.rules.size(), 4u);
  const auto& names = std::get<DatasetMatch>(FindList(*set.rules[0], BufferId::kDnsQuery)->matches[0]);
  ASSERT_NE(names.set, nullptr);
  EXPECT_EQ(names.set->size(), 2u);
  const std::string a = "a.example";
  EXPECT_TRUE(names.set->Contains({reinterpret_cast<const uint8_t*>(a.data()), a.size()}));
  const auto& digests = std::get<DatasetMatch>(FindList(*set.rules[1], BufferId::kDnsQuery)->matches[0]);
  const uint8_t md5[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                           0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  EXPECT_TRUE(digests.set->Contains(md5));
  EXPECT_FALSE(digests.set->Contains({md5, 15}));  // Wrong size for the type.
  const auto& reps = std::get<DatasetMatch>(FindList(*set.rules[2], BufferId::kDnsQuery)->matches[0]);
  EXPECT_EQ(reps.cmd, DatasetMatch::Cmd::kRep);
  EXPECT_EQ(reps.rep_value, 200u);
  const std::string b = "b.example";
  EXPECT_EQ(reps.set->Rep({reinterpret_cast<const uint8_t*>(b.data()), b.size()}).value_or(0), 300u);
  const auto& ips = std::get<DatasetMatch>(FindList(*set.rules[3], BufferId::kHttpHost)->matches[0]);
  const uint8_t v4[4] = {192, 0, 2, 1};
  EXPECT_TRUE(ips.set->Contains(v4));  // IPv4 in an "ip" set.
}

TEST(RuleLoaderTest, DatasetFilesNeedARuleFile) {
  RuleVars vars = RuleVars::Defaults();
  Classifications classes = Classifications::Builtin();
  RuleLoader loader(vars, classes);
  loader.LoadText("alert dns any any -> any any (dns.query; dataset:isset,x,type string,load /etc/passwd; sid:1;)\n"
                  "alert dns any any -> any any (dns.query; dataset:set,y,type string,save y.lst; sid:2;)\n"
                  "alert dns any any -> any any (dns.query; dataset:set,z,type string; sid:3;)\n",
                  "inline");
  EXPECT_EQ(loader.report().loaded, 1u);
  EXPECT_EQ(loader.report().failed + loader.report().skipped, 2u);
}

TEST(RuleLoaderTest, MissingFileIsAnError) {
  RuleVars vars = RuleVars::Defaults();
  Classifications classes = Classifications::Builtin();
  RuleLoader loader(vars, classes);
  Status st = loader.LoadFile("/nonexistent/x.rules");
  EXPECT_EQ(st.code(), StatusCode::kNotFound) << st;
}

}  // namespace
}  // namespace rampart::detect
