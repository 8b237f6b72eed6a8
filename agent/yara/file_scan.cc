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
#include <set>
#include <thread>
#include <utility>

#include "common/util/clock.h"

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
  mutable std::mutex mu;
  std::condition_variable cv;  // Queue space/items, pause changes, stop.
  std::deque<Item> queue;
  bool walk_done = false;
  bool stop = false;
  std::string stop_reason;
  bool paused = false;
  std::string pause_reason;
  int64_t paused_since = 0;
  int64_t paused_total = 0;

  // Token bucket for the MB/s cap.
  double tokens = 0;
  int64_t last_refill = 0;

  std::mutex callback_mu;
  ScanSummary summary;  // Guarded by mu.

  // Waits while paused; false once stopped.
  bool WaitWhilePaused(std::unique_lock<std::mutex>& lock) {
    cv.wait(lock, [&] { return !paused || stop; });
    return !stop;
  }
};

FileScan::FileScan(std::shared_ptr<const RuleSet> rules, FileScanOptions options)
    : rules_(std::move(rules)), options_(std::move(options)), shared_(std::make_unique<Shared>()) {
  if (options_.threads < 1) options_.threads = 1;
}

FileScan::~FileScan() = default;

void FileScan::Pause(const std::string& reason) {
  std::lock_guard lock(shared_->mu);
  if (!shared_->paused) shared_->paused_since = MonotonicNanos();
  shared_->paused = true;
  shared_->pause_reason = reason;
  shared_->cv.notify_all();
}

void FileScan::Resume() {
  std::lock_guard lock(shared_->mu);
  if (shared_->paused) shared_->paused_total += MonotonicNanos() - shared_->paused_since;
  shared_->paused = false;
  shared_->pause_reason.clear();
  shared_->cv.notify_all();
}

void FileScan::Stop(const std::string& reason) {
  std::lock_guard lock(shared_->mu);
  if (!shared_->stop) shared_->stop_reason = reason;
  shared_->stop = true;
  shared_->cv.notify_all();
}

bool FileScan::paused() const {
  std::lock_guard lock(shared_->mu);
  return shared_->paused;
}

