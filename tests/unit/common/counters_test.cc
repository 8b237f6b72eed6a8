#include "common/metrics/counters.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rampart::metrics {
namespace {

#define TEST_COUNTERS(X)                                   \
  X(kCounter, packets, "decoder.pkts", "packets seen")    \
  X(kGauge, queued, "", "items queued now")                \
  X(kMax, largest, "a.max b.max", "largest item, bytes")

struct TestCounters {
  RAMPART_COUNTERS(TestCounters, "test", TEST_COUNTERS)
  std::string not_a_counter = "kept out of the table";
};

TEST(CountersTest, TheTableDescribesEveryRowInOrder) {
  static_assert(TestCounters::kCounterCount == 3);
  static_assert(TestCounters::kCounterModule == "test");
  EXPECT_EQ(TestCounters::kCounters[0].name, "packets");
  EXPECT_EQ(TestCounters::kCounters[0].kind, Kind::kCounter);
  EXPECT_EQ(TestCounters::kCounters[0].eve, "decoder.pkts");
  EXPECT_EQ(TestCounters::kCounters[1].help, "items queued now");
  EXPECT_EQ(TestCounters::kCounters[2].kind, Kind::kMax);

  TestCounters c;
  c.packets = 5;
  c.queued = 2;
  c.largest = 1500;
  std::vector<std::pair<std::string, uint64_t>> seen;
  ForEachCounter(c, [&](const CounterInfo& i, uint64_t v) { seen.emplace_back(std::string(i.name), v); });
  const std::vector<std::pair<std::string, uint64_t>> want{{"packets", 5}, {"queued", 2}, {"largest", 1500}};
  EXPECT_EQ(seen, want);
}

TEST(CountersTest, MergeAddsCountersAndGaugesAndMaxesMaxima) {
  TestCounters a, b;
  a.packets = 10;
  a.queued = 3;
  a.largest = 900;
  b.packets = 7;
  b.queued = 1;
  b.largest = 1500;
  MergeCounters(a, b);
  EXPECT_EQ(a.packets, 17u);
  EXPECT_EQ(a.queued, 4u);
  EXPECT_EQ(a.largest, 1500u);
  MergeCounters(a, TestCounters{});
  EXPECT_EQ(a.largest, 1500u) << "a smaller maximum does not lower it";
  EXPECT_EQ(a.not_a_counter, "kept out of the table");
}

TEST(CountersTest, EvePathsAreSplitOnSpaces) {
  std::vector<std::string> paths;
  ForEachEvePath(TestCounters::kCounters[2].eve, [&](std::string_view p) { paths.emplace_back(p); });
  EXPECT_EQ(paths, (std::vector<std::string>{"a.max", "b.max"}));
  paths.clear();
  ForEachEvePath("", [&](std::string_view p) { paths.emplace_back(p); });
  EXPECT_TRUE(paths.empty());
}

}  // namespace
}  // namespace rampart::metrics
