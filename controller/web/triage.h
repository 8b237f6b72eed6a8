#pragma once
// Analysts' triage of alerts: status (new, acknowledged, closed with a
// reason), assignee and comments, kept beside the alert store in the web
// module's own RocksDB (`<data_dir>/web`, column family "triage"), keyed by
// the alert's EventId ("AGENT:SEQ"). The alert store itself is never
// modified: triage is the analysts' state, alerts are evidence.
//
// Thread-safe.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status/status.h"

namespace rampart::web {

struct TriageComment {
  std::string user;
  int64_t time_nanos = 0;
  std::string text;
};

struct Triage {
  std::string status = "new";  // "new", "acknowledged", "closed".
  std::string assignee;
  std::string close_reason;    // "false_positive", "resolved", "duplicate", "benign" or free text.
  std::vector<TriageComment> comments;
  std::string updated_by;
  int64_t updated_nanos = 0;
};

struct TriageChange {
  std::string action;  // "ack", "assign", "close", "reopen", "comment".
  std::string assignee;
  std::string reason;
  std::string comment;
};

class TriageStore {
 public:
  // kUnavailable when the database is locked by another process.
  static Result<std::unique_ptr<TriageStore>> Open(const std::string& path);
  virtual ~TriageStore() = default;
  // The default (status "new") for alerts never triaged.
  virtual Result<Triage> Get(const std::string& alert_id) const = 0;
  virtual Result<std::vector<Triage>> GetMany(const std::vector<std::string>& alert_ids) const = 0;
  // Applies one change to every id atomically. kInvalidArgument for an
  // unknown action, a close without reason, an empty comment.
  virtual Status Apply(const std::vector<std::string>& alert_ids, const TriageChange& change,
                       const std::string& user, int64_t now_nanos) = 0;
};

}  // namespace rampart::web
