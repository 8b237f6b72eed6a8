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
#include "common/metrics/counters.h"
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

#define RAMPART_EVE_FILE_COUNTERS(X)                                  \
  X(kCounter, lines, "", "lines handed to the spool since start")    \
  X(kGauge, offset, "", "durable position in the file being read")   \
  X(kGauge, inode, "", "inode of the file being read")               \
  X(kCounter, oversized, "", "lines skipped for length")             \
  X(kCounter, rotations, "", "times the file was rotated")

struct EveFileStats {
  RAMPART_COUNTERS(EveFileStats, "eve_file", RAMPART_EVE_FILE_COUNTERS)
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
