#include "common/util/clock.h"

#include <time.h>

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

std::string FormatEveTimestamp(int64_t unix_nanos, int utc_offset_minutes) {
  time_t seconds;
  int64_t rest;
  Split(unix_nanos + static_cast<int64_t>(utc_offset_minutes) * 60'000'000'000, &seconds, &rest);
  // Records come in bursts within the same second: keep the formatted
  // "YYYY-MM-DDTHH:MM:SS" of the last second seen by this thread.
  thread_local time_t cached_second = 0;
  thread_local char cached[32] = {0};
  thread_local bool cached_valid = false;
  if (!cached_valid || cached_second != seconds) {
    tm t{};
    gmtime_r(&seconds, &t);
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                  t.tm_hour, t.tm_min, t.tm_sec);
    const size_t n = std::strlen(buf);
    if (n >= sizeof(cached)) return buf;  // Years past 9999: not cached.
    std::memcpy(cached, buf, n + 1);
    cached_second = seconds;
    cached_valid = true;
  }
  const int offset = utc_offset_minutes < 0 ? -utc_offset_minutes : utc_offset_minutes;
  std::string out;
  out.reserve(40);
  out.append(cached);
  char tail[16];
  int micros = static_cast<int>(rest / 1000);
  tail[0] = '.';
  for (int i = 6; i >= 1; --i) {
    tail[i] = static_cast<char>('0' + micros % 10);
    micros /= 10;
  }
  tail[7] = utc_offset_minutes < 0 ? '-' : '+';
  const int hh = (offset / 60) % 100, mm = offset % 60;
  tail[8] = static_cast<char>('0' + hh / 10);
  tail[9] = static_cast<char>('0' + hh % 10);
  tail[10] = static_cast<char>('0' + mm / 10);
  tail[11] = static_cast<char>('0' + mm % 10);
  out.append(tail, 12);
  return out;
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
