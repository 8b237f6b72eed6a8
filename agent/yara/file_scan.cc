#include "agent/yara/file_scan.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <atomic>
#include <deque>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "common/util/clock.h"
#include "common/util/mutex.h"

namespace rampart::yara {
namespace {

struct Item {
  std::string path;
  struct stat st {};
  bool follow = false;  // A path given to Run(): opened even when it is a symlink.
};

FileIdentity IdentityOf(const struct stat& st) {
  FileIdentity id;
  id.device = st.st_dev;
  id.inode = st.st_ino;
  id.size = static_cast<uint64_t>(st.st_size);
  id.mtime_nanos = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  id.ctime_nanos = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  return id;
}

const char* SpecialKind(mode_t mode) {
  if (S_ISFIFO(mode)) return "fifo";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  if (S_ISLNK(mode)) return "symlink";
  return "special file";
}

std::string FormatSize(uint64_t bytes) {
  if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

struct FileScan::Shared {
  mutable Mutex mu;
  CondVar cv;  // Queue space/items, pause changes, stop.
  std::deque<Item> queue GUARDED_BY(mu);
  bool walk_done GUARDED_BY(mu) = false;
  bool stop GUARDED_BY(mu) = false;
  std::string stop_reason GUARDED_BY(mu);
  bool paused GUARDED_BY(mu) = false;
  std::string pause_reason GUARDED_BY(mu);
  int64_t paused_since GUARDED_BY(mu) = 0;
  int64_t paused_total GUARDED_BY(mu) = 0;
  // Token bucket for the MB/s cap.
  double tokens GUARDED_BY(mu) = 0;
  int64_t last_refill GUARDED_BY(mu) = 0;
  ScanSummary summary GUARDED_BY(mu);

  // Serializes the caller's callback, so it needs no lock of its own.
  Mutex callback_mu;

  void Reset(int64_t now, double initial_tokens) EXCLUDES(mu) {
    MutexLock lock(&mu);
    summary = ScanSummary{};
    queue.clear();
    walk_done = false;
    tokens = initial_tokens;
    last_refill = now;
  }

  // Waits while paused; false once stopped.
  bool WaitWhilePaused() REQUIRES(mu) {
    while (paused && !stop) cv.Wait(&mu);
    return !stop;
  }
  bool StoppedAfterPause() EXCLUDES(mu) {
    MutexLock lock(&mu);
    return !WaitWhilePaused();
  }

  // Charges `bytes` to the rate cap of `rate` bytes/s; false when stopped
  // while waiting.
  bool Throttle(uint64_t bytes, uint64_t rate) EXCLUDES(mu) {
    MutexLock lock(&mu);
    const double r = static_cast<double>(rate);
    const int64_t now = MonotonicNanos();
    tokens = std::min(r, tokens + r * static_cast<double>(now - last_refill) / 1e9);
    last_refill = now;
    tokens -= static_cast<double>(bytes);
    if (tokens >= 0) return !stop;
    const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(static_cast<int64_t>(-tokens / r * 1e9));
    while (!stop && cv.WaitUntil(&mu, until)) {
    }
    return !stop;
  }

  // Queues one file for the scanning threads (at most 1,024 wait); false
  // once stopped.
  bool Push(Item&& item) EXCLUDES(mu) {
    MutexLock lock(&mu);
    while (!stop && queue.size() >= 1024) cv.Wait(&mu);
    if (stop) return false;
    ++summary.files_seen;
    queue.push_back(std::move(item));
    cv.SignalAll();
    return true;
  }

  // The next file to scan; nullopt once stopped, or when the walk is done
  // and the queue drained.
  std::optional<Item> Pop() EXCLUDES(mu) {
    MutexLock lock(&mu);
    for (;;) {
      while (!stop && queue.empty() && !walk_done) cv.Wait(&mu);
      if (stop || queue.empty()) return std::nullopt;
      if (!WaitWhilePaused()) return std::nullopt;
      if (queue.empty()) continue;
      Item item = std::move(queue.front());
      queue.pop_front();
      cv.SignalAll();
      return item;
    }
  }

  void WalkDone() EXCLUDES(mu) {
    MutexLock lock(&mu);
    walk_done = true;
    cv.SignalAll();
  }

  void Count(const FileResult& r) EXCLUDES(mu) {
    MutexLock lock(&mu);
    switch (r.outcome) {
      case FileResult::Outcome::kScanned: ++summary.files_scanned; summary.bytes_scanned += r.size; break;
      case FileResult::Outcome::kCached: ++summary.files_cached; break;
      case FileResult::Outcome::kSkipped: ++summary.files_skipped; break;
      case FileResult::Outcome::kError: ++summary.errors; break;
    }
    if (!r.matches.empty()) ++summary.files_matched;
  }

  ScanSummary Finish(int64_t start) EXCLUDES(mu) {
    MutexLock lock(&mu);
    ScanSummary s = summary;
    s.stopped = stop;
    s.stop_reason = stop_reason;
    int64_t paused_ns = paused_total;
    if (paused) paused_ns += MonotonicNanos() - paused_since;
    s.paused = std::chrono::milliseconds(paused_ns / 1000000);
    s.elapsed = std::chrono::milliseconds((MonotonicNanos() - start) / 1000000);
    return s;
  }
};

FileScan::FileScan(std::shared_ptr<const RuleSet> rules, FileScanOptions options)
    : rules_(std::move(rules)), options_(std::move(options)), shared_(std::make_unique<Shared>()) {
  if (options_.threads < 1) options_.threads = 1;
}

FileScan::~FileScan() = default;

void FileScan::Pause(const std::string& reason) {
  MutexLock lock(&shared_->mu);
  if (!shared_->paused) shared_->paused_since = MonotonicNanos();
  shared_->paused = true;
  shared_->pause_reason = reason;
  shared_->cv.SignalAll();
}

void FileScan::Resume() {
  MutexLock lock(&shared_->mu);
  if (shared_->paused) shared_->paused_total += MonotonicNanos() - shared_->paused_since;
  shared_->paused = false;
  shared_->pause_reason.clear();
  shared_->cv.SignalAll();
}

void FileScan::Stop(const std::string& reason) {
  MutexLock lock(&shared_->mu);
  if (!shared_->stop) shared_->stop_reason = reason;
  shared_->stop = true;
  shared_->cv.SignalAll();
}

bool FileScan::paused() const {
  MutexLock lock(&shared_->mu);
  return shared_->paused;
}

std::string FileScan::pause_reason() const {
  MutexLock lock(&shared_->mu);
  return shared_->pause_reason;
}

Status ApplyThreadBudget(int nice, const std::string& ionice) {
  const pid_t tid = static_cast<pid_t>(::syscall(SYS_gettid));
  if (nice > 0) {
    errno = 0;
    const int current = ::getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
    if (::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), std::min(19, current + nice)) != 0) {
      return ErrnoError(errno, "cannot lower the scanning thread's CPU priority");
    }
  }
  if (!ionice.empty()) {
    int cls = 0;
    int level = 0;
    if (ionice == "idle") {
      cls = 3;
    } else if (ionice.rfind("best-effort:", 0) == 0 && ionice.size() == 13 && ionice[12] >= '0' &&
               ionice[12] <= '7') {
      cls = 2;
      level = ionice[12] - '0';
    } else if (ionice == "best-effort") {
      cls = 2;
      level = 7;
    } else {
      return InvalidArgumentError("ionice must be idle, best-effort or best-effort:0..7, got '" + ionice + "'");
    }
    constexpr int kWhoProcess = 1;  // IOPRIO_WHO_PROCESS: a thread id is accepted.
    if (::syscall(SYS_ioprio_set, kWhoProcess, tid, (cls << 13) | level) != 0) {
      return ErrnoError(errno, "cannot set the scanning thread's I/O priority");
    }
  }
  return Status::Ok();
}

Status JoinCgroupThreads(const std::string& threads_file) {
  const int fd = ::open(threads_file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "cannot open " + threads_file);
  const std::string tid = std::to_string(::syscall(SYS_gettid));
  const ssize_t n = ::write(fd, tid.data(), tid.size());
  const int e = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(tid.size())) return ErrnoError(e, "cannot move a scanning thread into " + threads_file);
  return Status::Ok();
}

