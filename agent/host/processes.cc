#include "agent/host/processes.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "agent/host/procfs.h"
#include "common/log/log.h"
#include "common/tls/digest.h"
#include "common/util/clock.h"
#include "common/util/mutex.h"

namespace rampart::host {
namespace {

std::optional<std::string> ReadSmallFile(const std::string& path, size_t limit = 1 << 20) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() >= limit) break;
  }
  ::close(fd);
  return out;
}

int64_t BootTimeNanos() {
  static const int64_t boot = [] {
    auto stat = ReadSmallFile("/proc/stat");
    if (!stat) return int64_t{0};
    const size_t p = stat->find("\nbtime ");
    if (p == std::string::npos) return int64_t{0};
    return static_cast<int64_t>(std::strtoll(stat->c_str() + p + 7, nullptr, 10)) * 1000000000;
  }();
  return boot;
}

std::string UserName(uint32_t uid) {
  struct passwd pw {};
  struct passwd* result = nullptr;
  char buf[1024];
  if (::getpwuid_r(uid, &pw, buf, sizeof(buf), &result) == 0 && result != nullptr) return result->pw_name;
  return "";
}

}  // namespace

std::string ExeHashCache::HashOfProcessExe(int32_t pid) {
  const std::string link = "/proc/" + std::to_string(pid) + "/exe";
  const int fd = ::open(link.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) > max_file_size_) {
    ::close(fd);
    return "";
  }
  const Key key{st.st_dev, st.st_ino, static_cast<uint64_t>(st.st_size),
                static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  {
    MutexLock lock(&mu_);
    if (auto it = hashes_.find(key); it != hashes_.end()) {
      ::close(fd);
      return it->second;
    }
  }
  auto hash = tls::Sha256OfFd(fd, link);
  ::close(fd);
  if (!hash) return "";
  MutexLock lock(&mu_);
  if (hashes_.size() > 4096) hashes_.clear();
  hashes_[key] = *hash;
  return *hash;
}

// The executable's path, or "" (kernel threads, exited processes).
static std::string ExeOf(int32_t pid) {
  char exe[4096];
  const ssize_t n = ::readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), exe, sizeof(exe) - 1);
  return n > 0 ? std::string(exe, static_cast<size_t>(n)) : std::string();
}

std::optional<ProcessEvent> ReadProcess(int32_t pid, ExeHashCache* hashes) {
  const std::string dir = "/proc/" + std::to_string(pid);
  auto stat_text = ReadSmallFile(dir + "/stat");
  if (!stat_text) return std::nullopt;
  auto st = ParseProcStat(*stat_text);
  if (!st) return std::nullopt;
  ProcessEvent e;
  e.timestamp_nanos = WallNanos();
  e.action = "running";
  e.pid = pid;
  e.ppid = st->ppid;
  e.name = st->comm;
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  if (ticks > 0) {
    e.start_time_nanos = BootTimeNanos() + static_cast<int64_t>(st->start_ticks) * (1000000000 / ticks);
  }
  if (auto status = ReadSmallFile(dir + "/status")) {
    if (auto parsed = ParseProcStatus(*status); parsed && parsed->has_uid) {
      e.uid = parsed->uid;
      e.gid = parsed->gid;
      e.user = UserName(parsed->uid);
    }
  }
  // The process may exec between these reads (a poll often meets a child
  // between its fork and its exec): the executable is read before and after
  // the command line, and the pair is read again until both reads agree and
  // the command line is there (it is empty while an exec is under way).
  // Kernel threads have neither.
  auto read_exe = [pid] { return ExeOf(pid); };
  for (int attempt = 0; attempt < 20; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::microseconds(500));
    const std::string before = read_exe();
    e.args.clear();
    if (auto cmdline = ReadSmallFile(dir + "/cmdline", 64 * 1024)) e.args = ParseCmdline(*cmdline);
    e.exe = read_exe();
    if (before == e.exe && (!e.args.empty() || e.exe.empty())) break;
  }
  if (hashes != nullptr && !e.exe.empty()) e.sha256 = hashes->HashOfProcessExe(pid);
  return e;
}

std::vector<ProcessEvent> ListProcesses(ExeHashCache* hashes) {
  std::vector<int32_t> pids;
  if (DIR* dp = ::opendir("/proc")) {
    while (struct dirent* de = ::readdir(dp)) {
      char* end = nullptr;
      const long pid = std::strtol(de->d_name, &end, 10);
      if (end != de->d_name && *end == '\0' && pid > 0) pids.push_back(static_cast<int32_t>(pid));
    }
    ::closedir(dp);
  }
  std::sort(pids.begin(), pids.end());
  std::vector<ProcessEvent> out;
  for (int32_t pid : pids) {
    if (auto p = ReadProcess(pid, hashes)) out.push_back(std::move(*p));
  }
  return out;
}

