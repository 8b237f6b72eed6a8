#pragma once
// Follows an EVE JSON file another program writes (Suricata's eve.json, or
// a test's generator) into the spool, like `tail -F`: new complete lines are
// appended together with the position after them (a spool cursor, in the
// same atomic write), so a restart or a kill -9 resumes exactly after the
// last durable line: nothing lost, nothing twice. A rotated file (new inode
// at the path) is read to its end before the new one is opened from its
// start; a truncated file is read again from the start.
//
// Lines that are not JSON objects are counted by the spool as rejected;
// lines longer than `max_line_bytes` are skipped and counted here.
//
// Thread: one per follower; Stop() from any thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "agent/store/spool.h"
#include "common/status/status.h"

namespace rampart::agent_store {

struct EveFileOptions {
  std::string path;
  // How often to look for new data when the file is idle. Lower lowers
  // latency at the cost of wakeups.
  std::chrono::milliseconds poll{200};
  size_t max_batch_lines = 2000;      // Lines per Append (one group commit).
  size_t max_line_bytes = 1u << 20;   // Longer lines are skipped.
};

struct EveFileStats {
  uint64_t lines = 0;          // Lines handed to the spool since start.
  uint64_t oversized = 0;      // Lines skipped for length.
  uint64_t rotations = 0;
  uint64_t inode = 0;          // Of the file being read.
  uint64_t offset = 0;         // Durable position in it.
};

class EveFileFollower {
 public:
  // Starts following; a missing file is waited for. kInvalidArgument for an
  // empty path.
  static Result<std::unique_ptr<EveFileFollower>> Start(const EveFileOptions& options, Spool& spool);
  virtual ~EveFileFollower() = default;
  virtual void Stop() = 0;
  virtual EveFileStats Stats() const = 0;
};

}  // namespace rampart::agent_store
