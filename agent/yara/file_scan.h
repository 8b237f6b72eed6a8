#pragma once
// Scanning files and folders with YARA on N threads: one thread walks the
// tree (without following symlinks unless asked, skipping special files,
// excluded paths and files over the size limit), the others scan. A scan
// runs under a budget: a nice value and I/O priority for its threads and a
// MB/s cap shared by them; it can be paused, resumed and stopped from any
// thread, and says why it paused or stopped.
//
//   FileScan scan(rules, options);
//   ScanSummary s = scan.Run({"/srv/www"}, [](const FileResult& r) { ... });
//
// Run() blocks until the walk is done or Stop() is called. The callback is
// called on scanning threads, one call at a time.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/yara/rules.h"
#include "agent/yara/scan_cache.h"
#include "agent/yara/scanner.h"

namespace rampart::yara {

struct FileScanOptions {
  int threads = 1;                                // Scanning threads (the walk has its own).
  uint64_t max_file_size = 256ull << 20;          // Larger files are skipped; 0 = no limit.
  std::chrono::seconds timeout{60};               // Per file.
  std::vector<std::string> excludes;              // fnmatch(3) patterns on the full path
                                                  // ("/proc/*", "*.iso"); a match on a folder prunes it.
  bool follow_symlinks = false;                   // Symlinks met in the walk; paths given to Run() are
                                                  // always followed.
  bool one_file_system = false;                   // Do not descend into other mounts.
  bool report_strings = false;                    // String identifiers and offsets in the matches.
  bool fast_mode = false;                         // yara -f.
  bool report_clean = false;                      // Also call back for files without matches.
  // Budget. nice: added to the scanning threads' niceness (0..19). ionice:
  // "" (inherit), "idle", or "best-effort:N" (N 0..7). max_bytes_per_second:
  // read rate over all threads; 0 = unlimited.
  int nice = 0;
  std::string ionice;
  uint64_t max_bytes_per_second = 0;
  // A cgroup v2 "cgroup.threads" file the scanning threads join (see
  // host::PrepareScanCgroup); empty: none. Failing to join is reported once.
  std::string cgroup_threads_file;
  // Files up to this size are read into a buffer; larger ones are mapped.
  uint64_t read_buffer_limit = 4ull << 20;
  ScanCache* cache = nullptr;                     // Not owned; nullptr scans everything.
};

struct FileResult {
  enum class Outcome { kScanned, kCached, kSkipped, kError };
  std::string path;
  Outcome outcome = Outcome::kScanned;
  std::string reason;       // kSkipped: why ("larger than 256 MiB", "fifo"); kError: the error.
  uint64_t size = 0;
  FileIdentity identity;
  std::vector<RuleMatch> matches;
};

struct ScanSummary {
  uint64_t files_seen = 0;      // Regular files the walk found (excluded ones not counted).
  uint64_t files_scanned = 0;
  uint64_t files_cached = 0;    // Unchanged since the last scan with the same rules.
  uint64_t files_skipped = 0;   // Too large, special, symlinks, other file systems.
  uint64_t files_matched = 0;
  uint64_t errors = 0;          // Unreadable files, timeouts, walk errors.
  uint64_t bytes_scanned = 0;
  std::chrono::milliseconds elapsed{0};
  std::chrono::milliseconds paused{0};  // Time spent paused.
  bool stopped = false;                 // Stopped before the walk was complete.
  std::string stop_reason;
};

class FileScan {
 public:
  FileScan(std::shared_ptr<const RuleSet> rules, FileScanOptions options);
  ~FileScan();
  FileScan(const FileScan&) = delete;
  FileScan& operator=(const FileScan&) = delete;

  using Callback = std::function<void(const FileResult&)>;
  // Scans every path (files or folders). Errors on single files are results
  // (Outcome::kError), never a reason to stop; kResourceExhausted only when
  // no scanner could be made.
  Result<ScanSummary> Run(const std::vector<std::string>& paths, const Callback& on_result);

  // Thread-safe controls. Pause() holds the threads between files until
  // Resume(); Stop() ends the scan as soon as the current files are done.
  void Pause(const std::string& reason);
  void Resume();
  void Stop(const std::string& reason);
  bool paused() const;
  std::string pause_reason() const;

 private:
  struct Shared;  // The queue, controls and totals the threads of a run share.
  class Job;      // One Run(): the walk and the scanning threads.
  std::shared_ptr<const RuleSet> rules_;
  FileScanOptions options_;
  std::unique_ptr<Shared> shared_;
};

// Applies a nice increment and an I/O priority to the calling thread.
// kInvalidArgument for a bad ionice text; kPermissionDenied when the kernel refuses.
Status ApplyThreadBudget(int nice, const std::string& ionice);
// Moves the calling thread into the cgroup whose cgroup.threads file is given.
Status JoinCgroupThreads(const std::string& threads_file);

}  // namespace rampart::yara
