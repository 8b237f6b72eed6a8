#include "agent/store/spool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "rampart/v1/event.pb.h"
#include "tests/testing/temp_dir.h"

namespace rampart::agent_store {
namespace {

std::string Flow(int i) {
  return "{\"timestamp\":\"2026-11-21T10:00:00.000001+0000\",\"flow_id\":" + std::to_string(i) +
         ",\"event_type\":\"flow\",\"src_ip\":\"10.0.0.1\",\"src_port\":1234,\"dest_ip\":\"10.0.0.2\","
         "\"dest_port\":80,\"proto\":\"TCP\",\"flow\":{\"pkts_toserver\":1}}";
}

std::string AlertLine(int i, int severity = 1) {
  return "{\"timestamp\":\"2026-11-21T10:00:01+0000\",\"event_type\":\"alert\",\"src_ip\":\"10.0.0.9\","
         "\"dest_ip\":\"10.0.0.2\",\"proto\":\"UDP\",\"alert\":{\"signature_id\":" +
         std::to_string(1000 + i) + ",\"signature\":\"test alert " + std::to_string(i) +
         "\",\"severity\":" + std::to_string(severity) + "}}";
}

rampart::v1::Event Decode(const OutboxEntry& e) {
  rampart::v1::Event ev;
  EXPECT_TRUE(ev.ParseFromString(e.event));
  return ev;
}

class SpoolTest : public ::testing::Test {
 protected:
  std::unique_ptr<Spool> OpenSpool(SpoolOptions o = {}) {
    o.path = dir_.File("spool");
    auto s = Spool::Open(o);
    EXPECT_TRUE(s.has_value()) << s.error();
    return s.has_value() ? std::move(*s) : nullptr;
  }
  std::vector<OutboxEntry> ReadAll(Spool& s, Lane lane = Lane::kAll, uint64_t after = 0) {
    std::vector<OutboxEntry> out;
    auto n = s.Read(lane, after, 1000000, 1ull << 40, &out);
    EXPECT_TRUE(n.has_value());
    return out;
  }
  testing::ScopedTempDir dir_{"spool"};
};

TEST_F(SpoolTest, AppendAssignsDenseSequencesAndDerivesEnvelope) {
  auto spool = OpenSpool();
  const std::string f0 = Flow(0), a1 = AlertLine(1, 2), f2 = Flow(2);
  std::vector<std::string_view> lines = {f0, a1, f2};
  auto last = spool->Append(lines);
  ASSERT_TRUE(last.has_value()) << last.error();
  EXPECT_EQ(*last, 3u);
  auto all = ReadAll(*spool);
  ASSERT_EQ(all.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(all[i].sequence, i + 1);
  const rampart::v1::Event flow = Decode(all[0]);
  EXPECT_EQ(flow.sequence(), 1u);
  EXPECT_EQ(flow.kind(), rampart::v1::EVENT_KIND_FLOW);
  EXPECT_EQ(flow.severity(), rampart::v1::SEVERITY_INFO);
  EXPECT_EQ(flow.eve_json(), f0);
  EXPECT_EQ(flow.endpoints().src_ip(), "10.0.0.1");
  EXPECT_EQ(flow.endpoints().dest_port(), 80u);
  EXPECT_EQ(flow.endpoints().flow_id(), 0u);  // flow_id 0 in the line
  EXPECT_EQ(flow.observed_unix_nanos(), 1795255200000001000LL);
  EXPECT_TRUE(flow.agent_id().empty());
  const rampart::v1::Event alert = Decode(all[1]);
  EXPECT_TRUE(all[1].alert);
  EXPECT_EQ(alert.sequence(), 2u);
  EXPECT_EQ(alert.kind(), rampart::v1::EVENT_KIND_ALERT);
  EXPECT_EQ(alert.severity(), rampart::v1::SEVERITY_HIGH);
  EXPECT_EQ(alert.alert().signature_id(), 1001u);
  EXPECT_EQ(alert.alert().signature(), "test alert 1");
  auto stats = spool->Stats();
  EXPECT_EQ(stats.depth, 3u);
  EXPECT_EQ(stats.alerts, 1u);
  EXPECT_EQ(stats.last_sequence, 3u);
  EXPECT_EQ(stats.appended, 3u);
}

TEST_F(SpoolTest, MalformedRecordsAreCountedNotStored) {
  auto spool = OpenSpool();
  const std::string good = Flow(1);
  std::vector<std::string_view> lines = {"not json", good, "{\"a\":", "[1]"};
  auto last = spool->Append(lines);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last, 1u);
  EXPECT_EQ(spool->Stats().rejected, 3u);
  EXPECT_EQ(spool->Stats().depth, 1u);
}

TEST_F(SpoolTest, SequencesContinueAfterReopenEvenWhenEverythingWasAcked) {
  {
    auto spool = OpenSpool();
    const std::string f = Flow(1);
    std::vector<std::string_view> lines(5, f);
    ASSERT_TRUE(spool->Append(lines).has_value());
    SeqRange all{1, 5};
    ASSERT_TRUE(spool->Ack({&all, 1}).ok());
    EXPECT_EQ(spool->Stats().depth, 0u);
    EXPECT_EQ(spool->Stats().acknowledged, 5u);
  }
  auto spool = OpenSpool();
  EXPECT_EQ(spool->Stats().depth, 0u);
  EXPECT_EQ(spool->Stats().last_sequence, 5u);
  const std::string f = Flow(2);
  std::vector<std::string_view> lines = {f};
  auto last = spool->Append(lines);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last, 6u);
}

TEST_F(SpoolTest, AlertLaneAndPartialAcks) {
  auto spool = OpenSpool();
  std::vector<std::string> owned;
  for (int i = 0; i < 10; ++i) owned.push_back(i % 3 == 0 ? AlertLine(i) : Flow(i));
  std::vector<std::string_view> lines(owned.begin(), owned.end());
  ASSERT_TRUE(spool->Append(lines).has_value());
  auto alerts = ReadAll(*spool, Lane::kAlerts);
  std::vector<uint64_t> seqs;
  for (auto& e : alerts) seqs.push_back(e.sequence);
  EXPECT_THAT(seqs, ::testing::ElementsAre(1, 4, 7, 10));
  // The controller stores the alerts first (out of order), then the rest.
  std::vector<SeqRange> ranges = {{1, 1}, {4, 4}, {7, 7}, {10, 10}};
  ASSERT_TRUE(spool->Ack(ranges).ok());
  EXPECT_EQ(spool->Stats().alerts, 0u);
  EXPECT_EQ(spool->Stats().depth, 6u);
  auto rest = ReadAll(*spool);
  seqs.clear();
  for (auto& e : rest) seqs.push_back(e.sequence);
  EXPECT_THAT(seqs, ::testing::ElementsAre(2, 3, 5, 6, 8, 9));
  // Reading after a position, and with a size bound that still returns one.
  std::vector<OutboxEntry> some;
  ASSERT_EQ(*spool->Read(Lane::kAll, 5, 2, 1, &some), 1u);
  EXPECT_EQ(some[0].sequence, 6u);
  // Acks of ranges already gone are harmless.
  SeqRange everything{1, UINT64_MAX};
  ASSERT_TRUE(spool->Ack({&everything, 1}).ok());
  ASSERT_TRUE(spool->Ack({&everything, 1}).ok());
  EXPECT_EQ(spool->Stats().depth, 0u);
  EXPECT_EQ(spool->Stats().bytes, 0u);
}

TEST_F(SpoolTest, QuotaDropsTelemetryBeforeAlertsAndReportsGoneRanges) {
  SpoolOptions o;
  o.max_bytes = 64 * 1024;
  auto spool = OpenSpool(o);
  std::vector<std::string> owned;
  for (int i = 0; i < 50; ++i) owned.push_back(AlertLine(i));
  std::vector<std::string_view> alerts(owned.begin(), owned.end());
  ASSERT_TRUE(spool->Append(alerts).has_value());  // Sequences 1..50 are alerts.
  const std::string f = Flow(7);
  for (int round = 0; round < 40; ++round) {
    std::vector<std::string_view> flows(20, f);
    ASSERT_TRUE(spool->Append(flows).has_value());
  }
  auto stats = spool->Stats();
  EXPECT_GT(stats.dropped, 0u);
  EXPECT_LE(stats.bytes, o.max_bytes);
  EXPECT_EQ(stats.alerts, 50u) << "alerts must survive while telemetry can be dropped";
  EXPECT_EQ(stats.depth + stats.dropped, 850u);
  // What was dropped is reported as gone ranges, all telemetry (> 50).
  uint64_t gone = 0;
  for (const SeqRange& r : spool->Gone()) {
    EXPECT_GT(r.first, 50u);
    gone += r.last - r.first + 1;
  }
  EXPECT_EQ(gone, stats.dropped);
  // Once acknowledged, gone ranges are forgotten; the drop count stays.
  auto g = spool->Gone();
  ASSERT_TRUE(spool->Ack(g).ok());
  EXPECT_TRUE(spool->Gone().empty());
  spool.reset();
  spool = OpenSpool(o);
  EXPECT_TRUE(spool->Gone().empty());
  EXPECT_EQ(spool->Stats().dropped, stats.dropped);
}

TEST_F(SpoolTest, QuotaDropsOldestAlertsWhenOnlyAlertsRemain) {
  SpoolOptions o;
  o.max_bytes = 16 * 1024;
  auto spool = OpenSpool(o);
  std::vector<std::string> owned;
  for (int i = 0; i < 200; ++i) owned.push_back(AlertLine(i));
  std::vector<std::string_view> lines(owned.begin(), owned.end());
  ASSERT_TRUE(spool->Append(lines).has_value());
  auto stats = spool->Stats();
  EXPECT_GT(stats.dropped, 0u);
  EXPECT_LE(stats.bytes, o.max_bytes);
  auto kept = ReadAll(*spool);
  ASSERT_FALSE(kept.empty());
  EXPECT_EQ(kept.back().sequence, 200u) << "the newest alerts are kept";
  EXPECT_EQ(kept.front().sequence, stats.dropped + 1);
}

TEST_F(SpoolTest, AgeLimitDropsOldEvents) {
  ManualClock clock(1'000'000'000'000'000'000LL);
  SpoolOptions o;
  o.max_age = std::chrono::hours(1);
  o.clock = &clock;
  auto spool = OpenSpool(o);
  const std::string f = Flow(1);
  std::vector<std::string_view> lines(3, f);
  ASSERT_TRUE(spool->Append(lines).has_value());
  clock.Advance(int64_t{2} * 3600 * 1'000'000'000);
  ASSERT_TRUE(spool->Append(lines).has_value());
  auto dropped = spool->EnforceRetention();
  ASSERT_TRUE(dropped.has_value());
  EXPECT_EQ(*dropped, 3u);
  auto left = ReadAll(*spool);
  ASSERT_EQ(left.size(), 3u);
  EXPECT_EQ(left[0].sequence, 4u);
  ASSERT_EQ(spool->Gone().size(), 1u);
  EXPECT_EQ(spool->Gone()[0].first, 1u);
  EXPECT_EQ(spool->Gone()[0].last, 3u);
}

TEST_F(SpoolTest, CursorIsSavedWithTheEvents) {
  {
    auto spool = OpenSpool();
    EXPECT_FALSE(spool->GetCursor("evefile:x")->has_value());
    const std::string f = Flow(1);
    std::vector<std::string_view> lines = {f};
    Cursor c{"evefile:x", "offset=123"};
    ASSERT_TRUE(spool->Append(lines, &c).has_value());
  }
  auto spool = OpenSpool();
  auto v = spool->GetCursor("evefile:x");
  ASSERT_TRUE(v.has_value());
  ASSERT_TRUE(v->has_value());
  EXPECT_EQ(**v, "offset=123");
}

TEST_F(SpoolTest, ConcurrentAppendsAreGroupCommittedWithDenseSequences) {
  auto spool = OpenSpool();
  constexpr int kThreads = 8, kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string line = Flow(t * 100000 + i);
        std::vector<std::string_view> lines = {line};
        ASSERT_TRUE(spool->Append(lines).has_value());
      }
    });
  }
  for (auto& t : threads) t.join();
  auto all = ReadAll(*spool);
  ASSERT_EQ(all.size(), size_t{kThreads * kPerThread});
  std::set<uint64_t> flow_ids;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].sequence, i + 1);
    flow_ids.insert(Decode(all[i]).endpoints().flow_id());
  }
  EXPECT_EQ(flow_ids.size(), all.size()) << "every record stored once";
}