std::string FileScan::pause_reason() const {
  std::lock_guard lock(shared_->mu);
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

Result<ScanSummary> FileScan::Run(const std::vector<std::string>& paths, const Callback& on_result) {
  Shared& sh = *shared_;
  const int64_t start = MonotonicNanos();
  {
    std::lock_guard lock(sh.mu);
    sh.summary = ScanSummary{};
    sh.queue.clear();
    sh.walk_done = false;
    sh.tokens = static_cast<double>(options_.max_bytes_per_second);
    sh.last_refill = start;
  }
  ScannerOptions scanner_options;
  scanner_options.timeout = options_.timeout;
  scanner_options.fast_mode = options_.fast_mode;
  scanner_options.report_strings = options_.report_strings;
  std::vector<std::unique_ptr<Scanner>> scanners;
  for (int i = 0; i < options_.threads; ++i) {
    RAMPART_ASSIGN_OR_RETURN(auto s, Scanner::Create(rules_, scanner_options));
    scanners.push_back(std::move(s));
  }

  auto report = [&](FileResult&& r) {
    {
      std::lock_guard lock(sh.mu);
      switch (r.outcome) {
        case FileResult::Outcome::kScanned: ++sh.summary.files_scanned; sh.summary.bytes_scanned += r.size; break;
        case FileResult::Outcome::kCached: ++sh.summary.files_cached; break;
        case FileResult::Outcome::kSkipped: ++sh.summary.files_skipped; break;
        case FileResult::Outcome::kError: ++sh.summary.errors; break;
      }
      if (!r.matches.empty()) ++sh.summary.files_matched;
    }
    const bool wanted = r.outcome == FileResult::Outcome::kError || r.outcome == FileResult::Outcome::kSkipped ||
                        !r.matches.empty() || options_.report_clean;
    if (wanted && on_result) {
      std::lock_guard lock(sh.callback_mu);
      on_result(r);
    }
  };

  // Charges `bytes` to the shared rate cap; false when stopped while waiting.
  auto throttle = [&](uint64_t bytes) -> bool {
    if (options_.max_bytes_per_second == 0) return true;
    std::unique_lock lock(sh.mu);
    const double rate = static_cast<double>(options_.max_bytes_per_second);
    const int64_t now = MonotonicNanos();
    sh.tokens = std::min(rate, sh.tokens + rate * static_cast<double>(now - sh.last_refill) / 1e9);
    sh.last_refill = now;
    sh.tokens -= static_cast<double>(bytes);
    if (sh.tokens >= 0) return !sh.stop;
    const auto wait = std::chrono::nanoseconds(static_cast<int64_t>(-sh.tokens / rate * 1e9));
    return !sh.cv.wait_for(lock, wait, [&] { return sh.stop; });
  };

  std::atomic<bool> budget_reported{false};
  auto worker = [&](Scanner* scanner) {
    Status s = ApplyThreadBudget(options_.nice, options_.ionice);
    if (s.ok() && !options_.cgroup_threads_file.empty()) s = JoinCgroupThreads(options_.cgroup_threads_file);
    if (!s.ok() && !budget_reported.exchange(true)) {
      // Report once per scan through the callback of the first failing thread.
      FileResult r;
      r.outcome = FileResult::Outcome::kSkipped;
      r.reason = "budget not applied: " + s.message();
      if (on_result) {
        std::lock_guard lock(sh.callback_mu);
        on_result(r);
      }
    }
    std::vector<uint8_t> buffer;
    for (;;) {
      Item item;
      {
        std::unique_lock lock(sh.mu);
        sh.cv.wait(lock, [&] { return sh.stop || !sh.queue.empty() || sh.walk_done; });
        if (sh.stop) return;
        if (sh.queue.empty()) return;  // Walk done and drained.
        if (!sh.WaitWhilePaused(lock)) return;
        if (sh.queue.empty()) continue;
        item = std::move(sh.queue.front());
        sh.queue.pop_front();
        sh.cv.notify_all();
      }
      FileResult r;
      r.path = std::move(item.path);
      r.identity = IdentityOf(item.st);
      r.size = r.identity.size;
      if (options_.cache != nullptr) {
        if (auto cached = options_.cache->Lookup(r.path, r.identity, options_.report_strings)) {
          r.outcome = FileResult::Outcome::kCached;
          r.matches = std::move(*cached);
          report(std::move(r));
          continue;
        }
      }
      const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (item.follow ? 0 : O_NOFOLLOW);
      const int fd = ::open(r.path.c_str(), flags);
      if (fd < 0) {
        r.outcome = FileResult::Outcome::kError;
        r.reason = ErrnoError(errno, "cannot open").message();
        report(std::move(r));
        continue;
      }
      struct stat st {};
      if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        r.outcome = FileResult::Outcome::kSkipped;
        r.reason = std::string("replaced by a ") + SpecialKind(st.st_mode) + " while scanning";
        ::close(fd);
        report(std::move(r));
        continue;
      }
      r.identity = IdentityOf(st);
      r.size = r.identity.size;
      if (!throttle(r.size)) {
        ::close(fd);
        return;
      }
      Result<std::vector<RuleMatch>> matches;
      if (r.size <= options_.read_buffer_limit) {
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        buffer.resize(r.size);
        size_t got = 0;
        bool read_failed = false;
        while (got < buffer.size()) {
          const ssize_t n = ::read(fd, buffer.data() + got, buffer.size() - got);
          if (n < 0) {
            if (errno == EINTR) continue;
            r.outcome = FileResult::Outcome::kError;
            r.reason = ErrnoError(errno, "cannot read").message();
            read_failed = true;
            break;
          }
          if (n == 0) break;  // Shrunk since fstat: scan what is there.
          got += static_cast<size_t>(n);
        }
        if (read_failed) {
          ::close(fd);
          report(std::move(r));
          continue;
        }
        matches = scanner->ScanMemory(std::span<const uint8_t>(buffer.data(), got));
      } else {
        matches = scanner->ScanFd(fd);
      }
      ::close(fd);
      if (!matches) {
        r.outcome = FileResult::Outcome::kError;
        r.reason = matches.error().message();
        report(std::move(r));
        continue;
      }
      r.outcome = FileResult::Outcome::kScanned;
      r.matches = std::move(*matches);
      if (options_.cache != nullptr) {
        // A cache write failure costs a rescan next time, nothing more.
        (void)options_.cache->Store(r.path, r.identity, r.matches, options_.report_strings);
      }
      report(std::move(r));
    }
  };

  // The walk, on its own thread so that one scanning thread is one core.
  auto push = [&](Item&& item) -> bool {
    std::unique_lock lock(sh.mu);
    sh.cv.wait(lock, [&] { return sh.stop || sh.queue.size() < 1024; });
    if (sh.stop) return false;
    ++sh.summary.files_seen;
    sh.queue.push_back(std::move(item));
    sh.cv.notify_all();
    return true;
  };
  auto skip = [&](const std::string& path, std::string reason, FileResult::Outcome outcome) {
    FileResult r;
    r.path = path;
    r.outcome = outcome;
    r.reason = std::move(reason);
    report(std::move(r));
  };
  auto excluded = [&](const std::string& path) {
    for (const std::string& pattern : options_.excludes) {
      if (::fnmatch(pattern.c_str(), path.c_str(), 0) == 0) return true;
    }
    return false;
  };
  auto stopped = [&] {
    std::unique_lock lock(sh.mu);
    return !sh.WaitWhilePaused(lock);
  };

  auto walk = [&] {
    (void)ApplyThreadBudget(options_.nice, options_.ionice);
    if (!options_.cgroup_threads_file.empty()) (void)JoinCgroupThreads(options_.cgroup_threads_file);
    std::set<std::pair<dev_t, ino_t>> visited_dirs;
    for (const std::string& root : paths) {
      if (stopped()) break;
      Item top;
      top.path = root;
      top.follow = true;
      if (::stat(root.c_str(), &top.st) != 0) {
        skip(root, ErrnoError(errno, "cannot access").message(), FileResult::Outcome::kError);
        continue;
      }
      if (S_ISREG(top.st.st_mode)) {
        if (options_.max_file_size != 0 && static_cast<uint64_t>(top.st.st_size) > options_.max_file_size) {
          skip(root, "larger than " + FormatSize(options_.max_file_size), FileResult::Outcome::kSkipped);
        } else if (!push(std::move(top))) {
          break;
        }
        continue;
      }
      if (!S_ISDIR(top.st.st_mode)) {
        skip(root, std::string("not scanned: ") + SpecialKind(top.st.st_mode), FileResult::Outcome::kSkipped);
        continue;
      }
      const dev_t root_dev = top.st.st_dev;
      std::vector<std::string> dirs{root};
      visited_dirs.insert({top.st.st_dev, top.st.st_ino});
      while (!dirs.empty()) {
        if (stopped()) break;
        const std::string dir = std::move(dirs.back());
        dirs.pop_back();
        DIR* dp = ::opendir(dir.c_str());
        if (dp == nullptr) {
          skip(dir, ErrnoError(errno, "cannot list folder").message(), FileResult::Outcome::kError);
          continue;
        }
        const int dfd = ::dirfd(dp);
        std::vector<std::string> subdirs;
        while (struct dirent* de = ::readdir(dp)) {
          const char* name = de->d_name;
          if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
          Item item;
          item.path = dir + "/" + name;  // As yara builds it, so outputs compare line for line.
          if (excluded(item.path)) continue;
          if (::fstatat(dfd, name, &item.st, AT_SYMLINK_NOFOLLOW) != 0) {
            skip(item.path, ErrnoError(errno, "cannot access").message(), FileResult::Outcome::kError);
            continue;
          }
          if (S_ISLNK(item.st.st_mode)) {
            if (!options_.follow_symlinks) {
              skip(item.path, "symlink not followed", FileResult::Outcome::kSkipped);
              continue;
            }
            if (::stat(item.path.c_str(), &item.st) != 0) {
              skip(item.path, ErrnoError(errno, "dangling symlink").message(), FileResult::Outcome::kSkipped);
              continue;
            }
            item.follow = true;
          }
          if (S_ISDIR(item.st.st_mode)) {
            if (options_.one_file_system && item.st.st_dev != root_dev) {
              skip(item.path, "other file system", FileResult::Outcome::kSkipped);
              continue;
            }
            if (visited_dirs.insert({item.st.st_dev, item.st.st_ino}).second) subdirs.push_back(item.path);
            continue;
          }
          if (!S_ISREG(item.st.st_mode)) {
            skip(item.path, std::string("not scanned: ") + SpecialKind(item.st.st_mode),
                 FileResult::Outcome::kSkipped);
            continue;
          }
          if (options_.max_file_size != 0 && static_cast<uint64_t>(item.st.st_size) > options_.max_file_size) {
            skip(item.path, "larger than " + FormatSize(options_.max_file_size), FileResult::Outcome::kSkipped);
            continue;
          }
          if (!push(std::move(item))) break;
        }
        ::closedir(dp);
        // Depth first, in the order the folder listed them.
        for (auto it = subdirs.rbegin(); it != subdirs.rend(); ++it) dirs.push_back(std::move(*it));
      }
    }
    std::lock_guard lock(sh.mu);
    sh.walk_done = true;
    sh.cv.notify_all();
  };

  std::vector<std::thread> threads;
  threads.emplace_back(walk);
  for (auto& s : scanners) threads.emplace_back(worker, s.get());
  for (auto& t : threads) t.join();

  std::lock_guard lock(sh.mu);
  ScanSummary summary = sh.summary;
  summary.stopped = sh.stop;
  summary.stop_reason = sh.stop_reason;
  int64_t paused_total = sh.paused_total;
  if (sh.paused) paused_total += MonotonicNanos() - sh.paused_since;
  summary.paused = std::chrono::milliseconds(paused_total / 1000000);
  summary.elapsed = std::chrono::milliseconds((MonotonicNanos() - start) / 1000000);
  return summary;
}

}  // namespace rampart::yara
