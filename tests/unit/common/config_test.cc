#include "common/config/config.h"
#include "common/config/log_section.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/temp_dir.h"

namespace rampart::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct CaptureOptions {
  std::string interface;
  int snaplen = 65535;
  uint64_t buffer = 64ull << 20;
  bool promiscuous = true;
  std::chrono::milliseconds stats_interval{30'000};
  std::string checksum = "all";
  std::vector<std::string> ignore;
};

Status ReadCapture(Document& doc, CaptureOptions* o) {
  Section c = doc.Root().Child("agent").Child("capture");
  c.String("interface", &o->interface, kRequired);
  c.Int("snaplen", &o->snaplen, 64, 262144);
  c.ByteSize("buffer_size", &o->buffer, 1 << 20, 1ull << 32);
  c.Bool("promiscuous", &o->promiscuous);
  c.Duration("stats_interval", &o->stats_interval, std::chrono::seconds(1), std::chrono::hours(1));
  c.OneOf("checksum_checks", &o->checksum, {"all", "none"});
  c.StringList("ignore_nets", &o->ignore);
  return doc.Finish();
}

TEST(ConfigTest, ReadsTypedValuesAndKeepsDefaults) {
  auto doc = Document::LoadString(R"(
agent:
  capture:
    interface: eth1
    snaplen: 1514
    buffer_size: 128MiB
    stats_interval: 10s
    ignore_nets: [10.0.0.0/8, 192.168.0.0/16]
)");
  ASSERT_TRUE(doc.has_value()) << doc.error();
  CaptureOptions o;
  ASSERT_TRUE(ReadCapture(*doc, &o).ok());
  EXPECT_EQ(o.interface, "eth1");
  EXPECT_EQ(o.snaplen, 1514);
  EXPECT_EQ(o.buffer, 128ull << 20);
  EXPECT_TRUE(o.promiscuous);  // Default kept.
  EXPECT_EQ(o.stats_interval, std::chrono::seconds(10));
  EXPECT_EQ(o.checksum, "all");
  EXPECT_THAT(o.ignore, ElementsAre("10.0.0.0/8", "192.168.0.0/16"));
}

TEST(ConfigTest, ReportsEveryProblemWithPathAndLine) {
  auto doc = Document::LoadString(R"(agent:
  capture:
    snaplen: 10
    buffer_size: 12 parsecs
    promiscuous: maybe
    checksum_checks: some
    stats_interval: 0s
    snaplenn: 3
    ignore_nets: 10.0.0.0/8
)", "agent.yaml");
  ASSERT_TRUE(doc.has_value());
  CaptureOptions o;
  const Status s = ReadCapture(*doc, &o);
  ASSERT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(doc->Problems(),
              ElementsAre("agent.capture.interface: is required (line 2)",
                          "agent.capture.snaplen: must be 64..262144, got 10 (line 3)",
                          "agent.capture.buffer_size: unknown unit 'parsecs' in '12 parsecs' (use B, KiB, MiB, "
                          "GiB, TiB, KB, MB, GB or TB) (line 4)",
                          "agent.capture.promiscuous: must be true or false, got 'maybe' (line 5)",
                          "agent.capture.stats_interval: must be 1s..1h, got 0s (line 7)",
                          "agent.capture.checksum_checks: must be one of all, none, got 'some' (line 6)",
                          "agent.capture.ignore_nets: must be a list, got '10.0.0.0/8' (line 9)",
                          "agent.capture.snaplenn: unknown key; did you mean 'snaplen'? (line 8)"));
  EXPECT_THAT(s.message(), HasSubstr("agent.yaml: 8 problems\n  agent.capture.interface: is required"));
  // Nothing invalid was stored.
  EXPECT_EQ(o.snaplen, 65535);
  EXPECT_TRUE(o.promiscuous);
}

TEST(ConfigTest, UnknownSectionsAndWrongShapes) {
  auto doc = Document::LoadString("agent:\n  capture: eth0\nagnet:\n  x: 1\n");
  ASSERT_TRUE(doc.has_value());
  Section agent = doc->Root().Child("agent");
  agent.Child("capture");
  EXPECT_FALSE(doc->Finish().ok());
  EXPECT_THAT(doc->Problems(), ElementsAre("agent.capture: must be a mapping, got 'eth0' (line 2)",
                                           "agnet: unknown key; did you mean 'agent'? (line 3)"));
}

TEST(ConfigTest, ListsOfSectionsCarryIndexes) {
  auto doc = Document::LoadString("links:\n  - name: a\n    rtt_ms: 5\n  - name: b\n    rtt_ms: -1\n  - 7\n");
  ASSERT_TRUE(doc.has_value());
  auto links = doc->Root().List("links");
  ASSERT_EQ(links.size(), 2u);
  for (Section& l : links) {
    std::string name;
    int rtt = 0;
    l.String("name", &name, kRequired);
    l.Int("rtt_ms", &rtt, 0, 10000);
  }
  EXPECT_FALSE(doc->Finish().ok());
  EXPECT_THAT(doc->Problems(), ElementsAre("links[2]: must be a mapping, got '7' (line 6)",
                                           "links[1].rtt_ms: must be 0..10000, got -1 (line 5)"));
}

TEST(ConfigTest, SyntaxErrorsNameFileLineAndColumn) {
  auto doc = Document::LoadString("agent:\n  capture: [unclosed\n", "broken.yaml");
  ASSERT_FALSE(doc.has_value());
  EXPECT_THAT(doc.error().message(), HasSubstr("broken.yaml:"));
  EXPECT_EQ(doc.error().code(), StatusCode::kInvalidArgument);
}

TEST(ConfigTest, MissingFileIsNotFound) {
  auto doc = Document::LoadFile("/nonexistent/agent.yaml");
  ASSERT_FALSE(doc.has_value());
  EXPECT_EQ(doc.error().code(), StatusCode::kNotFound);
  EXPECT_THAT(doc.error().message(), HasSubstr("/nonexistent/agent.yaml"));
}

TEST(ConfigTest, LoadsFromFileAndTopLevelMustBeMapping) {
  testing::ScopedTempDir dir;
  testing::WriteTextFile(dir.File("c.yaml"), "- a\n- b\n");
  auto doc = Document::LoadFile(dir.File("c.yaml"));
  ASSERT_TRUE(doc.has_value());
  doc->Root();
  EXPECT_THAT(doc->Problems(), ElementsAre(HasSubstr("the document must be a mapping of sections")));
}

TEST(ConfigTest, StringMapsAndDoubles) {
  auto doc = Document::LoadString("vars:\n  HOME_NET: \"[10.0.0.0/8]\"\n  HTTP_PORTS: \"80\"\nratio: 0.25\n");
  ASSERT_TRUE(doc.has_value());
  std::map<std::string, std::string> vars;
  double ratio = 0;
  doc->Root().StringMap("vars", &vars);
  doc->Root().Double("ratio", &ratio, 0, 1);
  ASSERT_TRUE(doc->Finish().ok());
  EXPECT_EQ(vars.at("HOME_NET"), "[10.0.0.0/8]");
  EXPECT_DOUBLE_EQ(ratio, 0.25);
}

TEST(ConfigTest, MappingReadByTwoReadersKnowsBothTheirKeys) {
  // Two modules read their own keys of one mapping (agent.yara: the host
  // sensors' rules and scans, the runtime's network rules).
  auto doc = Document::LoadString("agent:\n  yara:\n    rules: [a]\n    network: {depth: 5}\n    netwrk: 1\n");
  ASSERT_TRUE(doc.has_value());
  Section agent = doc->Root().Child("agent");
  std::vector<std::string> rules;
  agent.Child("yara").StringList("rules", &rules);
  int depth = 0;
  agent.Child("yara").Child("network").Int("depth", &depth, 0, 10);
  EXPECT_FALSE(doc->Finish().ok());
  // Each unknown key is reported once, not once per reader.
  EXPECT_THAT(doc->Problems(), ElementsAre("agent.yara.netwrk: unknown key; did you mean 'network'? (line 5)"));
  EXPECT_EQ(depth, 5);
}

TEST(ConfigTest, LogSectionKeepsDefaultsAndNamesABadLevel) {
  auto doc = Document::LoadString("agent:\n  log:\n    format: json\n    level: loud\n");
  ASSERT_TRUE(doc.has_value());
  log::Options options;
  options.file = "/keep/me.log";
  ReadLogSection(doc->Root().Child("agent").Child("log"), &options);
  EXPECT_FALSE(doc->Finish().ok());
  ASSERT_EQ(doc->Problems().size(), 1u);
  EXPECT_THAT(doc->Problems()[0], HasSubstr("agent.log.level"));
  EXPECT_THAT(doc->Problems()[0], HasSubstr("(line 4)"));
  EXPECT_EQ(options.format, "json");
  EXPECT_EQ(options.level, log::Level::kInfo);
  EXPECT_EQ(options.file, "/keep/me.log");

  auto good = Document::LoadString("log: {level: debug, file: /tmp/x.log}\n");
  ASSERT_TRUE(good.has_value());
  ReadLogSection(good->Root().Child("log"), &options);
  ASSERT_TRUE(good->Finish().ok());
  EXPECT_EQ(options.level, log::Level::kDebug);
  EXPECT_EQ(options.file, "/tmp/x.log");
}

}  // namespace
}  // namespace rampart::config