// One Run(): a walking thread queues files, `threads` scanning threads
// take them. Every per-file problem is a result, never a reason to stop.
class FileScan::Job {
 public:
  Job(const FileScanOptions& options, Shared& shared, const Callback& on_result)
      : o_(options), sh_(shared), on_result_(on_result) {}

  // Counts a result and hands it to the callback when it is wanted.
  void Report(FileResult&& r) {
    sh_.Count(r);
    const bool wanted = r.outcome == FileResult::Outcome::kError || r.outcome == FileResult::Outcome::kSkipped ||
                        !r.matches.empty() || o_.report_clean;
    if (wanted) Deliver(r);
  }

  // A scanning thread: applies the budget, then scans until the queue ends.
  void Scan(Scanner* scanner) {
    Status s = ApplyThreadBudget(o_.nice, o_.ionice);
    if (s.ok() && !o_.cgroup_threads_file.empty()) s = JoinCgroupThreads(o_.cgroup_threads_file);
    if (!s.ok() && !budget_reported_.exchange(true)) {
      // Reported once per scan, by the first thread that failed.
      FileResult r;
      r.outcome = FileResult::Outcome::kSkipped;
      r.reason = "budget not applied: " + s.message();
      Deliver(r);
    }
    std::vector<uint8_t> buffer;
    while (std::optional<Item> item = sh_.Pop()) {
      bool stopped = false;
      FileResult r = ScanItem(scanner, std::move(*item), buffer, &stopped);
      if (stopped) return;
      Report(std::move(r));
    }
  }

