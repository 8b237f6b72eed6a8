#include "common/log/log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace rampart::log {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class LogTest : public ::testing::Test {
 protected:
  void TearDown() override {
    ASSERT_TRUE(Init(Options{}).ok());
    std::remove(path_.c_str());
  }
  std::string path_ = ::testing::TempDir() + "/rampart-log-test-" + std::to_string(::getpid()) + ".log";
};

TEST_F(LogTest, FieldsAreKeyValueAndQuotedWhenNeeded) {
  EXPECT_EQ(FormatFields("opened", {{"iface", "eth0"}, {"snaplen", 65535}, {"ok", true}}),
            "opened iface=eth0 snaplen=65535 ok=true");
  EXPECT_EQ(FormatFields("rule", {{"msg", "ET SCAN \"nmap\""}, {"empty", ""}}),
            "rule msg=\"ET SCAN \\\"nmap\\\"\" empty=\"\"");
}

TEST_F(LogTest, WritesTextLinesAtOrAboveLevel) {
  ASSERT_TRUE(Init({.level = Level::kInfo, .file = path_, .format = "text"}).ok());
  Debug("capture", "hidden");
  Info("capture", "opened interface", {{"iface", "eth0"}});
  Error("ship", "controller unreachable", {{"error", UnavailableError("connection refused")}});
  Flush();
  const std::string text = ReadAll(path_);
  EXPECT_EQ(text.find("hidden"), std::string::npos);
  EXPECT_NE(text.find(" INFO  capture: opened interface iface=eth0\n"), std::string::npos) << text;
  EXPECT_NE(text.find(" ERROR ship: controller unreachable error=\"UNAVAILABLE: connection refused\""),
            std::string::npos)
      << text;
}

TEST_F(LogTest, WritesJsonLines) {
  ASSERT_TRUE(Init({.level = Level::kDebug, .file = path_, .format = "json"}).ok());
  Debug("detect", "loaded", {{"rules", 42}, {"file", "a\"b.rules"}});
  Flush();
  const std::string text = ReadAll(path_);
  EXPECT_NE(text.find(R"("level":"debug","component":"detect","msg":"loaded","rules":"42","file":"a\"b.rules"})"),
            std::string::npos)
      << text;
}

TEST_F(LogTest, BadOptionsAreRefused) {
  EXPECT_EQ(Init({.format = "xml"}).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(Init({.file = "/nonexistent-dir/x/y.log"}).ok());
  EXPECT_EQ(ParseLevel("loud").error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseLevel("warning").value(), Level::kWarn);
}

}  // namespace
}  // namespace rampart::log
