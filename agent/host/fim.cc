#include "agent/host/fim.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "agent/yara/scanner.h"
#include "common/log/log.h"
#include "common/tls/digest.h"
#include "common/util/clock.h"
#include "common/util/mutex.h"

namespace rampart::host {
namespace {

constexpr uint32_t kDirMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_MOVED_FROM |
                              IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW | IN_ONLYDIR |
                              IN_EXCL_UNLINK;
constexpr std::string_view kFileKeyPrefix = "p";  // "p" + path -> state
constexpr std::string_view kRootKeyPrefix = "r";  // "r" + root -> "" (a baseline exists)

int64_t Nanos(const timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }

std::string EncodeState(const FileState& s) {
  std::string v;
  rocks::AppendBigEndian64(&v, s.mode);
  rocks::AppendBigEndian64(&v, s.uid);
  rocks::AppendBigEndian64(&v, s.gid);
  rocks::AppendBigEndian64(&v, s.size);
  rocks::AppendBigEndian64(&v, static_cast<uint64_t>(s.mtime_nanos));
  rocks::AppendBigEndian64(&v, static_cast<uint64_t>(s.ctime_nanos));
  rocks::AppendBigEndian64(&v, s.inode);
  v += s.sha256;
  return v;
}

std::optional<FileState> DecodeState(std::string_view v) {
  if (v.size() < 56) return std::nullopt;
  FileState s;
  s.mode = static_cast<uint32_t>(rocks::ReadBigEndian64(v.substr(0, 8)));
  s.uid = static_cast<uint32_t>(rocks::ReadBigEndian64(v.substr(8, 8)));
  s.gid = static_cast<uint32_t>(rocks::ReadBigEndian64(v.substr(16, 8)));
  s.size = rocks::ReadBigEndian64(v.substr(24, 8));
  s.mtime_nanos = static_cast<int64_t>(rocks::ReadBigEndian64(v.substr(32, 8)));
  s.ctime_nanos = static_cast<int64_t>(rocks::ReadBigEndian64(v.substr(40, 8)));
  s.inode = rocks::ReadBigEndian64(v.substr(48, 8));
  s.sha256 = std::string(v.substr(56));
  return s;
}

// What kind of change turns `before` into `after` ("" when none).
std::string ClassifyChange(const FileState& before, const FileState& after) {
  const bool type_changed = (before.mode & S_IFMT) != (after.mode & S_IFMT);
  if (!type_changed && S_ISDIR(after.mode)) {
    // A folder's mtime moves with every entry added or removed; those are
    // reported per entry. Only its own attributes count.
    if ((before.mode & 07777) != (after.mode & 07777) || before.uid != after.uid || before.gid != after.gid) {
      return "attributes_changed";
    }
    return "";
  }
  const bool content_changed = type_changed || before.size != after.size || before.sha256 != after.sha256 ||
                               (after.sha256.empty() && before.mtime_nanos != after.mtime_nanos);
  if (content_changed) return "modified";
  if ((before.mode & 07777) != (after.mode & 07777) || before.uid != after.uid || before.gid != after.gid ||
      before.mtime_nanos != after.mtime_nanos || before.inode != after.inode) {
    return "attributes_changed";
  }
  return "";
}

}  // namespace

struct FileIntegrityMonitor::Impl {
  FimOptions options;
  rocks::Database* db = nullptr;
  rocksdb::ColumnFamilyHandle* cf = nullptr;
  EventWriter* writer = nullptr;
  int inotify_fd = -1;
  std::unique_ptr<yara::Scanner> scanner;

  std::unordered_map<int, std::string> wd_to_dir;
  std::unordered_map<std::string, int> dir_to_wd;
  // File roots are watched through their parent folder.
  std::set<std::string> file_roots;
  std::map<std::string, int64_t> pending;  // path -> monotonic time it may be examined

  mutable Mutex stats_mu;
  FimStats stats GUARDED_BY(stats_mu);
  bool watch_limit_logged = false;

  ~Impl() {
    if (inotify_fd >= 0) ::close(inotify_fd);
  }

  bool Ignored(const std::string& path) const {
    for (const auto& p : options.ignore) {
      if (::fnmatch(p.c_str(), path.c_str(), 0) == 0) return true;
    }
    return false;
  }

  // Is `path` inside what we watch?
  bool Covered(const std::string& path) const {
    for (const auto& root : options.paths) {
      if (path == root) return true;
      if (file_roots.count(root) == 0 && path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
          (root.back() == '/' || path[root.size()] == '/')) {
        return true;
      }
    }
    return false;
  }

  void CountError() {
    MutexLock lock(&stats_mu);
    ++stats.errors;
  }

