#include "common/util/clock.h"

#include <gtest/gtest.h>

#include <regex>

namespace rampart {
namespace {

TEST(ClockTest, MonotonicNeverGoesBackwards) {
  int64_t prev = MonotonicNanos();
  for (int i = 0; i < 1000; ++i) {
    const int64_t now = MonotonicNanos();
    ASSERT_GE(now, prev);
    prev = now;
  }
}

TEST(ClockTest, ManualClockMovesOnlyWhenTold) {
  ManualClock clock(1000);
  EXPECT_EQ(clock.NowNanos(), 1000);
  clock.Advance(500);
  EXPECT_EQ(clock.NowNanos(), 1500);
  clock.Set(7);
  EXPECT_EQ(clock.MonotonicNanos(), 7);
}

TEST(ClockTest, EveTimestampMatchesSuricataFormat) {
  // 2021-03-04T05:06:07.123456 UTC.
  const int64_t ns = 1614834367LL * 1'000'000'000 + 123'456'789;
  EXPECT_EQ(FormatEveTimestamp(ns), "2021-03-04T05:06:07.123456+0000");
  EXPECT_EQ(FormatEveTimestamp(ns, 7 * 60), "2021-03-04T12:06:07.123456+0700");
  EXPECT_EQ(FormatEveTimestamp(ns, -90), "2021-03-04T03:36:07.123456-0130");
  const std::regex schema_pattern(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+[+\-]\d+$)");
  EXPECT_TRUE(std::regex_match(FormatEveTimestamp(WallNanos()), schema_pattern));
}

TEST(ClockTest, TimestampsBeforeEpochPrintCorrectly) {
  EXPECT_EQ(FormatEveTimestamp(-1), "1969-12-31T23:59:59.999999+0000");
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000Z");
}

}  // namespace
}  // namespace rampart