  // The walking thread: every path, folders depth first, then WalkDone.
  void Walk(const std::vector<std::string>& paths) {
    (void)ApplyThreadBudget(o_.nice, o_.ionice);
    if (!o_.cgroup_threads_file.empty()) (void)JoinCgroupThreads(o_.cgroup_threads_file);
    for (const std::string& root : paths) {
      if (sh_.StoppedAfterPause()) break;
      if (!WalkRoot(root)) break;
    }
    sh_.WalkDone();
  }

 private:
  void Deliver(const FileResult& r) {
    if (!on_result_) return;
    MutexLock lock(&sh_.callback_mu);
    on_result_(r);
  }

  void Skip(const std::string& path, std::string reason, FileResult::Outcome outcome) {
    FileResult r;
    r.path = path;
    r.outcome = outcome;
    r.reason = std::move(reason);
    Report(std::move(r));
  }

  bool Excluded(const std::string& path) const {
    for (const std::string& pattern : o_.excludes) {
      if (::fnmatch(pattern.c_str(), path.c_str(), 0) == 0) return true;
    }
    return false;
  }

  bool TooLarge(const struct stat& st) const {
    return o_.max_file_size != 0 && static_cast<uint64_t>(st.st_size) > o_.max_file_size;
  }

  // Scans one queued file. *stopped when the scan was stopped while it
  // waited for the rate cap (the result is then not reported).
  FileResult ScanItem(Scanner* scanner, Item&& item, std::vector<uint8_t>& buffer, bool* stopped) {
    FileResult r;
    r.path = std::move(item.path);
    r.identity = IdentityOf(item.st);
    r.size = r.identity.size;
    if (o_.cache != nullptr) {
      if (auto cached = o_.cache->Lookup(r.path, r.identity, o_.report_strings)) {
        r.outcome = FileResult::Outcome::kCached;
        r.matches = std::move(*cached);
        return r;
      }
    }
    const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (item.follow ? 0 : O_NOFOLLOW);
    const int fd = ::open(r.path.c_str(), flags);
    if (fd < 0) {
      r.outcome = FileResult::Outcome::kError;
      r.reason = ErrnoError(errno, "cannot open").message();
      return r;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      r.outcome = FileResult::Outcome::kSkipped;
      r.reason = std::string("replaced by a ") + SpecialKind(st.st_mode) + " while scanning";
      ::close(fd);
      return r;
    }
    r.identity = IdentityOf(st);
    r.size = r.identity.size;
    if (o_.max_bytes_per_second != 0 && !sh_.Throttle(r.size, o_.max_bytes_per_second)) {
      ::close(fd);
      *stopped = true;
      return r;
    }
    Result<std::vector<RuleMatch>> matches = ScanOpenFile(scanner, fd, r.size, buffer);
    ::close(fd);
    if (!matches) {
      r.outcome = FileResult::Outcome::kError;
      r.reason = matches.error().message();
      return r;
    }
    r.outcome = FileResult::Outcome::kScanned;
    r.matches = std::move(*matches);
    if (o_.cache != nullptr) {
      // A cache write failure costs a rescan next time, nothing more.
      (void)o_.cache->Store(r.path, r.identity, r.matches, o_.report_strings);
    }
    return r;
  }

  // Small files are read into `buffer` and scanned in memory; larger ones
  // are scanned from the descriptor.
  Result<std::vector<RuleMatch>> ScanOpenFile(Scanner* scanner, int fd, uint64_t size, std::vector<uint8_t>& buffer) {
    if (size > o_.read_buffer_limit) return scanner->ScanFd(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    buffer.resize(size);
    size_t got = 0;
    while (got < buffer.size()) {
      const ssize_t n = ::read(fd, buffer.data() + got, buffer.size() - got);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError(errno, "cannot read");
      }
      if (n == 0) break;  // Shrunk since fstat: scan what is there.
      got += static_cast<size_t>(n);
    }
    return scanner->ScanMemory(std::span<const uint8_t>(buffer.data(), got));
  }

