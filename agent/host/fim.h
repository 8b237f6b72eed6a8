#pragma once
// File integrity monitoring: watched paths (recursive inotify) plus a
// baseline in RocksDB (SHA-256, size, mode, owner, mtime per path). Reports
// created, modified, deleted and attributes_changed with old and new state.
//
// - Start() compares every watched tree with the baseline, so changes made
//   while the agent was stopped are reported (detected_by "startup"); a root
//   with no baseline yet is recorded silently (nothing to compare with).
// - An inotify queue overflow (events lost by the kernel) triggers the same
//   comparison of every root (detected_by "rescan"), so no change is lost.
// - Ignore patterns (fnmatch on the full path) leave paths out entirely.
//
// One thread calls Start() and then Poll()/Run(); Stop() may be called from
// any thread. Events go to the EventWriter the caller passes.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/host/event_writer.h"
#include "agent/yara/rules.h"
#include "common/rocks/rocks.h"
#include "common/metrics/counters.h"
#include "common/status/status.h"

namespace rampart::host {

struct FimOptions {
  std::vector<std::string> paths;     // Folders (recursive) or single files.
  std::vector<std::string> ignore;    // fnmatch(3) patterns on the full path ("*.swp", "/var/www/cache/*").
  uint64_t max_hash_size = 64ull << 20;  // Larger files are tracked by size/mtime/ctime without a hash.
  // A path that changed is examined once it has been quiet this long, so a
  // file being written is hashed once, not per write.
  std::chrono::milliseconds settle{200};
  // Changed regular files are scanned with these rules (nullptr: no scan);
  // matches ride on the file event.
  std::shared_ptr<const yara::RuleSet> yara_rules;
};

#define RAMPART_FIM_COUNTERS(X)                                                          \
  X(kGauge, files_tracked, "", "files in the baseline")                                 \
  X(kGauge, watches, "", "inotify watches held")                                        \
  X(kCounter, events, "", "file events written")                                        \
  X(kCounter, inotify_events, "", "inotify events read")                                \
  X(kCounter, overflows, "", "inotify queue overflows (each triggered a rescan)")       \
  X(kCounter, rescans, "", "full rescans of the watched roots")                         \
  X(kCounter, errors, "", "unreadable paths, watch limits reached, store errors")

struct FimStats {
  RAMPART_COUNTERS(FimStats, "fim", RAMPART_FIM_COUNTERS)
};

class FileIntegrityMonitor {
 public:
  static constexpr std::string_view kFamily = "fim_baseline";

  // `db` must have been opened with family kFamily; db and writer outlive the
  // monitor. kResourceExhausted when no inotify instance can be made.
  static Result<std::unique_ptr<FileIntegrityMonitor>> Create(FimOptions options, rocks::Database* db,
                                                              EventWriter* writer);
  ~FileIntegrityMonitor();

  // Adds the watches and compares every root with the baseline.
  Status Start();
  // Handles inotify events for up to `timeout` and examines paths whose
  // settle time passed. Returns the number of inotify events read.
  Result<uint64_t> Poll(std::chrono::milliseconds timeout);
  // Poll() until Stop().
  void Run();
  void Stop() { stop_.store(true); }

  FimStats stats() const;

 private:
  FileIntegrityMonitor() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_{false};
};

}  // namespace rampart::host
