#pragma once
// Process exec and exit events: the kernel's process connector (netlink,
// needs CAP_NET_ADMIN) when it can be opened, else polling /proc. Each exec
// carries pid, ppid, executable path and SHA-256, argv, user and start
// time. A process that ends before /proc could be read is still reported
// with what the kernel said (pid), and counted.
//
// One thread calls Start() then Poll()/Run(); Stop() from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/host/event_writer.h"
#include "common/metrics/counters.h"
#include "common/status/status.h"
#include "common/util/mutex.h"

namespace rampart::host {

// Hashes of executables by (device, inode, size, mtime), so /usr/bin/bash
// is hashed once, not per exec. Thread-safe.
class ExeHashCache {
 public:
  explicit ExeHashCache(uint64_t max_file_size = 256ull << 20) : max_file_size_(max_file_size) {}
  // SHA-256 of what /proc/PID/exe points to ("" when unreadable or too large).
  std::string HashOfProcessExe(int32_t pid);

 private:
  struct Key {
    uint64_t dev, ino, size;
    int64_t mtime;
    auto operator<=>(const Key&) const = default;
  };
  uint64_t max_file_size_;
  Mutex mu_;
  std::map<Key, std::string> hashes_ GUARDED_BY(mu_);
};

// One process as /proc shows it now; nullopt when it is gone (or /proc is
// not readable). `hashes` may be null (no SHA-256).
std::optional<ProcessEvent> ReadProcess(int32_t pid, ExeHashCache* hashes);
// Every process, in pid order, action "running".
std::vector<ProcessEvent> ListProcesses(ExeHashCache* hashes);

struct ProcessMonitorOptions {
  bool use_netlink = true;                         // false forces /proc polling.
  std::chrono::milliseconds poll_interval{1000};   // /proc polling period (fallback).
  bool report_exit = true;
  uint64_t max_hash_size = 256ull << 20;           // Larger executables are not hashed.
};

#define RAMPART_PROCESS_COUNTERS(X)                                                                 \
  X(kCounter, execs, "", "process executions seen")                                                \
  X(kCounter, exits, "", "process exits seen")                                                     \
  X(kCounter, gone_before_read, "", "executions whose process ended before /proc was read")       \
  X(kCounter, netlink_malformed, "", "malformed process-connector messages")                       \
  X(kCounter, netlink_overruns, "", "process-connector buffer overruns (events lost; a /proc sweep follows)")

struct ProcessMonitorStats {
  RAMPART_COUNTERS(ProcessMonitorStats, "processes", RAMPART_PROCESS_COUNTERS)
};

class ProcessMonitor {
 public:
  static Result<std::unique_ptr<ProcessMonitor>> Create(ProcessMonitorOptions options, EventWriter* writer);
  ~ProcessMonitor();

  // Opens the connector (or falls back to polling, saying why in the log).
  Status Start();
  // "netlink" or "procfs".
  const std::string& source() const { return source_; }
  // Handles events for up to `timeout`; returns how many were written.
  Result<uint64_t> Poll(std::chrono::milliseconds timeout);
  void Run();
  void Stop() { stop_.store(true); }
  ProcessMonitorStats stats() const;

 private:
  ProcessMonitor() = default;
  Result<uint64_t> PollNetlink(std::chrono::milliseconds timeout);
  Result<uint64_t> PollProcfs(std::chrono::milliseconds timeout);
  void Sweep(bool report);

  ProcessMonitorOptions options_;
  EventWriter* writer_ = nullptr;
  std::unique_ptr<ExeHashCache> hashes_;
  int fd_ = -1;
  std::string source_;
  std::atomic<bool> stop_{false};
  // Known processes: pid -> (start ticks, name, exe) for exit events and polling.
  struct Known {
    uint64_t start_ticks = 0;
    std::string name;
    std::string exe;
  };
  std::map<int32_t, Known> known_;
  int64_t next_sweep_ = 0;
  mutable Mutex stats_mu_;
  ProcessMonitorStats stats_ GUARDED_BY(stats_mu_);
};

}  // namespace rampart::host