  std::optional<FileState> Stored(const std::string& path) const {
    auto v = db->Get(cf, std::string(kFileKeyPrefix) + path);
    if (!v) return std::nullopt;
    return DecodeState(*v);
  }

  // The current state of `path` (nullopt when it does not exist). The hash is
  // reused from `previous` when size, mtime, ctime and inode are unchanged.
  std::optional<FileState> Observe(const std::string& path, const std::optional<FileState>& previous) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
    FileState s;
    s.mode = st.st_mode;
    s.uid = st.st_uid;
    s.gid = st.st_gid;
    s.size = S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
    s.mtime_nanos = Nanos(st.st_mtim);
    s.ctime_nanos = Nanos(st.st_ctim);
    s.inode = st.st_ino;
    if (!S_ISREG(st.st_mode)) {
      if (S_ISLNK(st.st_mode)) {
        char target[4096];
        const ssize_t n = ::readlink(path.c_str(), target, sizeof(target));
        if (n > 0) s.sha256 = tls::Sha256Hex(std::string_view(target, static_cast<size_t>(n)));
      }
      return s;
    }
    if (previous && previous->size == s.size && previous->mtime_nanos == s.mtime_nanos &&
        previous->ctime_nanos == s.ctime_nanos && previous->inode == s.inode) {
      s.sha256 = previous->sha256;
      return s;
    }
    if (s.size > options.max_hash_size) return s;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
      CountError();
      return s;
    }
    auto hash = tls::Sha256OfFd(fd, path);
    ::close(fd);
    if (hash) {
      s.sha256 = std::move(*hash);
    } else {
      CountError();
    }
    return s;
  }

  std::vector<yara::RuleMatch> ScanWithYara(const std::string& path, const FileState& s) {
    if (!scanner || !S_ISREG(s.mode) || s.size > options.max_hash_size) return {};
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return {};
    auto matches = scanner->ScanFd(fd);
    ::close(fd);
    return matches ? std::move(*matches) : std::vector<yara::RuleMatch>{};
  }

  void Emit(const std::string& path, const std::string& action, const std::string& detected_by,
            std::optional<FileState> before, std::optional<FileState> after) {
    FileEvent e;
    e.timestamp_nanos = WallNanos();
    e.path = path;
    e.action = action;
    e.detected_by = detected_by;
    e.old_state = std::move(before);
    e.new_state = std::move(after);
    if (e.new_state && (action == "created" || action == "modified")) e.yara = ScanWithYara(path, *e.new_state);
    (void)writer->WriteFile(e);
    MutexLock lock(&stats_mu);
    ++stats.events;
  }

  void Record(const std::string& path, const FileState& s, rocksdb::WriteBatch* batch) {
    batch->Put(cf, std::string(kFileKeyPrefix) + path, EncodeState(s));
  }

  void Flush(rocksdb::WriteBatch* batch) {
    if (batch->Count() == 0) return;
    if (!db->Write(*batch).ok()) CountError();
    batch->Clear();
  }

  void AddWatch(const std::string& dir) {
    if (dir_to_wd.count(dir)) return;
    const int wd = ::inotify_add_watch(inotify_fd, dir.c_str(), kDirMask);
    if (wd < 0) {
      CountError();
      if (errno == ENOSPC && !watch_limit_logged) {
        watch_limit_logged = true;
        log::Warn("fim", "inotify watch limit reached; raise fs.inotify.max_user_watches",
                  {{"path", dir}});
      }
      return;
    }
    // inotify gives the same wd for the same inode: keep the newest name.
    if (auto it = wd_to_dir.find(wd); it != wd_to_dir.end()) dir_to_wd.erase(it->second);
    wd_to_dir[wd] = dir;
    dir_to_wd[dir] = wd;
    MutexLock lock(&stats_mu);
    stats.watches = dir_to_wd.size();
  }

  // Compares the tree at `root` with the baseline, reports differences (when
  // `report`), updates the baseline and adds watches for its folders.
  void Reconcile(const std::string& root, const std::string& detected_by, bool report) {
    rocksdb::WriteBatch batch;
    std::set<std::string> seen;
    std::vector<std::string> stack{root};
    uint64_t files = 0;
    while (!stack.empty()) {
      const std::string path = std::move(stack.back());
      stack.pop_back();
      if (Ignored(path)) continue;
      const auto before = Stored(path);
      const auto after = Observe(path, before);
      if (!after) continue;  // Vanished while walking; the baseline pass below reports it.
      seen.insert(path);
      ++files;
      if (!before) {
        if (report) Emit(path, "created", detected_by, std::nullopt, after);
        Record(path, *after, &batch);
      } else if (const std::string change = ClassifyChange(*before, *after); !change.empty()) {
        if (report) Emit(path, change, detected_by, before, after);
        Record(path, *after, &batch);
      } else if (!(*before == *after)) {
        Record(path, *after, &batch);  // ctime only: keep the record current.
      }
      if (batch.Count() >= 512) Flush(&batch);
      if (S_ISDIR(after->mode) && file_roots.count(path) == 0) {
        AddWatch(path);
        DIR* dp = ::opendir(path.c_str());
        if (dp == nullptr) {
          CountError();
          continue;
        }
        while (struct dirent* de = ::readdir(dp)) {
          if (std::strcmp(de->d_name, ".") == 0 || std::strcmp(de->d_name, "..") == 0) continue;
          stack.push_back(path + (path.back() == '/' ? "" : "/") + de->d_name);
        }
        ::closedir(dp);
      }
    }
    // Baseline entries under root that are gone.
    std::vector<std::pair<std::string, FileState>> gone;
    auto collect = [&](std::string_view key, std::string_view value) {
      std::string path(key.substr(kFileKeyPrefix.size()));
      if (!seen.count(path) && !Ignored(path)) {
        if (auto s = DecodeState(value)) gone.emplace_back(std::move(path), std::move(*s));
      }
      return true;
    };
    const std::string exact = std::string(kFileKeyPrefix) + root;
    (void)db->Scan(cf, exact, exact + std::string(1, '\0'), collect);
    if (file_roots.count(root) == 0) {
      const std::string prefix = exact + (root.back() == '/' ? "" : "/");
      std::string end = prefix;
      end.back() = static_cast<char>(end.back() + 1);
      (void)db->Scan(cf, prefix, end, collect);
    }
    for (auto& [path, state] : gone) {
      if (report) Emit(path, "deleted", detected_by, state, std::nullopt);
      batch.Delete(cf, std::string(kFileKeyPrefix) + path);
      if (batch.Count() >= 512) Flush(&batch);
    }
    batch.Put(cf, std::string(kRootKeyPrefix) + root, "");
    Flush(&batch);
    (void)files;
  }

  void ReconcileAll(const std::string& detected_by) {
    for (const auto& root : options.paths) {
      const bool has_baseline = db->Get(cf, std::string(kRootKeyPrefix) + root).has_value();
      Reconcile(root, detected_by, has_baseline);
    }
    uint64_t tracked = 0;
    (void)db->Scan(cf, kFileKeyPrefix, "q", [&](std::string_view, std::string_view) {
      ++tracked;
      return true;
    });
    MutexLock lock(&stats_mu);
    stats.files_tracked = tracked;
  }

  // Examines one path that inotify named.
  void Check(const std::string& path) {
    if (Ignored(path) || !Covered(path)) return;
    const auto before = Stored(path);
    struct stat st {};
    const bool exists = ::lstat(path.c_str(), &st) == 0;
    if (!exists) {
      // Gone: the path itself and, for a folder, everything under it.
      rocksdb::WriteBatch batch;
      std::vector<std::pair<std::string, FileState>> gone;
      if (before) gone.emplace_back(path, *before);
      const std::string prefix = std::string(kFileKeyPrefix) + path + "/";
      std::string end = prefix;
      end.back() = static_cast<char>(end.back() + 1);
      (void)db->Scan(cf, prefix, end, [&](std::string_view key, std::string_view value) {
        if (auto s = DecodeState(value)) gone.emplace_back(std::string(key.substr(1)), std::move(*s));
        return true;
      });
      for (auto& [p, s] : gone) {
        Emit(p, "deleted", "inotify", s, std::nullopt);
        batch.Delete(cf, std::string(kFileKeyPrefix) + p);
      }
      Flush(&batch);
      if (auto it = dir_to_wd.find(path); it != dir_to_wd.end()) {
        wd_to_dir.erase(it->second);
        dir_to_wd.erase(it);
      }
      return;
    }
    if (S_ISDIR(st.st_mode) && !dir_to_wd.count(path)) {
      // A new (or moved-in) folder: watch it and take in what it already holds.
      Reconcile(path, "inotify", true);
      return;
    }
    const auto after = Observe(path, before);
    if (!after) return;
    rocksdb::WriteBatch batch;
    if (!before) {
      Emit(path, "created", "inotify", std::nullopt, after);
      Record(path, *after, &batch);
    } else if (const std::string change = ClassifyChange(*before, *after); !change.empty()) {
      Emit(path, change, "inotify", before, after);
      Record(path, *after, &batch);
    } else if (!(*before == *after)) {
      Record(path, *after, &batch);
    }
    Flush(&batch);
  }
};

