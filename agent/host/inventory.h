#pragma once
// Point-in-time views of the host: listening sockets with the process that
// holds each, and resources (CPU, memory, disks, load). Read from /proc and
// statvfs; thread-safe except ResourceSampler (one caller at a time).

#include <cstdint>
#include <vector>

#include "agent/host/event_writer.h"

namespace rampart::host {

// TCP sockets in LISTEN and bound UDP sockets, IPv4 and IPv6, each with the
// pid/comm/exe owning it (found through /proc/*/fd; 0 when none is visible).
std::vector<SocketEvent> ListListeningSockets();

// CPU percent needs two readings: the first Sample() reports 0.
class ResourceSampler {
 public:
  // Mounts whose usage is reported; empty: every mounted local file system
  // (ext2/3/4, xfs, btrfs, vfat, zfs, f2fs).
  explicit ResourceSampler(std::vector<std::string> mounts = {}) : mounts_(std::move(mounts)) {}
  ResourceSample Sample();

 private:
  std::vector<std::string> mounts_;
  uint64_t last_busy_ = 0, last_total_ = 0;
  uint64_t last_self_ticks_ = 0;
  int64_t last_sample_nanos_ = 0;
};

}  // namespace rampart::host
