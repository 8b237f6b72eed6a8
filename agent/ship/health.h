#pragma once
// What an agent reports about itself in heartbeats: its own CPU and memory,
// the host's CPU, memory and load, and the free space where its spool lives.
// Read from /proc and statvfs; CPU figures are over the interval since the
// previous Sample(). One sampler per caller thread (not thread-safe).

#include <cstdint>
#include <string>

namespace rampart::ship {

struct HealthSample {
  double cpu_percent = 0;        // This process, 100 = one core busy.
  uint64_t rss_bytes = 0;
  double host_cpu_percent = 0;   // All cores, 0..100.
  uint64_t host_memory_used_bytes = 0;
  uint64_t host_memory_total_bytes = 0;
  double load_average_1m = 0;
  uint64_t disk_free_bytes = 0;
};

class HealthSampler {
 public:
  // `disk_path`: where free space is measured (the data directory).
  explicit HealthSampler(std::string disk_path) : disk_path_(std::move(disk_path)) {}
  HealthSample Sample();

 private:
  std::string disk_path_;
  int64_t last_wall_nanos_ = 0;
  uint64_t last_process_ticks_ = 0;
  uint64_t last_host_busy_ = 0;
  uint64_t last_host_total_ = 0;
};

// This process's resident memory and CPU time (user+system, seconds).
uint64_t ProcessRssBytes();
double ProcessCpuSeconds();

}  // namespace rampart::ship
