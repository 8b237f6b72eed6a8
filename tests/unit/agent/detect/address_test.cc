#include "agent/detect/address.h"

#include <gtest/gtest.h>

#include "agent/detect/uint_check.h"
#include "agent/detect/vars.h"

namespace rampart::detect {
namespace {

IpAddr A(const char* s) { return *ParseIpAddr(s); }

TEST(IpSetTest, AnyMatchesBothFamilies) {
  auto s = IpSet::Parse("any", {});
  ASSERT_TRUE(s) << s.error();
  EXPECT_TRUE(s->IsAny());
  EXPECT_TRUE(s->Contains(A("1.2.3.4")));
  EXPECT_TRUE(s->Contains(A("2001:db8::1")));
}

TEST(IpSetTest, CidrRangeAndSingle) {
  auto s = IpSet::Parse("[10.0.0.0/8, 192.168.1.5, 172.16.0.1-172.16.0.9]", {});
  ASSERT_TRUE(s) << s.error();
  EXPECT_TRUE(s->Contains(A("10.255.0.1")));
  EXPECT_FALSE(s->Contains(A("11.0.0.1")));
  EXPECT_TRUE(s->Contains(A("192.168.1.5")));
  EXPECT_FALSE(s->Contains(A("192.168.1.6")));
  EXPECT_TRUE(s->Contains(A("172.16.0.9")));
  EXPECT_FALSE(s->Contains(A("172.16.0.10")));
  EXPECT_FALSE(s->Contains(A("::1")));
}

TEST(IpSetTest, NetmaskNotation) {
  auto s = IpSet::Parse("10.1.0.0/255.255.0.0", {});
  ASSERT_TRUE(s) << s.error();
  EXPECT_TRUE(s->Contains(A("10.1.200.3")));
  EXPECT_FALSE(s->Contains(A("10.2.0.1")));
  EXPECT_FALSE(IpSet::Parse("10.1.0.0/255.0.255.0", {}));
}

TEST(IpSetTest, NegationInsideListAndOutside) {
  auto s = IpSet::Parse("[10.0.0.0/8,!10.1.0.0/16]", {});
  ASSERT_TRUE(s) << s.error();
  EXPECT_TRUE(s->Contains(A("10.2.0.1")));
  EXPECT_FALSE(s->Contains(A("10.1.3.4")));
  auto n = IpSet::Parse("!192.168.0.0/16", {});
  ASSERT_TRUE(n) << n.error();
  EXPECT_FALSE(n->Contains(A("192.168.3.3")));
  EXPECT_TRUE(n->Contains(A("8.8.8.8")));
  EXPECT_TRUE(n->Contains(A("2001:db8::1")));
}

TEST(IpSetTest, Ipv6Prefix) {
  auto s = IpSet::Parse("2001:db8::/32", {});
  ASSERT_TRUE(s) << s.error();
  EXPECT_TRUE(s->Contains(A("2001:db8:ffff::1")));
  EXPECT_FALSE(s->Contains(A("2001:db9::1")));
  EXPECT_FALSE(s->Contains(A("1.2.3.4")));
}

TEST(IpSetTest, VariablesFromDefaults) {
  RuleVars vars = RuleVars::Defaults();
  auto home = IpSet::Parse("$HOME_NET", vars.Lookup());
  auto ext = IpSet::Parse("$EXTERNAL_NET", vars.Lookup());
  ASSERT_TRUE(home) << home.error();
  ASSERT_TRUE(ext) << ext.error();
  EXPECT_TRUE(home->Contains(A("192.168.4.4")));
  EXPECT_FALSE(ext->Contains(A("192.168.4.4")));
  EXPECT_TRUE(ext->Contains(A("8.8.8.8")));
  vars.Set("HOME_NET", "[10.20.0.0/16]");
  auto ext2 = IpSet::Parse("$EXTERNAL_NET", vars.Lookup());
  ASSERT_TRUE(ext2) << ext2.error();
  EXPECT_TRUE(ext2->Contains(A("192.168.4.4")));
  EXPECT_FALSE(ext2->Contains(A("10.20.1.1")));
}

TEST(IpSetTest, ErrorsSayWhatIsWrong) {
  auto bad = IpSet::Parse("[10.0.0.1,", {});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("missing ']'"), std::string::npos) << bad.error();
  auto unknown = IpSet::Parse("$NOPE", {});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message().find("unknown variable $NOPE"), std::string::npos);
  EXPECT_FALSE(IpSet::Parse("!any", {}));          // Matches nothing.
  EXPECT_FALSE(IpSet::Parse("10.0.0.300", {}));
  EXPECT_FALSE(IpSet::Parse("10.0.0.0/33", {}));
  EXPECT_FALSE(IpSet::Parse("10.0.0.9-10.0.0.1", {}));
}