TEST_F(SpoolTest, WaitForAppendWakesOnNewEvents) {
  auto spool = OpenSpool();
  EXPECT_FALSE(spool->WaitForAppend(0, std::chrono::milliseconds(20)));
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::string f = Flow(1);
    std::vector<std::string_view> lines = {f};
    ASSERT_TRUE(spool->Append(lines).has_value());
  });
  EXPECT_TRUE(spool->WaitForAppend(0, std::chrono::seconds(10)));
  writer.join();
}

TEST_F(SpoolTest, RenumberMovesUnacknowledgedEventsPastTheController) {
  auto spool = OpenSpool();
  const std::string f = Flow(1), a = AlertLine(1);
  std::vector<std::string_view> lines = {f, a, f};
  ASSERT_TRUE(spool->Append(lines).has_value());
  ASSERT_TRUE(spool->Renumber(101).ok());
  auto all = ReadAll(*spool);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].sequence, 101u);
  EXPECT_EQ(Decode(all[0]).sequence(), 101u);
  EXPECT_EQ(all[1].sequence, 102u);
  EXPECT_TRUE(all[1].alert);
  EXPECT_EQ(Decode(all[2]).sequence(), 103u);
  std::vector<std::string_view> more = {f};
  EXPECT_EQ(*spool->Append(more), 104u);
}

