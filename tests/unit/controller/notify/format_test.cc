// Rendering of notifications: CEF escaping, ECS fields, RFC 5424 framing,
// the webhook's HMAC (checked against a known value), emails' MIME layout.

#include "controller/notify/format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace rampart::notify {
namespace {

using ::testing::HasSubstr;

Notification Sample() {
  Notification n;
  n.id = "a-1";
  n.time_nanos = 1'795'000'000'123'000'000;
  n.severity = 2;
  n.site = "so-y-te";
  n.agent = "web-01";
  n.signature = "ET TROJAN a|b=c\\d";
  n.signature_id = 2024001;
  n.category = "Trojan";
  n.src_ip = "10.0.0.1";
  n.src_port = 1234;
  n.dest_ip = "192.0.2.1";
  n.dest_port = 80;
  n.proto = "TCP";
  return n;
}

TEST(FormatTest, CefEscapesHeaderAndExtensionCharacters) {
  const std::string cef = RenderCef(Sample(), "key-1");
  EXPECT_THAT(cef, HasSubstr("|2024001|ET TROJAN a\\|b=c\\\\d|8|"));
  EXPECT_THAT(cef, HasSubstr("externalId=key-1 src=10.0.0.1 spt=1234 dst=192.0.2.1 dpt=80 proto=TCP dvchost=web-01"));
  Notification n = Sample();
  n.category = "a=b\nc";
  EXPECT_THAT(RenderCef(n, "k"), HasSubstr("cat=a\\=b\\nc"));
}

TEST(FormatTest, EcsHasTheEcsFieldNames) {
  auto j = nlohmann::json::parse(RenderEcs(Sample(), "key-2"));
  EXPECT_EQ(j["event"]["id"], "key-2");
  EXPECT_EQ(j["event"]["kind"], "alert");
  EXPECT_EQ(j["rule"]["id"], "2024001");
  EXPECT_EQ(j["source"]["ip"], "10.0.0.1");
  EXPECT_EQ(j["destination"]["port"], 80);
  EXPECT_EQ(j["network"]["transport"], "tcp");
  EXPECT_EQ(j["labels"]["site"], "so-y-te");
  EXPECT_EQ(j["@timestamp"], "2026-11-18T11:06:40.123Z");
}

TEST(FormatTest, SyslogIsRfc5424WithStructuredData) {
  const std::string s = RenderSyslog(Sample(), "ecs", "dc 01", "key-3");
  EXPECT_THAT(s, ::testing::StartsWith("<83>1 2026-11-18T11:06:40.123Z dc01 rampart - alert "
                                       "[rampart@32473 id=\"key-3\" site=\"so-y-te\"] {"));
}

TEST(FormatTest, WebhookSignatureIsHmacSha256OfTimestampDotBody) {
  // Reference: printf '1700000000.{}' | openssl dgst -sha256 -hmac key
  EXPECT_EQ(WebhookSignature("key", "1700000000", "{}"),
            "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
}

TEST(FormatTest, EmailIsBilingualMultipartWithEscapedHtml) {
  Notification n = Sample();
  n.signature = "<script>x</script>";
  const std::string m = RenderAlertEmail(n, {.from = "r@x", .to = {"a@x", "b@x"}, .message_id = "id-9",
                                             .now_nanos = n.time_nanos, .controller = "dc"});
  EXPECT_THAT(m, HasSubstr("To: a@x, b@x\r\n"));
  EXPECT_THAT(m, HasSubstr("Message-ID: <id-9@rampart>\r\n"));
  EXPECT_THAT(m, HasSubstr("Subject: =?UTF-8?B?"));
  EXPECT_THAT(m, HasSubstr("Content-Type: multipart/alternative; boundary="));
  EXPECT_EQ(m.find("<script>"), std::string::npos);  // Base64 parts; and HTML-escaped inside.
}

TEST(FormatTest, NotificationRoundTripsThroughJson) {
  Notification n = Sample();
  n.eve_json = R"({"event_type":"alert"})";
  Notification back;
  ASSERT_TRUE(NotificationFromJson(NotificationToJson(n), &back));
  EXPECT_EQ(back.signature, n.signature);
  EXPECT_EQ(back.dest_port, 80u);
  EXPECT_EQ(back.eve_json, n.eve_json);
  EXPECT_FALSE(NotificationFromJson("not json", &back));
}

TEST(RouteTest, RulesMatchBySeveritySiteSignatureAndLinkState) {
  RouteRule r{.name = "r", .alerts = true, .links = true, .max_severity = 2, .sites = {"so-y-te"},
              .signature_contains = "trojan", .link_states = {"down"}};
  Notification n = Sample();
  EXPECT_TRUE(Matches(r, n));
  n.severity = 3;
  EXPECT_FALSE(Matches(r, n));
  n = Sample();
  n.site = "other";
  EXPECT_FALSE(Matches(r, n));
  n = Sample();
  n.signature = "ET SCAN";
  EXPECT_FALSE(Matches(r, n));
  Notification link;
  link.kind = Notification::Kind::kLink;
  link.site = "so-y-te";
  link.link_state = "down";
  EXPECT_TRUE(Matches(r, link));
  link.link_state = "up";
  EXPECT_FALSE(Matches(r, link));
  r.links = false;
  link.link_state = "down";
  EXPECT_FALSE(Matches(r, link));
}

}  // namespace
}  // namespace rampart::notify