Result<std::unique_ptr<ProcessMonitor>> ProcessMonitor::Create(ProcessMonitorOptions options, EventWriter* writer) {
  std::unique_ptr<ProcessMonitor> m(new ProcessMonitor());
  m->options_ = options;
  m->writer_ = writer;
  m->hashes_ = std::make_unique<ExeHashCache>(options.max_hash_size);
  return m;
}

ProcessMonitor::~ProcessMonitor() {
  if (fd_ >= 0) ::close(fd_);
}

Status ProcessMonitor::Start() {
  if (options_.use_netlink) {
    const int fd = ::socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
    Status failure;
    if (fd < 0) {
      failure = ErrnoError(errno, "cannot open the process connector");
    } else {
      sockaddr_nl addr{};
      addr.nl_family = AF_NETLINK;
      addr.nl_groups = CN_IDX_PROC;
      const int rcvbuf = 4 << 20;
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
      if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        failure = ErrnoError(errno, "cannot bind the process connector");
      } else {
        // nlmsghdr | cn_msg | proc_cn_mcast_op, laid out by hand (cn_msg ends
        // in a flexible array, so it cannot be a struct member).
        alignas(nlmsghdr) uint8_t req[NLMSG_HDRLEN + sizeof(cn_msg) + sizeof(proc_cn_mcast_op)] = {};
        nlmsghdr h{};
        h.nlmsg_len = sizeof(req);
        h.nlmsg_type = NLMSG_DONE;
        h.nlmsg_pid = static_cast<uint32_t>(::getpid());
        cn_msg m{};
        m.id.idx = CN_IDX_PROC;
        m.id.val = CN_VAL_PROC;
        m.len = sizeof(proc_cn_mcast_op);
        const proc_cn_mcast_op op = PROC_CN_MCAST_LISTEN;
        std::memcpy(req, &h, sizeof(h));
        std::memcpy(req + NLMSG_HDRLEN, &m, sizeof(m));
        std::memcpy(req + NLMSG_HDRLEN + sizeof(cn_msg), &op, sizeof(op));
        if (::send(fd, req, sizeof(req), 0) < 0) failure = ErrnoError(errno, "cannot subscribe to process events");
      }
      if (failure.ok()) {
        fd_ = fd;
        source_ = "netlink";
      } else {
        ::close(fd);
      }
    }
    if (!failure.ok()) {
      log::Warn("process", "process connector unavailable; polling /proc instead",
                {{"error", failure}, {"interval_ms", options_.poll_interval.count()}});
    }
  }
  if (fd_ < 0) source_ = "procfs";
  Sweep(false);  // Learn what runs now; only what starts later is an exec.
  return Status::Ok();
}

void ProcessMonitor::Sweep(bool report) {
  std::map<int32_t, Known> now;
  if (DIR* dp = ::opendir("/proc")) {
    while (struct dirent* de = ::readdir(dp)) {
      char* end = nullptr;
      const long pid = std::strtol(de->d_name, &end, 10);
      if (end == de->d_name || *end != '\0' || pid <= 0) continue;
      auto text = ReadSmallFile("/proc/" + std::string(de->d_name) + "/stat");
      if (!text) continue;
      auto st = ParseProcStat(*text);
      if (!st) continue;
      Known k;
      k.start_ticks = st->start_ticks;
      k.name = st->comm;
      auto it = known_.find(static_cast<int32_t>(pid));
      // The same process (same start time) under the same name: nothing new.
      // A new name is an exec since the last sweep; a sweep that met the
      // child between its fork and its exec reported the parent's program.
      // A program renaming itself (prctl) keeps its executable.
      if (it != known_.end() && it->second.start_ticks == k.start_ticks &&
          (it->second.name == k.name || ExeOf(static_cast<int32_t>(pid)) == it->second.exe)) {
        now[static_cast<int32_t>(pid)] = it->second;
        now[static_cast<int32_t>(pid)].name = k.name;
        continue;
      }
      if (report) {
        if (auto p = ReadProcess(static_cast<int32_t>(pid), hashes_.get())) {
          p->action = "exec";
          p->source = source_;
          k.exe = p->exe;
          (void)writer_->WriteProcess(*p);
          MutexLock lock(&stats_mu_);
          ++stats_.execs;
        }
      }
      now[static_cast<int32_t>(pid)] = std::move(k);
    }
    ::closedir(dp);
  }
  if (report && options_.report_exit) {
    for (const auto& [pid, k] : known_) {
      auto it = now.find(pid);
      if (it != now.end() && it->second.start_ticks == k.start_ticks) continue;
      ProcessEvent e;
      e.timestamp_nanos = WallNanos();
      e.action = "exit";
      e.pid = pid;
      e.name = k.name;
      e.exe = k.exe;
      e.source = source_;
      (void)writer_->WriteProcess(e);
      MutexLock lock(&stats_mu_);
      ++stats_.exits;
    }
  }
  known_ = std::move(now);
}

