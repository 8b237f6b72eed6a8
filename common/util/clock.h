#pragma once
// Time: a monotonic clock for intervals and deadlines, the wall clock for
// timestamps that leave the process, and an injectable Clock so tests and
// pcap replay (where packet timestamps drive time) control what "now" is.

#include <cstddef>
#include <cstdint>
#include <string>

namespace rampart {

// Nanoseconds since an arbitrary fixed point; never goes backwards.
int64_t MonotonicNanos();
// Nanoseconds since the Unix epoch (UTC); may jump when the clock is set.
int64_t WallNanos();

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowNanos() const = 0;        // Wall time, Unix epoch.
  virtual int64_t MonotonicNanos() const = 0;  // For intervals only.
};

// The real clocks. Thread-safe; the instance lives for the whole process.
const Clock& SystemClock();

// A clock that moves only when told to. Not thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_nanos = 0) : now_(start_nanos) {}
  int64_t NowNanos() const override { return now_; }
  int64_t MonotonicNanos() const override { return now_; }
  void Set(int64_t nanos) { now_ = nanos; }
  void Advance(int64_t nanos) { now_ += nanos; }

 private:
  int64_t now_;
};

// "2026-11-21T23:49:44.123456+0000": the timestamp form of Suricata's EVE
// (UTC, microseconds). `utc_offset_minutes` shifts into a local zone
// ("+0700" for Asia/Ho_Chi_Minh) for text meant for people.
std::string FormatEveTimestamp(int64_t unix_nanos, int utc_offset_minutes = 0);
// The same text written into `out` (at least kEveTimestampMax bytes) without
// allocating, for writers of many records; returns its length.
inline constexpr size_t kEveTimestampMax = 48;
size_t FormatEveTimestamp(int64_t unix_nanos, char* out, int utc_offset_minutes = 0);

// "2026-11-21T23:49:44.123Z" (RFC 3339, UTC, milliseconds): for logs, APIs, syslog.
std::string FormatRfc3339(int64_t unix_nanos);

}  // namespace rampart
