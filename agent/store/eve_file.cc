#include "agent/store/eve_file.h"

#include <pthread.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>
#include <vector>

#include "common/log/log.h"
#include "common/util/mutex.h"

namespace rampart::agent_store {
namespace {

// The cursor: "INODE:OFFSET".
std::string CursorValue(uint64_t inode, uint64_t offset) {
  return std::to_string(inode) + ":" + std::to_string(offset);
}

bool ParseCursor(const std::string& v, uint64_t* inode, uint64_t* offset) {
  const size_t colon = v.find(':');
  if (colon == std::string::npos) return false;
  char* end = nullptr;
  *inode = std::strtoull(v.c_str(), &end, 10);
  if (end != v.c_str() + colon) return false;
  *offset = std::strtoull(v.c_str() + colon + 1, &end, 10);
  return *end == '\0';
}

class Follower final : public EveFileFollower {
 public:
  Follower(const EveFileOptions& o, Spool& spool) : o_(o), spool_(spool), cursor_name_("evefile:" + o.path) {}
  ~Follower() override { Stop(); }

  Status Init() {
    auto saved = spool_.GetCursor(cursor_name_);
    if (!saved.has_value()) return saved.error();
    if (saved->has_value() && !ParseCursor(**saved, &saved_inode_, &saved_offset_)) {
      log::Warn("evefile", "unreadable saved position; reading from the start", {{"path", o_.path}});
      saved_inode_ = saved_offset_ = 0;
    }
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "evefile");
      Loop();
    });
    return Status::Ok();
  }

  void Stop() override {
    {
      MutexLock lock(&mu_);
      if (stop_) return;
      stop_ = true;
    }
    cv_.SignalAll();
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  EveFileStats Stats() const override {
    MutexLock lock(&mu_);
    return stats_;
  }

 private:
  // False when Stop() was called (at once, or while sleeping).
  bool Sleep(std::chrono::milliseconds d) EXCLUDES(mu_) {
    const auto deadline = std::chrono::steady_clock::now() + d;
    MutexLock lock(&mu_);
    while (!stop_) {
      if (!cv_.WaitUntil(&mu_, deadline)) return !stop_;
    }
    return false;
  }

  // Opens the path; positions at the saved offset when it is the same file.
  bool Open() {
    const int fd = ::open(o_.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      return false;
    }
    fd_ = fd;
    inode_ = st.st_ino;
    offset_ = 0;
    if (saved_inode_ == inode_ && saved_offset_ <= static_cast<uint64_t>(st.st_size)) offset_ = saved_offset_;
    saved_inode_ = 0;  // Only the first open resumes.
    pending_.clear();
    if (::lseek(fd_, static_cast<off_t>(offset_), SEEK_SET) < 0) offset_ = 0;
    MutexLock lock(&mu_);
    stats_.inode = inode_;
    stats_.offset = offset_;
    return true;
  }

  // Appends the complete lines in pending_ (up to a batch) with the cursor.
  bool Flush(bool* made_progress) {
    std::vector<std::string_view> lines;
    size_t consumed = 0;
    size_t start = 0;
    uint64_t oversized = 0;
    while (lines.size() < o_.max_batch_lines) {
      const size_t nl = pending_.find('\n', start);
      if (nl == std::string::npos) break;
      std::string_view line(pending_.data() + start, nl - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.size() > o_.max_line_bytes) {
        ++oversized;
      } else if (!line.empty()) {
        lines.push_back(line);
      }
      start = nl + 1;
      consumed = start;
    }
    if (consumed == 0) return true;
    const Cursor cursor{cursor_name_, CursorValue(inode_, offset_ + consumed)};
    auto r = spool_.Append(lines, &cursor);
    if (!r.has_value()) {
      log::Warn("evefile", "cannot append to the spool; retrying", {{"path", o_.path}, {"error", r.error()}});
      return false;
    }
    offset_ += consumed;
    pending_.erase(0, consumed);
    *made_progress = true;
    MutexLock lock(&mu_);
    stats_.lines += lines.size();
    stats_.oversized += oversized;
    stats_.offset = offset_;
    return true;
  }

  void Loop() {
    std::vector<char> buf(1 << 20);
    while (true) {
      {
        MutexLock lock(&mu_);
        if (stop_) return;
      }
      if (fd_ < 0 && !Open()) {
        if (!Sleep(o_.poll)) return;
        continue;
      }
      bool progress = false;
      // An overlong partial line is dropped up to its end.
      if (pending_.size() > o_.max_line_bytes && pending_.find('\n') == std::string::npos) {
        skipping_ = true;
      }
      const ssize_t n = ::read(fd_, buf.data(), buf.size());
      if (n > 0) {
        std::string_view data(buf.data(), static_cast<size_t>(n));
        if (skipping_) {
          const size_t nl = data.find('\n');
          if (nl == std::string_view::npos) {
            offset_ += pending_.size() + data.size();
            pending_.clear();
            continue;
          }
          offset_ += pending_.size() + nl + 1;
          pending_.clear();
          data.remove_prefix(nl + 1);
          skipping_ = false;
          MutexLock lock(&mu_);
          ++stats_.oversized;
        }
        pending_.append(data);
      } else if (n < 0 && errno != EINTR) {
        log::Warn("evefile", "read failed; reopening", {{"path", o_.path}, {"errno", errno}});
        ::close(fd_);
        fd_ = -1;
        continue;
      }
      while (pending_.find('\n') != std::string::npos) {
        bool p = false;
        if (!Flush(&p)) {
          if (!Sleep(std::chrono::seconds(1))) return;
          break;
        }
        if (!p) break;
        progress = true;
      }
      if (n > 0) continue;  // Read on while there is data.
      // At the end: has the file been rotated or truncated?
      struct stat path_st, fd_st;
      const bool path_ok = ::stat(o_.path.c_str(), &path_st) == 0;
      if (::fstat(fd_, &fd_st) == 0 && static_cast<uint64_t>(fd_st.st_size) < offset_ + pending_.size()) {
        log::Info("evefile", "file truncated; reading from the start", {{"path", o_.path}});
        ::lseek(fd_, 0, SEEK_SET);
        offset_ = 0;
        pending_.clear();
        continue;
      }
      if (path_ok && path_st.st_ino != inode_) {
        log::Info("evefile", "file rotated; following the new one", {{"path", o_.path}});
        ::close(fd_);
        fd_ = -1;
        MutexLock lock(&mu_);
        ++stats_.rotations;
        continue;
      }
      if (!progress && !Sleep(o_.poll)) return;
    }
  }

  EveFileOptions o_;
  Spool& spool_;
  std::string cursor_name_;
  uint64_t saved_inode_ = 0, saved_offset_ = 0;
  int fd_ = -1;
  uint64_t inode_ = 0;
  uint64_t offset_ = 0;    // Durable position: end of the last appended line.
  std::string pending_;    // Read past offset_, not yet appended.
  bool skipping_ = false;
  std::thread thread_;
  mutable Mutex mu_;
  CondVar cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  EveFileStats stats_ GUARDED_BY(mu_);
};

}  // namespace

Result<std::unique_ptr<EveFileFollower>> EveFileFollower::Start(const EveFileOptions& options, Spool& spool) {
  if (options.path.empty()) return InvalidArgumentError("EVE input path is empty");
  auto f = std::make_unique<Follower>(options, spool);
  RAMPART_RETURN_IF_ERROR(f->Init());
  return std::unique_ptr<EveFileFollower>(std::move(f));
}

}  // namespace rampart::agent_store