Result<uint64_t> ProcessMonitor::Poll(std::chrono::milliseconds timeout) {
  return fd_ >= 0 ? PollNetlink(timeout) : PollProcfs(timeout);
}

Result<uint64_t> ProcessMonitor::PollProcfs(std::chrono::milliseconds timeout) {
  const int64_t now = MonotonicNanos();
  if (now < next_sweep_) {
    const int64_t wait = std::min<int64_t>(next_sweep_ - now, timeout.count() * 1000000);
    ::usleep(static_cast<useconds_t>(wait / 1000));
    if (MonotonicNanos() < next_sweep_) return 0;
  }
  const uint64_t before = stats().execs + stats().exits;
  Sweep(true);
  next_sweep_ = MonotonicNanos() + options_.poll_interval.count() * 1000000;
  return stats().execs + stats().exits - before;
}

Result<uint64_t> ProcessMonitor::PollNetlink(std::chrono::milliseconds timeout) {
  pollfd pfd{fd_, POLLIN, 0};
  const int ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  if (ready < 0 && errno != EINTR) return ErrnoError(errno, "process connector: poll failed");
  uint64_t written = 0;
  alignas(nlmsghdr) uint8_t buf[16384];
  for (;;) {
    sockaddr_nl from{};
    socklen_t from_len = sizeof(from);
    const ssize_t n = ::recvfrom(fd_, buf, sizeof(buf), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        // The kernel dropped events: catch up from /proc.
        {
          MutexLock lock(&stats_mu_);
          ++stats_.netlink_overruns;
        }
        Sweep(true);
        continue;
      }
      break;  // EAGAIN: drained.
    }
    if (from.nl_pid != 0) continue;  // Only the kernel speaks on this group.
    uint64_t malformed = 0;
    const auto events = ParseProcConnectorDatagram(std::span<const uint8_t>(buf, static_cast<size_t>(n)), &malformed);
    if (malformed > 0) {
      MutexLock lock(&stats_mu_);
      stats_.netlink_malformed += malformed;
    }
    for (const ProcConnectorEvent& ev : events) {
      if (ev.kind == ProcConnectorEvent::Kind::kExec && ev.pid == ev.tgid) {
        auto p = ReadProcess(ev.tgid, hashes_.get());
        ProcessEvent e;
        if (p) {
          e = std::move(*p);
        } else {
          e.timestamp_nanos = WallNanos();
          e.pid = ev.tgid;
          MutexLock lock(&stats_mu_);
          ++stats_.gone_before_read;
        }
        e.action = "exec";
        e.source = "netlink";
        Known k;
        k.name = e.name;
        k.exe = e.exe;
        if (auto text = ReadSmallFile("/proc/" + std::to_string(ev.tgid) + "/stat")) {
          if (auto st = ParseProcStat(*text)) k.start_ticks = st->start_ticks;
        }
        known_[ev.tgid] = std::move(k);
        (void)writer_->WriteProcess(e);
        ++written;
        MutexLock lock(&stats_mu_);
        ++stats_.execs;
      } else if (ev.kind == ProcConnectorEvent::Kind::kExit && ev.pid == ev.tgid) {
        auto it = known_.find(ev.tgid);
        if (options_.report_exit) {
          ProcessEvent e;
          e.timestamp_nanos = WallNanos();
          e.action = "exit";
          e.pid = ev.tgid;
          const int status = static_cast<int>(ev.exit_code);
          e.exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
          if (it != known_.end()) {
            e.name = it->second.name;
            e.exe = it->second.exe;
          }
          e.source = "netlink";
          (void)writer_->WriteProcess(e);
          ++written;
          MutexLock lock(&stats_mu_);
          ++stats_.exits;
        }
        if (it != known_.end()) known_.erase(it);
      } else if (ev.kind == ProcConnectorEvent::Kind::kFork && ev.pid == ev.tgid) {
        // A new process that has not exec'd yet: remember it for its exit.
        Known k;
        if (auto parent = known_.find(ev.parent_tgid); parent != known_.end()) {
          k.name = parent->second.name;
          k.exe = parent->second.exe;
        }
        known_[ev.tgid] = std::move(k);
      }
    }
  }
  return written;
}

void ProcessMonitor::Run() {
  while (!stop_.load()) {
    if (auto r = Poll(std::chrono::milliseconds(250)); !r) {
      log::Error("process", "stopped", {{"error", r.error()}});
      return;
    }
  }
}

ProcessMonitorStats ProcessMonitor::stats() const {
  MutexLock lock(&stats_mu_);
  return stats_;
}

}  // namespace rampart::host
