#include "agent/host/inventory.h"

#include <dirent.h>
#include <fcntl.h>
#include <mntent.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include "agent/host/procfs.h"
#include "common/util/clock.h"

namespace rampart::host {
namespace {

std::string ReadAll(const std::string& path) {
  std::string out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (64u << 20)) break;
  }
  ::close(fd);
  return out;
}

// socket inode -> pid, from the fd links of every process.
std::map<uint64_t, int32_t> SocketOwners() {
  std::map<uint64_t, int32_t> owners;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return owners;
  while (struct dirent* de = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(de->d_name, &end, 10);
    if (end == de->d_name || *end != '\0' || pid <= 0) continue;
    const std::string fd_dir = "/proc/" + std::string(de->d_name) + "/fd";
    DIR* fds = ::opendir(fd_dir.c_str());
    if (fds == nullptr) continue;
    while (struct dirent* f = ::readdir(fds)) {
      if (f->d_name[0] == '.') continue;
      char target[64];
      const ssize_t n = ::readlinkat(::dirfd(fds), f->d_name, target, sizeof(target) - 1);
      if (n <= 9) continue;
      target[n] = '\0';
      if (std::strncmp(target, "socket:[", 8) != 0) continue;
      const uint64_t inode = std::strtoull(target + 8, nullptr, 10);
      owners.emplace(inode, static_cast<int32_t>(pid));
    }
    ::closedir(fds);
  }
  ::closedir(proc);
  return owners;
}

}  // namespace

std::vector<SocketEvent> ListListeningSockets() {
  std::vector<SocketEvent> out;
  struct Table {
    const char* path;
    const char* proto;
    bool ipv6;
    uint8_t listen_state;
  };
  static constexpr Table kTables[] = {{"/proc/net/tcp", "tcp", false, 0x0A},
                                      {"/proc/net/tcp6", "tcp", true, 0x0A},
                                      {"/proc/net/udp", "udp", false, 0x07},
                                      {"/proc/net/udp6", "udp", true, 0x07}};
  const auto owners = SocketOwners();
  std::map<int32_t, std::pair<std::string, std::string>> names;  // pid -> comm, exe
  const int64_t now = WallNanos();
  for (const Table& t : kTables) {
    const std::string text = ReadAll(t.path);
    size_t pos = text.find('\n');  // Skip the header.
    while (pos != std::string::npos && pos + 1 < text.size()) {
      const size_t next = text.find('\n', pos + 1);
      const std::string_view line(text.data() + pos + 1, (next == std::string::npos ? text.size() : next) - pos - 1);
      pos = next;
      auto e = ParseProcNetLine(line, t.ipv6);
      if (!e || e->state != t.listen_state) continue;
      // A UDP socket in state 07 may be connected; listening ones have no peer.
      if (std::string_view(t.proto) == "udp" && e->remote_port != 0) continue;
      SocketEvent s;
      s.timestamp_nanos = now;
      s.action = "listening";
      s.proto = t.proto;
      s.local_ip = e->local_ip;
      s.local_port = e->local_port;
      s.inode = e->inode;
      s.uid = e->uid;
      if (auto it = owners.find(e->inode); it != owners.end()) {
        s.pid = it->second;
        auto n = names.find(s.pid);
        if (n == names.end()) {
          std::string comm;
          if (auto st = ParseProcStat(ReadAll("/proc/" + std::to_string(s.pid) + "/stat"))) comm = st->comm;
          char exe[4096];
          const ssize_t len = ::readlink(("/proc/" + std::to_string(s.pid) + "/exe").c_str(), exe, sizeof(exe));
          n = names.emplace(s.pid, std::make_pair(comm, len > 0 ? std::string(exe, static_cast<size_t>(len)) : "")).first;
        }
        s.process = n->second.first;
        s.exe = n->second.second;
      }
      out.push_back(std::move(s));
    }
  }
  return out;
}

ResourceSample ResourceSampler::Sample() {
  ResourceSample s;
  s.timestamp_nanos = WallNanos();
  const int64_t mono = MonotonicNanos();
  s.cpu_count = std::max(1u, std::thread::hardware_concurrency());
  if (auto cpu = ParseProcStatCpu(ReadAll("/proc/stat"))) {
    if (last_total_ != 0 && cpu->total > last_total_) {
      s.cpu_percent = 100.0 * static_cast<double>(cpu->busy - std::min(cpu->busy, last_busy_)) /
                      static_cast<double>(cpu->total - last_total_);
    }
    last_busy_ = cpu->busy;
    last_total_ = cpu->total;
  }
  if (auto load = ParseLoadavg(ReadAll("/proc/loadavg"))) {
    s.load1 = (*load)[0];
    s.load5 = (*load)[1];
    s.load15 = (*load)[2];
  }
  if (auto mem = ParseMeminfo(ReadAll("/proc/meminfo"))) {
    s.memory_total_bytes = mem->total;
    s.memory_available_bytes = mem->available;
    s.swap_total_bytes = mem->swap_total;
    s.swap_free_bytes = mem->swap_free;
  }
  const std::string uptime = ReadAll("/proc/uptime");
  s.uptime_seconds = static_cast<uint64_t>(std::strtod(uptime.c_str(), nullptr));
  if (auto self = ParseProcStat(ReadAll("/proc/self/stat"))) {
    const long page = ::sysconf(_SC_PAGESIZE);
    s.agent_rss_bytes = self->rss_pages * static_cast<uint64_t>(page > 0 ? page : 4096);
    const uint64_t ticks = self->utime_ticks + self->stime_ticks;
    const long hz = ::sysconf(_SC_CLK_TCK);
    if (last_sample_nanos_ != 0 && hz > 0 && mono > last_sample_nanos_) {
      const double cpu_seconds = static_cast<double>(ticks - std::min(ticks, last_self_ticks_)) / static_cast<double>(hz);
      s.agent_cpu_percent = 100.0 * cpu_seconds / (static_cast<double>(mono - last_sample_nanos_) / 1e9);
    }
    last_self_ticks_ = ticks;
  }
  last_sample_nanos_ = mono;
  // Disks.
  static const std::set<std::string> kLocal = {"ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "zfs", "f2fs"};
  std::set<std::string> wanted(mounts_.begin(), mounts_.end());
  std::set<std::string> done;
  if (FILE* f = ::setmntent("/proc/mounts", "r")) {
    struct mntent m {};
    char buf[4096];
    while (::getmntent_r(f, &m, buf, sizeof(buf)) != nullptr) {
      const std::string dir = m.mnt_dir;
      const bool take = wanted.empty() ? kLocal.count(m.mnt_type) > 0 : wanted.count(dir) > 0;
      if (!take || !done.insert(dir).second) continue;
      struct statvfs vfs {};
      if (::statvfs(m.mnt_dir, &vfs) != 0) continue;
      DiskUsage d;
      d.mount = dir;
      d.fs_type = m.mnt_type;
      d.total_bytes = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
      d.free_bytes = static_cast<uint64_t>(vfs.f_bfree) * vfs.f_frsize;
      d.available_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
      s.disks.push_back(std::move(d));
    }
    ::endmntent(f);
  }
  return s;
}

}  // namespace rampart::host
