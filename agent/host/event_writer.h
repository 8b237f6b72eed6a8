#pragma once
// The one writer of host events: every file, process, login, socket,
// resource and scan event becomes an EVE-style record here and goes to the
// EveSink the daemon passes in (the spool's sink in the daemon, stdout for
// `rampart-agent host --once --json` and `scan --json`).
//
// Records use Suricata's envelope (timestamp, event_type, host) and the
// project's extension of the EVE schema for their own objects
// (common/eve/rampart-eve-extension.json): event_type "file", "process",
// "auth", "socket", "stats" (host resources under stats.host) and "scan".
//
// Thread-safe: each call formats its own line and hands it to the sink in
// one Write(), which the sink serialises.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/yara/file_scan.h"
#include "agent/yara/scanner.h"
#include "common/eve/sink.h"
#include "common/status/status.h"

namespace rampart::host {

// What FIM keeps per file and reports as old/new state.
struct FileState {
  std::string sha256;  // Empty for directories, unreadable or oversized files.
  uint64_t size = 0;
  uint32_t mode = 0;   // st_mode (type and permission bits).
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime_nanos = 0;
  int64_t ctime_nanos = 0;
  uint64_t inode = 0;
  friend bool operator==(const FileState&, const FileState&) = default;
};

struct FileEvent {
  int64_t timestamp_nanos = 0;
  std::string path;
  // "created", "modified", "deleted", "attributes_changed".
  std::string action;
  // How it was found: "inotify", "startup" (changed while the agent was
  // stopped), "rescan" (after an inotify overflow) or "periodic".
  std::string detected_by;
  std::optional<FileState> old_state;
  std::optional<FileState> new_state;
  std::vector<yara::RuleMatch> yara;  // When the changed file was scanned and matched.
};

struct ProcessEvent {
  int64_t timestamp_nanos = 0;
  std::string action;           // "exec", "exit", or "running" (snapshots).
  int32_t pid = 0;
  int32_t ppid = 0;
  std::string name;             // comm.
  std::string exe;              // Executable path (" (deleted)" kept when the kernel adds it).
  std::string sha256;           // Of the executable; empty when it could not be read.
  std::vector<std::string> args;  // argv.
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string user;             // Name of uid, when known.
  int64_t start_time_nanos = 0; // Unix epoch.
  std::optional<int> exit_code; // exit: the exit status, or 128+signal.
  std::string source;           // "netlink" (process connector) or "procfs" (polling).
};

struct AuthEvent {
  int64_t timestamp_nanos = 0;
  std::string service;      // "sshd", "sudo", "su".
  std::string outcome;      // "success" or "failure".
  std::string user;         // Who authenticated (sshd, su: the account logged into / switched to
                            // is target_user for su and sudo).
  std::string target_user;  // sudo: USER=; su: the account switched to.
  std::string src_ip;       // sshd.
  uint16_t src_port = 0;
  std::string method;       // sshd: "password", "publickey", "keyboard-interactive/pam", ...
  std::string tty;
  std::string command;      // sudo: COMMAND=.
  std::string reason;       // failure: "invalid user", "wrong password", "not in sudoers", ...
  std::string hostname;     // From the log line.
  int32_t pid = 0;
  std::string origin;       // The log file, or "journal".
  std::string message;      // The original message, for analysts.
};

struct SocketEvent {
  int64_t timestamp_nanos = 0;
  std::string action;       // "listening" (snapshot), "opened", "closed".
  std::string proto;        // "tcp" or "udp".
  std::string local_ip;
  uint16_t local_port = 0;
  uint64_t inode = 0;
  uint32_t uid = 0;
  int32_t pid = 0;          // 0 when no process could be tied to it.
  std::string process;      // comm of that process.
  std::string exe;
};

struct DiskUsage {
  std::string mount;
  std::string fs_type;
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t available_bytes = 0;
};

struct ResourceSample {
  int64_t timestamp_nanos = 0;
  double cpu_percent = 0;       // All cores, since the previous sample.
  uint32_t cpu_count = 0;
  double load1 = 0, load5 = 0, load15 = 0;
  uint64_t memory_total_bytes = 0;
  uint64_t memory_available_bytes = 0;
  uint64_t swap_total_bytes = 0;
  uint64_t swap_free_bytes = 0;
  uint64_t uptime_seconds = 0;
  std::vector<DiskUsage> disks;
  uint64_t agent_rss_bytes = 0;
  double agent_cpu_percent = 0;
};

// The life of a scheduled or on-demand scan.
struct ScanReport {
  int64_t timestamp_nanos = 0;
  std::string scan_id;
  std::string state;   // "started", "paused", "resumed", "stopped", "finished".
  std::string reason;  // Why it paused or stopped ("outside scan window 01:00-05:00", "agent stopping").
  std::vector<std::string> roots;
  std::string rules_version;
  yara::ScanSummary summary;  // Counters so far.
};

// A fresh id for a scan ("scan-" + UUIDv7).
std::string NewScanId();

class EventWriter {
 public:
  struct Options {
    // Written as "host" (the agent's name) in every record; empty omits it.
    std::string host;
  };
  // `sink` is not owned and must outlive the writer.
  EventWriter(eve::EveSink* sink, Options options);

  Status WriteFile(const FileEvent& e);
  Status WriteProcess(const ProcessEvent& e);
  Status WriteAuth(const AuthEvent& e);
  Status WriteSocket(const SocketEvent& e);
  Status WriteStats(const ResourceSample& s);
  // A file scan's match or error, as a "file" record with action "yara_match"
  // or "scan_error".
  Status WriteScanResult(const std::string& scan_id, const yara::FileResult& r, int64_t timestamp_nanos = 0);
  Status WriteScanReport(const ScanReport& r);

  uint64_t records() const { return records_.load(); }
  uint64_t write_errors() const { return write_errors_.load(); }

  // The record text without writing it (tests, snapshots).
  std::string FormatFile(const FileEvent& e) const;
  std::string FormatProcess(const ProcessEvent& e) const;
  std::string FormatAuth(const AuthEvent& e) const;
  std::string FormatSocket(const SocketEvent& e) const;
  std::string FormatStats(const ResourceSample& s) const;
  std::string FormatScanResult(const std::string& scan_id, const yara::FileResult& r, int64_t ts) const;
  std::string FormatScanReport(const ScanReport& r) const;

 private:
  Status Emit(std::string line);

  eve::EveSink* sink_;
  Options options_;
  std::atomic<uint64_t> records_{0};
  std::atomic<uint64_t> write_errors_{0};
};

// "0644"-style permission bits and the file type ("file", "dir", "symlink", ...).
std::string FormatMode(uint32_t mode);
std::string FileTypeName(uint32_t mode);

}  // namespace rampart::host
