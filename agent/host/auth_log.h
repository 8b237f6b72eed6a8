#pragma once
// Logins from syslog text: sshd, sudo and su successes and failures, in the
// two formats auth.log is written in:
//   BSD (RFC 3164):    "Feb 21 21:54:44 web-01 sshd[3402]: Accepted password for ..."
//   ISO (rsyslog's RSYSLOG_FileFormat, Debian 12's default):
//                      "2026-11-21T21:54:44.123456+07:00 web-01 sshd[3402]: ..."
// and RFC 5424 lines ("<38>1 2026-11-21T... web-01 sshd 3402 - - message").
// Every parser treats the line as hostile text: anything it does not
// recognise is nullopt, never an error. Thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "agent/host/event_writer.h"
#include "common/status/status.h"

namespace rampart::host {

struct SyslogLine {
  int64_t timestamp_nanos = 0;  // 0 when the line had no parsable time.
  std::string hostname;
  std::string program;          // "sshd", "sudo", "su" (without [pid]).
  int32_t pid = 0;
  std::string message;
};

// `now_nanos` and `utc_offset_seconds` resolve BSD timestamps, which carry
// neither year nor zone: the year is the one that puts the time no more
// than a day in the future, the zone is the local one.
std::optional<SyslogLine> ParseSyslogLine(std::string_view line, int64_t now_nanos, int utc_offset_seconds);

// The login event in one message of sshd, sudo or su, or nullopt when the
// message is not a login outcome (session lines, PAM duplicates of a line
// that is reported, other programs).
std::optional<AuthEvent> ParseAuthMessage(const SyslogLine& line);

// Both steps, with the origin recorded.
std::optional<AuthEvent> ParseAuthLine(std::string_view line, int64_t now_nanos, int utc_offset_seconds,
                                       std::string_view origin);

// Follows a log file as `tail -F` does: reads complete lines appended since
// the last call, notices rotation (a new inode at the path) and truncation,
// and finishes the old file before the new one. The position (inode,
// offset) can be saved and restored so a restart neither repeats nor skips.
// One thread uses an AuthLogTail.
class LogTail {
 public:
  struct Position {
    uint64_t inode = 0;
    uint64_t offset = 0;
  };
  // `start_at_end`: with no saved position, begin at the current end (the
  // daemon) rather than the start (tests, one-off reads).
  LogTail(std::string path, bool start_at_end);
  ~LogTail();
  LogTail(const LogTail&) = delete;
  LogTail& operator=(const LogTail&) = delete;

  void Restore(Position p) { position_ = p; restored_ = true; }
  Position position() const { return position_; }
  const std::string& path() const { return path_; }

  // Calls `on_line` for each complete new line (without '\n'). Returns how
  // many lines it read; kNotFound while the file does not exist.
  Result<uint64_t> Poll(const std::function<void(std::string_view)>& on_line, uint64_t max_lines = 100000);

 private:
  std::string path_;
  bool start_at_end_;
  bool restored_ = false;
  int fd_ = -1;
  Position position_;
  std::string partial_;
};

}  // namespace rampart::host
