#include "agent/ship/health.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "common/util/clock.h"

namespace rampart::ship {
namespace {

std::string ReadSmallFile(const char* path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// utime + stime of this process, in clock ticks.
uint64_t ProcessTicks() {
  const std::string stat = ReadSmallFile("/proc/self/stat");
  // The command name may hold spaces and parentheses; fields resume after the last ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  return utime + stime;
}

void HostTicks(uint64_t* busy, uint64_t* total) {
  std::ifstream f("/proc/stat");
  std::string cpu;
  uint64_t v[10] = {0};
  f >> cpu;
  for (uint64_t& x : v) f >> x;
  *total = 0;
  for (uint64_t x : v) *total += x;
  *busy = *total - v[3] - v[4];  // Minus idle and iowait.
}

}  // namespace

uint64_t ProcessRssBytes() {
  std::ifstream f("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

double ProcessCpuSeconds() {
  return static_cast<double>(ProcessTicks()) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

HealthSample HealthSampler::Sample() {
  HealthSample s;
  const int64_t now = MonotonicNanos();
  const uint64_t ticks = ProcessTicks();
  uint64_t busy = 0, total = 0;
  HostTicks(&busy, &total);
  if (last_wall_nanos_ != 0 && now > last_wall_nanos_) {
    const double secs = static_cast<double>(now - last_wall_nanos_) / 1e9;
    const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
    s.cpu_percent = 100.0 * static_cast<double>(ticks - last_process_ticks_) / hz / secs;
  }
  if (last_host_total_ != 0 && total > last_host_total_) {
    s.host_cpu_percent = 100.0 * static_cast<double>(busy - last_host_busy_) /
                         static_cast<double>(total - last_host_total_);
  }
  last_wall_nanos_ = now;
  last_process_ticks_ = ticks;
  last_host_busy_ = busy;
  last_host_total_ = total;
  s.rss_bytes = ProcessRssBytes();

  std::ifstream mem("/proc/meminfo");
  std::string key;
  uint64_t value = 0;
  std::string unit;
  uint64_t total_kb = 0, available_kb = 0;
  while (mem >> key >> value >> unit) {
    if (key == "MemTotal:") total_kb = value;
    if (key == "MemAvailable:") available_kb = value;
  }
  s.host_memory_total_bytes = total_kb * 1024;
  s.host_memory_used_bytes = (total_kb - std::min(total_kb, available_kb)) * 1024;
  double load[1] = {0};
  if (getloadavg(load, 1) == 1) s.load_average_1m = load[0];
  struct statvfs vfs;
  if (!disk_path_.empty() && statvfs(disk_path_.c_str(), &vfs) == 0) {
    s.disk_free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  }
  return s;
}

}  // namespace rampart::ship
