#include "common/eve/eve.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>

#include "common/eve/sink.h"
#include "common/util/clock.h"
#include "tests/testing/paths.h"
#include "tests/testing/temp_dir.h"

namespace rampart::eve {
namespace {

constexpr int64_t kTs = 1614834367LL * 1'000'000'000 + 123'456'000;

std::string FlowRecord() {
  std::string line;
  JsonWriter w(&line);
  EveHeader h;
  h.timestamp_nanos = kTs;
  h.event_type = "flow";
  h.flow_id = 1234567890123;
  h.src_ip = "10.0.0.1";
  h.src_port = 51000;
  h.dest_ip = "10.0.0.2";
  h.dest_port = 80;
  h.has_ports = true;
  h.proto = ProtoName(6);
  h.app_proto = "http";
  h.community_id = "1:LQU9qZlK+B5F3KDmev6m5PMibrg=";
  BeginEveRecord(w, h);
  w.BeginObject("flow")
      .Uint("pkts_toserver", 5)
      .Uint("pkts_toclient", 4)
      .Uint("bytes_toserver", 600)
      .Uint("bytes_toclient", 3000)
      .String("start", FormatEveTimestamp(kTs))
      .String("end", FormatEveTimestamp(kTs + 1'000'000'000))
      .Uint("age", 1)
      .String("state", "closed")
      .String("reason", "timeout")
      .Bool("alerted", false)
      .EndObject();
  w.EndObject();
  return line;
}

std::string AlertRecord() {
  std::string line;
  JsonWriter w(&line);
  EveHeader h;
  h.timestamp_nanos = kTs;
  h.event_type = "alert";
  h.flow_id = 99;
  h.pcap_cnt = 7;
  h.src_ip = "2001:db8::1";
  h.dest_ip = "2001:db8::2";
  h.proto = ProtoName(58);
  h.icmp_type = 128;
  h.icmp_code = 0;
  BeginEveRecord(w, h);
  w.BeginObject("alert")
      .String("action", "allowed")
      .Uint("gid", 1)
      .Uint("signature_id", 2100498)
      .Uint("rev", 7)
      .String("signature", "GPL ATTACK_RESPONSE id check returned root")
      .String("category", "Potentially Bad Traffic")
      .Uint("severity", 2)
      .EndObject();
  w.EndObject();
  return line;
}

TEST(EveTest, HeaderUsesSuricataFieldNames) {
  const auto j = nlohmann::json::parse(FlowRecord());
  EXPECT_EQ(j["timestamp"], "2021-03-04T05:06:07.123456+0000");
  EXPECT_EQ(j["flow_id"], 1234567890123);
  EXPECT_EQ(j["event_type"], "flow");
  EXPECT_EQ(j["src_port"], 51000);
  EXPECT_EQ(j["proto"], "TCP");
  EXPECT_EQ(j["flow"]["bytes_toclient"], 3000);
  const auto a = nlohmann::json::parse(AlertRecord());
  EXPECT_FALSE(a.contains("src_port"));  // ICMPv6 has no ports.
  EXPECT_EQ(a["proto"], "IPv6-ICMP");
  EXPECT_EQ(a["icmp_type"], 128);
  EXPECT_EQ(ProtoName(200), "200");
}

// Validates records with Suricata's schema through python3-jsonschema, the
// same check the replay tests apply to whole captures.
TEST(EveTest, RecordsValidateAgainstSuricataSchema) {
  testing::ScopedTempDir dir;
  const std::string eve = dir.File("eve.json");
  {
    auto sink = OpenFileSink(eve);
    ASSERT_TRUE(sink.has_value()) << sink.error();
    ASSERT_TRUE((*sink)->Write(FlowRecord() + "\n" + AlertRecord() + "\n").ok());
  }
  const std::string validator = testing::SourceDir() + "/tests/tools/eve_validate.py";
  const std::string schema = testing::SharedDataDir() + "/eve-schema/schema.json";
  const std::string cmd = testing::SystemPython() + " " + validator + " --schema " + schema + " " + eve;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;

  // And the check can fail: a field Suricata does not define is rejected.
  testing::WriteTextFile(dir.File("bad.json"), R"({"timestamp":"2021-03-04T05:06:07.1+0000","event_type":"flow","not_a_field":1})" "\n");
  const std::string bad = testing::SystemPython() + " " + validator + " --schema " + schema + " " +
                          dir.File("bad.json") + " >/dev/null 2>&1";
  EXPECT_NE(std::system(bad.c_str()), 0);
}

TEST(EveTest, FileSinkTruncatesOrAppendsAndReportsOpenErrors) {
  testing::ScopedTempDir dir;
  const std::string path = dir.File("out.json");
  testing::WriteTextFile(path, "old\n");
  {
    auto sink = OpenFileSink(path, OpenMode::kAppend);
    ASSERT_TRUE(sink.has_value());
    ASSERT_TRUE((*sink)->Write("{\"a\":1}\n").ok());
  }
  EXPECT_EQ(testing::ReadTextFile(path), "old\n{\"a\":1}\n");
  {
    auto sink = OpenFileSink(path);
    ASSERT_TRUE(sink.has_value());
    ASSERT_TRUE((*sink)->Write("{\"b\":2}\n").ok());
  }
  EXPECT_EQ(testing::ReadTextFile(path), "{\"b\":2}\n");
  EXPECT_EQ(OpenFileSink("/nonexistent/dir/eve.json").error().code(), StatusCode::kNotFound);
}

TEST(EveTest, MemorySinkSplitsLines) {
  MemorySink sink;
  ASSERT_TRUE(sink.Write("{\"a\":1}\n{\"b\":2}\n").ok());
  EXPECT_EQ(sink.Lines().size(), 2u);
}

}  // namespace
}  // namespace rampart::eve
