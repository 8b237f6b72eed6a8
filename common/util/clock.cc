#include "common/util/clock.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace rampart {
namespace {

int64_t ReadClock(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

class RealClock final : public Clock {
 public:
  int64_t NowNanos() const override { return WallNanos(); }
  int64_t MonotonicNanos() const override { return rampart::MonotonicNanos(); }
};

// Splits nanoseconds into whole seconds (floor) and the non-negative rest,
// so timestamps before 1970 still print correctly.
void Split(int64_t nanos, time_t* seconds, int64_t* rest) {
  int64_t s = nanos / 1'000'000'000;
  int64_t r = nanos % 1'000'000'000;
  if (r < 0) {
    r += 1'000'000'000;
    s -= 1;
  }
  *seconds = static_cast<time_t>(s);
  *rest = r;
}

}  // namespace

int64_t MonotonicNanos() { return ReadClock(CLOCK_MONOTONIC); }
int64_t WallNanos() { return ReadClock(CLOCK_REALTIME); }

const Clock& SystemClock() {
  static const RealClock clock;
  return clock;
}

size_t FormatEveTimestamp(int64_t unix_nanos, char* out, int utc_offset_minutes) {
  time_t seconds;
  int64_t rest;
  Split(unix_nanos + static_cast<int64_t>(utc_offset_minutes) * 60'000'000'000, &seconds, &rest);
  // Records come in bursts within the same second: keep the formatted
  // "YYYY-MM-DDTHH:MM:SS" of the last second seen by this thread.
  thread_local time_t cached_second = 0;
  thread_local char cached[32] = {0};
  thread_local size_t cached_len = 0;
  if (cached_len == 0 || cached_second != seconds) {
    tm t{};
    gmtime_r(&seconds, &t);
    char buf[64];
    const int n = std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d", t.tm_year + 1900, t.tm_mon + 1,
                                t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
    if (n <= 0 || static_cast<size_t>(n) >= sizeof(cached)) {
      // Years past 9999: not cached (and not representable in EVE anyway).
      const size_t len = std::min<size_t>(static_cast<size_t>(n > 0 ? n : 0), kEveTimestampMax - 13);
      std::memcpy(out, buf, len);
      out[len] = 0;
      return len;
    }
    std::memcpy(cached, buf, static_cast<size_t>(n) + 1);
    cached_len = static_cast<size_t>(n);
    cached_second = seconds;
  }
  std::memcpy(out, cached, cached_len);
  char* tail = out + cached_len;
  int micros = static_cast<int>(rest / 1000);
  tail[0] = '.';
  for (int i = 6; i >= 1; --i) {
    tail[i] = static_cast<char>('0' + micros % 10);
    micros /= 10;
  }
  const int offset = utc_offset_minutes < 0 ? -utc_offset_minutes : utc_offset_minutes;
  tail[7] = utc_offset_minutes < 0 ? '-' : '+';
  const int hh = (offset / 60) % 100, mm = offset % 60;
  tail[8] = static_cast<char>('0' + hh / 10);
  tail[9] = static_cast<char>('0' + hh % 10);
  tail[10] = static_cast<char>('0' + mm / 10);
  tail[11] = static_cast<char>('0' + mm % 10);
  tail[12] = 0;
  return cached_len + 12;
}

std::string FormatEveTimestamp(int64_t unix_nanos, int utc_offset_minutes) {
  char buf[kEveTimestampMax];
  const size_t n = FormatEveTimestamp(unix_nanos, buf, utc_offset_minutes);
  return std::string(buf, n);
}

std::string FormatRfc3339(int64_t unix_nanos) {
  time_t seconds;
  int64_t rest;
  Split(unix_nanos, &seconds, &rest);
  tm t{};
  gmtime_r(&seconds, &t);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                static_cast<int>(rest / 1'000'000));
  return buf;
}

}  // namespace rampart