TEST_F(SpoolTest, SinkSplitsLines) {
  auto spool = OpenSpool();
  auto sink = NewSpoolSink(*spool);
  ASSERT_TRUE(sink->Write(Flow(1) + "\n" + AlertLine(2) + "\r\n\n" + "garbage\n" + Flow(3)).ok());
  ASSERT_TRUE(sink->Flush().ok());
  EXPECT_EQ(spool->Stats().depth, 3u);
  EXPECT_EQ(spool->Stats().rejected, 1u);
}

TEST_F(SpoolTest, SecondOpenOfTheSameSpoolIsRefused) {
  auto spool = OpenSpool();
  SpoolOptions o;
  o.path = dir_.File("spool");
  auto second = Spool::Open(o);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), StatusCode::kUnavailable);
}

// A process killed with SIGKILL keeps every event whose Append had returned.
TEST_F(SpoolTest, KillNineLosesNothingThatWasCounted) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::string path = dir_.File("spool");
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    SpoolOptions o;
    o.path = path;
    auto spool = Spool::Open(o);
    if (!spool.has_value()) _exit(2);
    for (int i = 0;; ++i) {
      const std::string line = Flow(i);
      std::vector<std::string_view> lines = {line};
      auto seq = (*spool)->Append(lines);
      if (!seq.has_value()) _exit(3);
      const uint64_t v = *seq;
      if (write(fds[1], &v, sizeof(v)) != sizeof(v)) _exit(4);
    }
  }
  close(fds[1]);
  uint64_t counted = 0, v = 0;
  while (counted < 300 && read(fds[0], &v, sizeof(v)) == sizeof(v)) counted = v;
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  // Drain what the child reported before it died.
  while (read(fds[0], &v, sizeof(v)) == sizeof(v)) counted = v;
  close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_GE(counted, 300u);
  auto spool = OpenSpool();
  auto all = ReadAll(*spool);
  ASSERT_GE(all.size(), counted);
  for (uint64_t i = 0; i < counted; ++i) {
    EXPECT_EQ(all[i].sequence, i + 1);
    EXPECT_EQ(Decode(all[i]).endpoints().flow_id(), i);
  }
}

}  // namespace
}  // namespace rampart::agent_store
