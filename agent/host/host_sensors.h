#pragma once
// The host side of the daemon: file integrity, processes, logins, listening
// sockets, resources and scheduled YARA scans, each on its own thread,
// configured from the `agent.host` and `agent.yara` sections of agent.yaml
// and writing every event through one EventWriter into the sink the daemon
// passes (the spool). State that must survive a restart (FIM baseline, scan
// cache, log positions) lives in one RocksDB under `state_dir`.
//
//   agent:
//     host:
//       fim: {paths: [/etc, /var/www], ignore: ["*.swp"], max_hash_size: 64MiB, scan_with_yara: true}
//       processes: {enabled: true, netlink: true, poll_interval: 1s}
//       logins: {enabled: true, source: auto, files: [/var/log/auth.log, /var/log/secure], journal_directory: ""}
//       sockets: {enabled: true, interval: 60s}
//       resources: {enabled: true, interval: 60s, mounts: []}
//     yara:
//       rules: [/etc/rampart/yara]
//       externals: {}
//       scan:
//         paths: [/var/www]       # empty: no scheduled scans
//         interval: 24h           # a scan starts this long after the previous one started
//         first_delay: 1m         # the first one, this long after the agent started
//         window: "01:00-05:00"   # local time; outside it a running scan pauses
//         max_duration: 6h        # a scan still running then is stopped
//         threads: 1
//         nice: 10
//         ionice: idle
//         max_rate: 20MB          # bytes per second over all scanning threads
//         cpu_max: 50             # percent of one core, as a cgroup v2 limit where one can be made
//         pause_above_cpu: 90     # pause while the host's CPU use is above this percent (0: never)
//         max_file_size: 256MiB
//         timeout: 60s
//         excludes: ["/proc/*", "/sys/*"]
//
// Start() returns once every enabled sensor runs; Stop() (or destruction)
// stops them and waits. Start/Stop on one thread; RequestScan and Snapshot
// from any thread.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/host/event_writer.h"
#include "agent/host/fim.h"
#include "agent/host/processes.h"
#include "common/eve/sink.h"
#include "common/status/status.h"

namespace rampart::config {
class Section;
}

namespace rampart::host {

struct ScanScheduleOptions {
  std::vector<std::string> paths;
  std::chrono::milliseconds interval{std::chrono::hours(24)};
  std::chrono::milliseconds first_delay{std::chrono::minutes(1)};  // After the agent starts.
  std::string window;  // "HH:MM-HH:MM" local time; empty: any time.
  std::chrono::milliseconds max_duration{std::chrono::hours(6)};  // 0: no limit.
  int threads = 1;
  int nice = 10;
  std::string ionice = "idle";
  uint64_t max_rate = 20ull * 1000 * 1000;  // Bytes per second; 0: unlimited.
  int cpu_max_percent = 0;                 // 0: no cgroup limit.
  int pause_above_cpu_percent = 0;         // 0: never pause for load.
  uint64_t max_file_size = 256ull << 20;
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  std::vector<std::string> excludes = {"/proc/*", "/sys/*", "/dev/*", "/run/*"};
};

struct HostSensorsOptions {
  std::string state_dir;   // RocksDB for baseline, scan cache and log positions.
  std::string agent_name;  // "host" in every record.

  bool fim_enabled = true;  // Runs when fim.paths is not empty.
  FimOptions fim;
  bool fim_scan_with_yara = true;

  bool processes_enabled = true;
  ProcessMonitorOptions processes;

  bool logins_enabled = true;
  std::string logins_source = "auto";  // "auto" (journal when journald runs, else files), "journal", "files".
  std::vector<std::string> login_files = {"/var/log/auth.log", "/var/log/secure"};
  // Read the journal files in this folder instead of the local journal
  // (a host journal mounted into a container, or journal-remote output).
  std::string journal_directory;
  std::chrono::milliseconds logins_poll{std::chrono::seconds(1)};

  bool sockets_enabled = true;
  std::chrono::milliseconds sockets_interval{std::chrono::seconds(60)};

  bool resources_enabled = true;
  std::chrono::milliseconds resources_interval{std::chrono::seconds(60)};
  std::vector<std::string> resource_mounts;

  std::vector<std::string> yara_rules;
  std::map<std::string, std::string> yara_externals;
  ScanScheduleOptions scan;
};

// Reads `agent.host` and `agent.yara` (each problem is recorded in the
// document with its key path and line; see common/config).
void ReadHostConfig(config::Section agent, HostSensorsOptions* out);

class HostSensors {
 public:
  // Compiles the YARA rules (errors are logged as FILE:LINE: message; a
  // rule set that does not load at all is an error when scans or FIM
  // scanning need it), opens the state database and starts every enabled
  // sensor. `sink` must outlive the sensors.
  static Result<std::unique_ptr<HostSensors>> Start(const HostSensorsOptions& options, eve::EveSink* sink);
  ~HostSensors();

  void Stop();
  // Starts an on-demand scan of `paths` now (with the scheduled scans'
  // budget); kFailedPrecondition without rules, kAlreadyExists while a
  // scan runs.
  Status RequestScan(const std::vector<std::string>& paths);
  // The latest resource sample (for heartbeats); zeroes before the first.
  ResourceSample LatestResources() const;
  const EventWriter& writer() const;

 private:
  HostSensors() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether `local_minutes` (minutes since local midnight) falls in a window
// "HH:MM-HH:MM" (which may wrap past midnight). kInvalidArgument for a bad
// window text.
Result<bool> InScanWindow(const std::string& window, int local_minutes);

// Prepares a cgroup v2 child of the agent's own cgroup whose cpu.max allows
// `cpu_percent` of one core, for threads to join (the "threaded" cgroup
// type, so scanning threads can be limited apart from the capture threads).
// Returns the cgroup.threads file to write thread ids to; an error saying
// why when no such cgroup can be made (no cgroup v2, cpu controller not
// delegated, no permission).
Result<std::string> PrepareScanCgroup(int cpu_percent);

}  // namespace rampart::host
