#pragma once
// Parsers for the text and bytes the kernel hands out under /proc and over
// the process connector. Their input is treated as hostile (a process
// chooses its own name and arguments; a forged netlink message is possible):
// malformed input gives nullopt or an empty result, never a crash. Pure
// functions, thread-safe; each has a fuzz target in tests/fuzz.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::host {

// /proc/PID/stat. comm may hold spaces and ')' (the last ')' ends it).
struct ProcStat {
  int32_t pid = 0;
  std::string comm;
  char state = '?';
  int32_t ppid = 0;
  uint64_t utime_ticks = 0;
  uint64_t stime_ticks = 0;
  uint64_t start_ticks = 0;  // Since boot, in clock ticks.
  uint64_t rss_pages = 0;
};
std::optional<ProcStat> ParseProcStat(std::string_view text);

// /proc/PID/status: the fields we use.
struct ProcStatus {
  std::string name;
  int32_t ppid = 0;
  uint32_t uid = 0;   // Real uid.
  uint32_t euid = 0;
  uint32_t gid = 0;
  bool has_uid = false;
};
std::optional<ProcStatus> ParseProcStatus(std::string_view text);

// /proc/PID/cmdline: NUL-separated argv (a trailing NUL is dropped).
std::vector<std::string> ParseCmdline(std::string_view bytes);

// One line of /proc/net/{tcp,tcp6,udp,udp6} (not the header).
struct NetSocketEntry {
  std::string local_ip;  // Printable ("0.0.0.0", "::1").
  uint16_t local_port = 0;
  std::string remote_ip;
  uint16_t remote_port = 0;
  uint8_t state = 0;     // TCP_LISTEN = 0x0A; unconnected UDP = 0x07.
  uint32_t uid = 0;
  uint64_t inode = 0;
};
std::optional<NetSocketEntry> ParseProcNetLine(std::string_view line, bool ipv6);

// /proc/meminfo: values in bytes (the file says kB).
struct MemInfo {
  uint64_t total = 0, available = 0, swap_total = 0, swap_free = 0;
};
std::optional<MemInfo> ParseMeminfo(std::string_view text);

// The aggregate "cpu " line of /proc/stat.
struct CpuTimes {
  uint64_t busy = 0;   // user + nice + system + irq + softirq + steal.
  uint64_t total = 0;  // busy + idle + iowait.
};
std::optional<CpuTimes> ParseProcStatCpu(std::string_view text);
// /proc/loadavg.
std::optional<std::array<double, 3>> ParseLoadavg(std::string_view text);

// One process-connector event (linux/cn_proc.h), from netlink message bytes.
struct ProcConnectorEvent {
  enum class Kind { kFork, kExec, kExit, kOther };
  Kind kind = Kind::kOther;
  int32_t pid = 0;         // Thread id the event is about.
  int32_t tgid = 0;        // Its process id.
  int32_t parent_tgid = 0; // Fork: the parent.
  uint32_t exit_code = 0;  // Exit: wait(2) status.
  uint64_t timestamp_ns = 0;  // Since boot.
};
// Every event in one datagram received on the connector socket (several
// netlink messages may share it). Messages that are not process events,
// truncated or with lengths that do not add up are skipped and counted in
// *malformed.
std::vector<ProcConnectorEvent> ParseProcConnectorDatagram(std::span<const uint8_t> bytes,
                                                           uint64_t* malformed = nullptr);

}  // namespace rampart::host