TEST(IpSetTest, VariableLoopIsAnError) {
  RuleVars vars;
  vars.Set("A", "$B");
  vars.Set("B", "$A");
  auto r = IpSet::Parse("$A", vars.Lookup());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("nest too deeply"), std::string::npos) << r.error();
}

TEST(PortSetTest, ListsRangesAndNegation) {
  auto p = PortSet::Parse("[80,443,8000:8100,!8050]", {});
  ASSERT_TRUE(p) << p.error();
  EXPECT_TRUE(p->Contains(80));
  EXPECT_TRUE(p->Contains(8000));
  EXPECT_TRUE(p->Contains(8100));
  EXPECT_FALSE(p->Contains(8050));
  EXPECT_FALSE(p->Contains(81));
  auto open = PortSet::Parse("1024:", {});
  ASSERT_TRUE(open);
  EXPECT_TRUE(open->Contains(65535));
  EXPECT_FALSE(open->Contains(1023));
  auto low = PortSet::Parse(":1023", {});
  ASSERT_TRUE(low);
  EXPECT_TRUE(low->Contains(0));
  EXPECT_FALSE(low->Contains(1024));
  auto neg = PortSet::Parse("!80", {});
  ASSERT_TRUE(neg);
  EXPECT_FALSE(neg->Contains(80));
  EXPECT_TRUE(neg->Contains(81));
  EXPECT_FALSE(PortSet::Parse("70000", {}));
  EXPECT_FALSE(PortSet::Parse("!any", {}));
}

TEST(PortSetTest, VariablesNest) {
  RuleVars vars = RuleVars::Defaults();
  auto p = PortSet::Parse("$FILE_DATA_PORTS", vars.Lookup());
  ASSERT_TRUE(p) << p.error();
  EXPECT_TRUE(p->Contains(80));
  EXPECT_TRUE(p->Contains(110));
  EXPECT_TRUE(p->Contains(143));
  EXPECT_FALSE(p->Contains(25));
}

TEST(RuleVarsTest, ValidateNamesEveryBadVariable) {
  RuleVars vars = RuleVars::Defaults();
  vars.Set("HOME_NET", "[10.0.0.0/8");
  vars.Set("HTTP_PORTS", "99999");
  Status st = vars.Validate();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("$HOME_NET"), std::string::npos) << st;
  EXPECT_NE(st.message().find("$HTTP_PORTS"), std::string::npos) << st;
}

TEST(ClassificationsTest, ParsesAndReportsBadLines) {
  auto c = Classifications::Parse(
      "# comment\nconfig classification: trojan-activity,A Network Trojan was detected, 1\n"
      "config classification: misc-activity,Misc activity,3\n",
      "c.config");
  ASSERT_TRUE(c) << c.error();
  ASSERT_NE(c->Find("trojan-activity"), nullptr);
  EXPECT_EQ(c->Find("trojan-activity")->priority, 1);
  EXPECT_EQ(c->Find("trojan-activity")->description, "A Network Trojan was detected");
  EXPECT_EQ(c->Find("nope"), nullptr);
  auto bad = Classifications::Parse("config classification: a,b,x\n", "c.config");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("c.config:1:"), std::string::npos) << bad.error();
  EXPECT_GE(Classifications::Builtin().size(), 40u);
}

TEST(UintCheckTest, SuricataForms) {
  auto eq = ParseUintCheck("5", 255);
  ASSERT_TRUE(eq);
  EXPECT_TRUE(eq->Matches(5));
  EXPECT_FALSE(eq->Matches(6));
  auto lt = ParseUintCheck("<5", 255);
  ASSERT_TRUE(lt);
  EXPECT_TRUE(lt->Matches(4));
  EXPECT_FALSE(lt->Matches(5));
  auto ge = ParseUintCheck(">=5", 255);
  ASSERT_TRUE(ge);
  EXPECT_TRUE(ge->Matches(5));
  auto range = ParseUintCheck("3<>7", 255);
  ASSERT_TRUE(range);
  EXPECT_FALSE(range->Matches(3));
  EXPECT_TRUE(range->Matches(4));
  EXPECT_FALSE(range->Matches(7));
  auto dash = ParseUintCheck("3-7", 255);
  ASSERT_TRUE(dash);
  EXPECT_TRUE(dash->Matches(6));
  auto ne = ParseUintCheck("!5", 255);
  ASSERT_TRUE(ne);
  EXPECT_TRUE(ne->Matches(4));
  EXPECT_FALSE(ne->Matches(5));
  EXPECT_FALSE(ParseUintCheck("300", 255));
  EXPECT_FALSE(ParseUintCheck("7<>3", 255));
  EXPECT_FALSE(ParseUintCheck("abc", 255));
}

}  // namespace
}  // namespace rampart::detect