Result<std::unique_ptr<FileIntegrityMonitor>> FileIntegrityMonitor::Create(FimOptions options, rocks::Database* db,
                                                                          EventWriter* writer) {
  std::unique_ptr<FileIntegrityMonitor> m(new FileIntegrityMonitor());
  m->impl_ = std::make_unique<Impl>();
  Impl& im = *m->impl_;
  // Normalise roots: no trailing slash (except "/").
  for (auto& p : options.paths) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
  }
  im.options = std::move(options);
  im.db = db;
  im.cf = db->Family(kFamily);
  if (im.cf == nullptr) {
    return FailedPreconditionError("fim: database " + db->path() + " was opened without family " +
                                   std::string(kFamily));
  }
  im.writer = writer;
  im.inotify_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (im.inotify_fd < 0) return ErrnoError(errno, "fim: cannot create an inotify instance");
  if (im.options.yara_rules) {
    yara::ScannerOptions so;
    so.timeout = std::chrono::seconds(30);
    RAMPART_ASSIGN_OR_RETURN(im.scanner, yara::Scanner::Create(im.options.yara_rules, so));
  }
  return m;
}

FileIntegrityMonitor::~FileIntegrityMonitor() = default;

Status FileIntegrityMonitor::Start() {
  Impl& im = *impl_;
  for (const auto& root : im.options.paths) {
    struct stat st {};
    if (::lstat(root.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
      im.file_roots.insert(root);
      const auto slash = root.rfind('/');
      im.AddWatch(slash == 0 ? "/" : (slash == std::string::npos ? "." : root.substr(0, slash)));
    }
  }
  im.ReconcileAll("startup");
  return Status::Ok();
}

Result<uint64_t> FileIntegrityMonitor::Poll(std::chrono::milliseconds timeout) {
  Impl& im = *impl_;
  int64_t now = MonotonicNanos();
  int wait_ms = static_cast<int>(timeout.count());
  if (!im.pending.empty()) {
    int64_t earliest = INT64_MAX;
    for (const auto& [p, t] : im.pending) earliest = std::min(earliest, t);
    wait_ms = static_cast<int>(std::clamp<int64_t>((earliest - now) / 1000000 + 1, 0, timeout.count()));
  }
  pollfd pfd{im.inotify_fd, POLLIN, 0};
  const int ready = ::poll(&pfd, 1, wait_ms);
  if (ready < 0 && errno != EINTR) return ErrnoError(errno, "fim: poll on inotify failed");
  uint64_t count = 0;
  bool overflow = false;
  alignas(inotify_event) char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(im.inotify_fd, buf, sizeof(buf));
    if (n <= 0) break;
    now = MonotonicNanos();
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
      ++count;
      if (ev->mask & IN_Q_OVERFLOW) {
        overflow = true;
        continue;
      }
      if (ev->mask & IN_IGNORED) {
        if (auto it = im.wd_to_dir.find(ev->wd); it != im.wd_to_dir.end()) {
          im.dir_to_wd.erase(it->second);
          im.wd_to_dir.erase(it);
        }
        continue;
      }
      auto it = im.wd_to_dir.find(ev->wd);
      if (it == im.wd_to_dir.end()) continue;
      std::string path = it->second;
      if (ev->len > 0 && ev->name[0] != '\0') path += (path.back() == '/' ? "" : "/") + std::string(ev->name);
      im.pending[path] = now + im.options.settle.count() * 1000000;
    }
  }
  {
    MutexLock lock(&im.stats_mu);
    im.stats.inotify_events += count;
  }
  if (overflow) {
    // The kernel dropped events: what changed is unknown, so compare everything.
    {
      MutexLock lock(&im.stats_mu);
      ++im.stats.overflows;
      ++im.stats.rescans;
    }
    log::Warn("fim", "inotify queue overflowed; rescanning every watched path");
    im.pending.clear();
    im.ReconcileAll("rescan");
    return count;
  }
  now = MonotonicNanos();
  std::vector<std::string> due;
  for (auto it = im.pending.begin(); it != im.pending.end();) {
    if (it->second <= now) {
      due.push_back(it->first);
      it = im.pending.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& path : due) im.Check(path);
  return count;
}

void FileIntegrityMonitor::Run() {
  while (!stop_.load()) {
    if (auto r = Poll(std::chrono::milliseconds(250)); !r) {
      log::Error("fim", "stopped", {{"error", r.error()}});
      return;
    }
  }
}

FimStats FileIntegrityMonitor::stats() const {
  MutexLock lock(&impl_->stats_mu);
  return impl_->stats;
}

}  // namespace rampart::host
