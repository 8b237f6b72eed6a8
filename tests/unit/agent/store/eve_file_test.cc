#include "agent/store/eve_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "rampart/v1/event.pb.h"
#include "tests/testing/temp_dir.h"

namespace rampart::agent_store {
namespace {

std::string Line(int i) {
  return "{\"timestamp\":\"2026-11-21T10:00:00+0000\",\"event_type\":\"flow\",\"flow_id\":" + std::to_string(i) + "}";
}

void AppendText(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::app | std::ios::binary);
  f << text;
}

template <typename F>
bool Eventually(F cond) {
  for (int i = 0; i < 500; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

class EveFileTest : public ::testing::Test {
 protected:
  void SetUp() override { OpenSpool(); }
  void OpenSpool() {
    spool_.reset();
    SpoolOptions o;
    o.path = dir_.File("spool");
    spool_ = std::move(*Spool::Open(o));
  }
  std::unique_ptr<EveFileFollower> Follow() {
    EveFileOptions o;
    o.path = path_;
    o.poll = std::chrono::milliseconds(10);
    o.max_line_bytes = 4096;
    auto f = EveFileFollower::Start(o, *spool_);
    EXPECT_TRUE(f.has_value());
    return std::move(*f);
  }
  // Flow ids in the spool, in sequence order.
  std::vector<uint64_t> FlowIds() {
    std::vector<OutboxEntry> all;
    EXPECT_TRUE(spool_->Read(Lane::kAll, 0, 1000000, 1ull << 40, &all).has_value());
    std::vector<uint64_t> ids;
    for (auto& e : all) {
      rampart::v1::Event ev;
      ev.ParseFromString(e.event);
      ids.push_back(ev.endpoints().flow_id());
    }
    return ids;
  }

  testing::ScopedTempDir dir_{"evefile"};
  std::string path_ = dir_.File("eve.json");
  std::unique_ptr<Spool> spool_;
};

TEST_F(EveFileTest, FollowsAppendsAndWaitsForCompleteLines) {
  auto f = Follow();  // The file does not exist yet.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  AppendText(path_, Line(1) + "\n" + Line(2) + "\n");
  ASSERT_TRUE(Eventually([&] { return spool_->Stats().depth == 2; }));
  const std::string third = Line(3);
  AppendText(path_, third.substr(0, 10));  // Half a line: not yet.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(spool_->Stats().depth, 2u);
  AppendText(path_, third.substr(10) + "\n" + "not json\n");
  ASSERT_TRUE(Eventually([&] { return spool_->Stats().depth == 3 && spool_->Stats().rejected == 1; }));
  EXPECT_EQ(FlowIds(), (std::vector<uint64_t>{1, 2, 3}));
}

TEST_F(EveFileTest, ResumesExactlyAfterRestart) {
  AppendText(path_, Line(1) + "\n" + Line(2) + "\n");
  {
    auto f = Follow();
    ASSERT_TRUE(Eventually([&] { return spool_->Stats().depth == 2; }));
    f->Stop();
  }
  AppendText(path_, Line(3) + "\n");
  OpenSpool();
  auto f = Follow();
  ASSERT_TRUE(Eventually([&] { return spool_->Stats().depth == 3; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(FlowIds(), (std::vector<uint64_t>{1, 2, 3})) << "nothing twice, nothing lost";
}

TEST_F(EveFileTest, FollowsRotationAndTruncation) {
  auto f = Follow();
  AppendText(path_, Line(1) + "\n");
  ASSERT_TRUE(Eventually([&] { return spool_->Stats().depth == 1; }));
  // logrotate: the old file gets a last line, then moves; a new file appears.
  AppendText(path_, Line(2) + "\n");
  std::filesystem::rename(path_, path_ + ".1");
  AppendText(path_, Line(3) + "\n");
  ASSERT_TRUE(Eventually([&] { return spool_->Stats().depth == 3; }));
  EXPECT_EQ(f->Stats().rotations, 1u);
  // copytruncate: the same file shrinks.
  ASSERT_EQ(::truncate(path_.c_str(), 0), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  AppendText(path_, Line(4) + "\n");
  ASSERT_TRUE(Eventually([&] { return spool_->Stats().depth == 4; }));
  EXPECT_EQ(FlowIds(), (std::vector<uint64_t>{1, 2, 3, 4}));
}

TEST_F(EveFileTest, OverlongLinesAreSkippedAndCounted) {
  auto f = Follow();
  AppendText(path_, std::string(10000, 'x') + "\n" + Line(5) + "\n");
  ASSERT_TRUE(Eventually([&] { return spool_->Stats().depth == 1 && f->Stats().oversized == 1; }));
  EXPECT_EQ(FlowIds(), (std::vector<uint64_t>{5}));
}

}  // namespace
}  // namespace rampart::agent_store