  // One path given to Run(); false once the scan is stopped.
  bool WalkRoot(const std::string& root) {
    Item top;
    top.path = root;
    top.follow = true;
    if (::stat(root.c_str(), &top.st) != 0) {
      Skip(root, ErrnoError(errno, "cannot access").message(), FileResult::Outcome::kError);
      return true;
    }
    if (S_ISREG(top.st.st_mode)) {
      if (TooLarge(top.st)) {
        Skip(root, "larger than " + FormatSize(o_.max_file_size), FileResult::Outcome::kSkipped);
        return true;
      }
      return sh_.Push(std::move(top));
    }
    if (!S_ISDIR(top.st.st_mode)) {
      Skip(root, std::string("not scanned: ") + SpecialKind(top.st.st_mode), FileResult::Outcome::kSkipped);
      return true;
    }
    const dev_t root_dev = top.st.st_dev;
    std::vector<std::string> dirs{root};
    visited_dirs_.insert({top.st.st_dev, top.st.st_ino});
    while (!dirs.empty()) {
      if (sh_.StoppedAfterPause()) return false;
      const std::string dir = std::move(dirs.back());
      dirs.pop_back();
      std::vector<std::string> subdirs;
      if (!ListFolder(dir, root_dev, &subdirs)) return false;
      // Depth first, in the order the folder listed them.
      for (auto it = subdirs.rbegin(); it != subdirs.rend(); ++it) dirs.push_back(std::move(*it));
    }
    return true;
  }

  // Queues the files of one folder and lists its subfolders; false once the
  // scan is stopped.
  bool ListFolder(const std::string& dir, dev_t root_dev, std::vector<std::string>* subdirs) {
    DIR* dp = ::opendir(dir.c_str());
    if (dp == nullptr) {
      Skip(dir, ErrnoError(errno, "cannot list folder").message(), FileResult::Outcome::kError);
      return true;
    }
    const int dfd = ::dirfd(dp);
    bool go_on = true;
    while (struct dirent* de = ::readdir(dp)) {
      const char* name = de->d_name;
      if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
      Item item;
      item.path = dir + "/" + name;  // As yara builds it, so outputs compare line for line.
      if (Excluded(item.path)) continue;
      if (::fstatat(dfd, name, &item.st, AT_SYMLINK_NOFOLLOW) != 0) {
        Skip(item.path, ErrnoError(errno, "cannot access").message(), FileResult::Outcome::kError);
        continue;
      }
      if (S_ISLNK(item.st.st_mode)) {
        if (!o_.follow_symlinks) {
          Skip(item.path, "symlink not followed", FileResult::Outcome::kSkipped);
          continue;
        }
        if (::stat(item.path.c_str(), &item.st) != 0) {
          Skip(item.path, ErrnoError(errno, "dangling symlink").message(), FileResult::Outcome::kSkipped);
          continue;
        }
        item.follow = true;
      }
      if (S_ISDIR(item.st.st_mode)) {
        if (o_.one_file_system && item.st.st_dev != root_dev) {
          Skip(item.path, "other file system", FileResult::Outcome::kSkipped);
          continue;
        }
        if (visited_dirs_.insert({item.st.st_dev, item.st.st_ino}).second) subdirs->push_back(item.path);
        continue;
      }
      if (!S_ISREG(item.st.st_mode)) {
        Skip(item.path, std::string("not scanned: ") + SpecialKind(item.st.st_mode), FileResult::Outcome::kSkipped);
        continue;
      }
      if (TooLarge(item.st)) {
        Skip(item.path, "larger than " + FormatSize(o_.max_file_size), FileResult::Outcome::kSkipped);
        continue;
      }
      if (!sh_.Push(std::move(item))) {
        go_on = false;
        break;
      }
    }
    ::closedir(dp);
    return go_on;
  }

  const FileScanOptions& o_;
  Shared& sh_;
  const Callback& on_result_;
  std::atomic<bool> budget_reported_{false};
  std::set<std::pair<dev_t, ino_t>> visited_dirs_;  // Walking thread only.
};

Result<ScanSummary> FileScan::Run(const std::vector<std::string>& paths, const Callback& on_result) {
  const int64_t start = MonotonicNanos();
  shared_->Reset(start, static_cast<double>(options_.max_bytes_per_second));
  ScannerOptions scanner_options;
  scanner_options.timeout = options_.timeout;
  scanner_options.fast_mode = options_.fast_mode;
  scanner_options.report_strings = options_.report_strings;
  std::vector<std::unique_ptr<Scanner>> scanners;
  for (int i = 0; i < options_.threads; ++i) {
    RAMPART_ASSIGN_OR_RETURN(auto s, Scanner::Create(rules_, scanner_options));
    scanners.push_back(std::move(s));
  }
  Job job(options_, *shared_, on_result);
  std::vector<std::thread> threads;
  // The walk on its own thread, so that one scanning thread is one core.
  threads.emplace_back([&] { job.Walk(paths); });
  for (auto& s : scanners) threads.emplace_back([&job, scanner = s.get()] { job.Scan(scanner); });
  for (auto& t : threads) t.join();
  return shared_->Finish(start);
}

}  // namespace rampart::yara
