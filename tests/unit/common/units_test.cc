#include "common/util/units.h"

#include <gtest/gtest.h>

namespace rampart {
namespace {

using std::chrono::milliseconds;

TEST(UnitsTest, ParsesDurations) {
  EXPECT_EQ(ParseDuration("250ms").value(), milliseconds(250));
  EXPECT_EQ(ParseDuration("30s").value(), milliseconds(30'000));
  EXPECT_EQ(ParseDuration("5m").value(), milliseconds(300'000));
  EXPECT_EQ(ParseDuration("24h").value(), milliseconds(86'400'000));
  EXPECT_EQ(ParseDuration("1.5s").value(), milliseconds(1500));
  EXPECT_EQ(ParseDuration("10").value(), milliseconds(10'000));
}

TEST(UnitsTest, RejectsBadDurations) {
  EXPECT_EQ(ParseDuration("5x").error().message(), "unknown unit 'x' in '5x' (use ms, s, m, h or d)");
  EXPECT_FALSE(ParseDuration("").has_value());
  EXPECT_FALSE(ParseDuration("s").has_value());
  EXPECT_FALSE(ParseDuration("-5s").has_value());
}

TEST(UnitsTest, ParsesSizes) {
  EXPECT_EQ(ParseByteSize("512").value(), 512u);
  EXPECT_EQ(ParseByteSize("64KiB").value(), 65536u);
  EXPECT_EQ(ParseByteSize("1GiB").value(), 1ull << 30);
  EXPECT_EQ(ParseByteSize("10MB").value(), 10'000'000u);
  EXPECT_EQ(ParseByteSize("1.5 MiB").value(), 1572864u);
  EXPECT_FALSE(ParseByteSize("12 parsecs").has_value());
}

TEST(UnitsTest, FormatsForPeople) {
  EXPECT_EQ(FormatDuration(milliseconds(5'400'000)), "1h30m");
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(FormatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(FormatByteSize(512), "512 B");
  EXPECT_EQ(FormatByteSize(64 << 20), "64 MiB");
  EXPECT_EQ(FormatByteSize(3ull << 29), "1.5 GiB");
}

}  // namespace
}  // namespace rampart
