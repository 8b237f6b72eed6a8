#include "agent/host/host_sensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "agent/host/auth_log.h"
#include "agent/host/inventory.h"
#include "agent/yara/file_scan.h"
#include "agent/yara/rules.h"
#include "agent/yara/scan_cache.h"
#include "common/config/config.h"
#include "common/log/log.h"
#include "common/rocks/rocks.h"
#include "common/util/clock.h"
#include "common/util/mutex.h"

#ifdef RAMPART_HAVE_SYSTEMD
#include <systemd/sd-journal.h>
#endif

namespace rampart::host {
namespace {

constexpr std::string_view kStateFamily = "host_state";

int LocalUtcOffsetSeconds() {
  const time_t now = ::time(nullptr);
  struct tm local {};
  ::localtime_r(&now, &local);
  return static_cast<int>(local.tm_gmtoff);
}

int LocalMinutesNow() {
  const time_t now = ::time(nullptr);
  struct tm local {};
  ::localtime_r(&now, &local);
  return local.tm_hour * 60 + local.tm_min;
}

Result<int> ParseClockMinutes(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') return InvalidArgumentError("want HH:MM, got '" + std::string(s) + "'");
  const int h = (s[0] - '0') * 10 + (s[1] - '0');
  const int m = (s[3] - '0') * 10 + (s[4] - '0');
  for (char c : {s[0], s[1], s[3], s[4]}) {
    if (c < '0' || c > '9') return InvalidArgumentError("want HH:MM, got '" + std::string(s) + "'");
  }
  if (h > 23 || m > 59) return InvalidArgumentError("want HH:MM, got '" + std::string(s) + "'");
  return h * 60 + m;
}

std::string ReadSmall(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Result<bool> InScanWindow(const std::string& window, int local_minutes) {
  if (window.empty()) return true;
  const auto dash = window.find('-');
  if (dash == std::string::npos) return InvalidArgumentError("scan window must be HH:MM-HH:MM, got '" + window + "'");
  RAMPART_ASSIGN_OR_RETURN(const int start, ParseClockMinutes(window.substr(0, dash)));
  RAMPART_ASSIGN_OR_RETURN(const int end, ParseClockMinutes(window.substr(dash + 1)));
  if (start == end) return true;
  if (start < end) return local_minutes >= start && local_minutes < end;
  return local_minutes >= start || local_minutes < end;  // Wraps past midnight.
}

Result<std::string> PrepareScanCgroup(int cpu_percent) {
  if (cpu_percent <= 0) return InvalidArgumentError("cpu_max must be a positive percent");
  // The unified (v2) hierarchy and our place in it ("0::/system.slice/rampart-agent.service").
  std::string mount;
  {
    std::ifstream mounts("/proc/mounts");
    std::string dev, dir, type;
    std::string rest;
    while (mounts >> dev >> dir >> type && std::getline(mounts, rest)) {
      if (type == "cgroup2") {
        mount = dir;
        break;
      }
    }
  }
  if (mount.empty()) return UnavailableError("no cgroup v2 hierarchy is mounted");
  std::string own;
  {
    std::ifstream cg("/proc/self/cgroup");
    for (std::string line; std::getline(cg, line);) {
      if (line.rfind("0::", 0) == 0) own = line.substr(3);
    }
  }
  if (own.empty()) return UnavailableError("this process has no cgroup v2 membership");
  const std::string parent = mount + (own == "/" ? "" : own);
  // The cpu controller must be available to our cgroup (delegated by systemd).
  bool has_cpu = false;
  std::istringstream words(ReadSmall(parent + "/cgroup.controllers"));
  for (std::string w; words >> w;) has_cpu = has_cpu || w == "cpu";
  if (!has_cpu) {
    return UnavailableError("the cpu controller is not available in " + parent +
                            " (systemd: Delegate=cpu in the unit)");
  }
  const std::string child = parent + "/rampart-scan";
  if (::mkdir(child.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoError(errno, "cannot create cgroup " + child);
  auto write = [](const std::string& path, const std::string& value) -> Status {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError(errno, "cannot open " + path);
    const ssize_t n = ::write(fd, value.data(), value.size());
    const int e = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(value.size())) return ErrnoError(e, "cannot write '" + value + "' to " + path);
    return Status::Ok();
  };
  RAMPART_RETURN_IF_ERROR(write(child + "/cgroup.type", "threaded"));
  RAMPART_RETURN_IF_ERROR(write(parent + "/cgroup.subtree_control", "+cpu"));
  RAMPART_RETURN_IF_ERROR(write(child + "/cpu.max", std::to_string(cpu_percent * 1000) + " 100000"));
  return child + "/cgroup.threads";
}

void ReadHostConfig(config::Section agent, HostSensorsOptions* out) {
  using std::chrono::milliseconds;
  config::Section host = agent.Child("host");
  config::Section fim = host.Child("fim");
  fim.StringList("paths", &out->fim.paths);
  fim.StringList("ignore", &out->fim.ignore);
  fim.ByteSize("max_hash_size", &out->fim.max_hash_size, 0, 1ull << 40);
  fim.Duration("settle", &out->fim.settle, milliseconds(0), milliseconds(60000));
  fim.Bool("scan_with_yara", &out->fim_scan_with_yara);
  for (const auto& p : out->fim.paths) {
    if (p.empty() || p[0] != '/') fim.Problem("paths", "'" + p + "' is not an absolute path");
  }
  config::Section proc = host.Child("processes");
  proc.Bool("enabled", &out->processes_enabled);
  proc.Bool("netlink", &out->processes.use_netlink);
  proc.Duration("poll_interval", &out->processes.poll_interval, milliseconds(100), milliseconds(3600000));
  proc.Bool("report_exit", &out->processes.report_exit);
  config::Section logins = host.Child("logins");
  logins.Bool("enabled", &out->logins_enabled);
  logins.OneOf("source", &out->logins_source, {"auto", "journal", "files"});
  logins.StringList("files", &out->login_files);
  logins.String("journal_directory", &out->journal_directory);
  logins.Duration("poll_interval", &out->logins_poll, milliseconds(50), milliseconds(60000));
  config::Section sockets = host.Child("sockets");
  sockets.Bool("enabled", &out->sockets_enabled);
  sockets.Duration("interval", &out->sockets_interval, milliseconds(1000), milliseconds(86400000));
  config::Section res = host.Child("resources");
  res.Bool("enabled", &out->resources_enabled);
  res.Duration("interval", &out->resources_interval, milliseconds(1000), milliseconds(86400000));
  res.StringList("mounts", &out->resource_mounts);

  config::Section yara = agent.Child("yara");
  yara.StringList("rules", &out->yara_rules);
  yara.StringMap("externals", &out->yara_externals);
  config::Section scan = yara.Child("scan");
  ScanScheduleOptions& s = out->scan;
  scan.StringList("paths", &s.paths);
  scan.Duration("interval", &s.interval, milliseconds(1000), milliseconds(365LL * 86400000));
  scan.Duration("first_delay", &s.first_delay, milliseconds(0), milliseconds(365LL * 86400000));
  scan.String("window", &s.window);
  if (!s.window.empty()) {
    if (auto w = InScanWindow(s.window, 0); !w) scan.Problem("window", w.error().message());
  }
  scan.Duration("max_duration", &s.max_duration, milliseconds(0), milliseconds(365LL * 86400000));
  scan.Int("threads", &s.threads, 1, 64);
  scan.Int("nice", &s.nice, 0, 19);
  scan.OneOf("ionice", &s.ionice, {"", "idle", "best-effort", "best-effort:0", "best-effort:1", "best-effort:2",
                                   "best-effort:3", "best-effort:4", "best-effort:5", "best-effort:6",
                                   "best-effort:7"});
  scan.ByteSize("max_rate", &s.max_rate, 0, 1ull << 40);
  scan.Int("cpu_max", &s.cpu_max_percent, 0, 6400);
  scan.Int("pause_above_cpu", &s.pause_above_cpu_percent, 0, 100);
  scan.ByteSize("max_file_size", &s.max_file_size, 0, 1ull << 40);
  scan.Duration("timeout", &s.timeout, milliseconds(1000), milliseconds(86400000));
  scan.StringList("excludes", &s.excludes);
  if (!s.paths.empty() && out->yara_rules.empty()) {
    scan.Problem("paths", "scheduled scans need agent.yara.rules");
  }
}

struct HostSensors::Impl {
  HostSensorsOptions options;
  std::unique_ptr<EventWriter> writer;
  std::unique_ptr<rocks::Database> db;
  rocksdb::ColumnFamilyHandle* state_cf = nullptr;
  std::shared_ptr<const yara::RuleSet> rules;
  std::unique_ptr<yara::ScanCache> cache;
  std::unique_ptr<FileIntegrityMonitor> fim;
  std::unique_ptr<ProcessMonitor> processes;
  std::vector<std::thread> threads;

  Mutex mu;
  CondVar cv;
  bool stopping GUARDED_BY(mu) = false;
  std::vector<std::string> requested_scan GUARDED_BY(mu);  // On-demand paths.
  yara::FileScan* current_scan GUARDED_BY(mu) = nullptr;
  ResourceSample latest GUARDED_BY(mu);
  std::string cgroup_threads;
  std::string cgroup_problem;

  // False when stopping (at once, or while waiting).
  bool WaitFor(std::chrono::milliseconds d) EXCLUDES(mu) {
    const auto deadline = std::chrono::steady_clock::now() + d;
    MutexLock lock(&mu);
    while (!stopping) {
      if (!cv.WaitUntil(&mu, deadline)) return !stopping;
    }
    return false;
  }
  bool Stopping() EXCLUDES(mu) {
    MutexLock lock(&mu);
    return stopping;
  }

  void SavePosition(const std::string& key, const std::string& value) {
    (void)db->Put(state_cf, key, value);
  }
  std::optional<std::string> LoadPosition(const std::string& key) {
    auto v = db->Get(state_cf, key);
    if (!v) return std::nullopt;
    return *v;
  }

  // ---- logins ----
  void RunLoginFiles() {
    std::vector<std::unique_ptr<LogTail>> tails;
    for (const auto& path : options.login_files) {
      auto tail = std::make_unique<LogTail>(path, /*start_at_end=*/true);
      if (auto saved = LoadPosition("logtail:" + path); saved && saved->size() == 16) {
        tail->Restore({rocks::ReadBigEndian64(saved->substr(0, 8)), rocks::ReadBigEndian64(saved->substr(8, 8))});
      }
      tails.push_back(std::move(tail));
    }
    std::set<std::string> missing_logged;
    uint64_t unparsed = 0;
    int64_t last_report = MonotonicNanos();
    do {
      for (auto& tail : tails) {
        const int offset = LocalUtcOffsetSeconds();
        auto n = tail->Poll([&](std::string_view line) {
          if (auto e = ParseAuthLine(line, WallNanos(), offset, tail->path())) {
            (void)writer->WriteAuth(*e);
          } else {
            ++unparsed;
          }
        });
        if (!n) {
          if (missing_logged.insert(tail->path()).second && n.error().code() != StatusCode::kNotFound) {
            log::Warn("logins", "cannot read log", {{"path", tail->path()}, {"error", n.error()}});
          }
          continue;
        }
        if (*n > 0) {
          std::string v;
          rocks::AppendBigEndian64(&v, tail->position().inode);
          rocks::AppendBigEndian64(&v, tail->position().offset);
          SavePosition("logtail:" + tail->path(), v);
        }
      }
      if (MonotonicNanos() - last_report > 600LL * 1000000000) {
        log::Debug("logins", "lines that were not logins", {{"count", unparsed}});
        last_report = MonotonicNanos();
      }
    } while (WaitFor(options.logins_poll));
  }

#ifdef RAMPART_HAVE_SYSTEMD
  void RunJournal() {
    sd_journal* j = nullptr;
    const int rc = options.journal_directory.empty()
                       ? sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM)
                       : sd_journal_open_directory(&j, options.journal_directory.c_str(), 0);
    if (rc < 0) {
      log::Warn("logins", "cannot open the journal; reading log files instead", {{"errno", -rc}});
      RunLoginFiles();
      return;
    }
    for (const char* id : {"sshd", "sshd-session", "sudo", "su"}) {
      const std::string m = std::string("SYSLOG_IDENTIFIER=") + id;
      sd_journal_add_match(j, m.c_str(), 0);
    }
    if (auto cursor = LoadPosition("journal:cursor"); cursor && sd_journal_seek_cursor(j, cursor->c_str()) == 0) {
      sd_journal_next(j);  // The saved entry itself was handled.
    } else {
      sd_journal_seek_tail(j);
      sd_journal_previous(j);
    }
    auto field = [&](const char* name) -> std::string {
      const void* data = nullptr;
      size_t len = 0;
      if (sd_journal_get_data(j, name, &data, &len) < 0) return "";
      std::string_view v(static_cast<const char*>(data), len);
      const size_t eq = v.find('=');
      return eq == std::string_view::npos ? "" : std::string(v.substr(eq + 1));
    };
    while (!Stopping()) {
      bool any = false;
      while (sd_journal_next(j) > 0) {
        any = true;
        SyslogLine line;
        uint64_t usec = 0;
        sd_journal_get_realtime_usec(j, &usec);
        line.timestamp_nanos = static_cast<int64_t>(usec) * 1000;
        line.program = field("SYSLOG_IDENTIFIER");
        line.hostname = field("_HOSTNAME");
        line.message = field("MESSAGE");
        const std::string pid = field("_PID");
        line.pid = pid.empty() ? 0 : std::atoi(pid.c_str());
        if (auto e = ParseAuthMessage(line)) {
          e->origin = "journal";
          (void)writer->WriteAuth(*e);
        }
      }
      if (any) {
        char* cursor = nullptr;
        if (sd_journal_get_cursor(j, &cursor) >= 0 && cursor != nullptr) {
          SavePosition("journal:cursor", cursor);
          free(cursor);
        }
      }
      sd_journal_wait(j, 500000);
    }
    sd_journal_close(j);
  }
#endif

  void RunLogins() {
    std::string source = options.logins_source;
    if (source == "auto") {
      struct stat st {};
      source = (::stat("/run/systemd/journal/socket", &st) == 0 || !options.journal_directory.empty()) ? "journal"
                                                                                                       : "files";
    }
#ifdef RAMPART_HAVE_SYSTEMD
    if (source == "journal") {
      RunJournal();
      return;
    }
#else
    if (source == "journal") log::Warn("logins", "built without libsystemd; reading log files instead");
#endif
    RunLoginFiles();
  }

  // ---- sockets and resources ----
  void RunInventory() {
    ResourceSampler sampler(options.resource_mounts);
    std::set<std::tuple<std::string, std::string, uint16_t, uint64_t>> known;
    bool first = true;
    int64_t next_sockets = 0, next_resources = 0;
    do {
      const int64_t now = MonotonicNanos();
      if (options.resources_enabled && now >= next_resources) {
        ResourceSample s = sampler.Sample();
        (void)writer->WriteStats(s);
        {
          MutexLock lock(&mu);
          latest = s;
        }
        next_resources = now + options.resources_interval.count() * 1000000;
      }
      if (options.sockets_enabled && now >= next_sockets) {
        auto sockets = ListListeningSockets();
        std::set<std::tuple<std::string, std::string, uint16_t, uint64_t>> seen;
        std::map<std::tuple<std::string, std::string, uint16_t, uint64_t>, SocketEvent> by_key;
        for (auto& s : sockets) {
          auto key = std::make_tuple(s.proto, s.local_ip, s.local_port, s.inode);
          seen.insert(key);
          if (first || !known.count(key)) {
            s.action = first ? "listening" : "opened";
            (void)writer->WriteSocket(s);
          }
        }
        for (const auto& key : known) {
          if (seen.count(key)) continue;
          SocketEvent closed;
          closed.timestamp_nanos = WallNanos();
          closed.action = "closed";
          closed.proto = std::get<0>(key);
          closed.local_ip = std::get<1>(key);
          closed.local_port = std::get<2>(key);
          closed.inode = std::get<3>(key);
          (void)writer->WriteSocket(closed);
        }
        known = std::move(seen);
        first = false;
        next_sockets = now + options.sockets_interval.count() * 1000000;
      }
    } while (WaitFor(std::chrono::milliseconds(500)));
  }

  // ---- scans ----
  void Report(const std::string& id, const std::string& state, const std::string& reason,
              const std::vector<std::string>& roots, const yara::ScanSummary& summary) {
    ScanReport r;
    r.scan_id = id;
    r.state = state;
    r.reason = reason;
    r.roots = roots;
    r.rules_version = rules ? rules->version() : "";
    r.summary = summary;
    (void)writer->WriteScanReport(r);
    log::Info("scan", state, {{"scan_id", id}, {"reason", reason}, {"files_scanned", summary.files_scanned},
                              {"files_matched", summary.files_matched}});
  }

  void RunOneScan(const std::vector<std::string>& roots, const std::string& trigger) {
    const ScanScheduleOptions& s = options.scan;
    yara::FileScanOptions fo;
    fo.threads = s.threads;
    fo.nice = s.nice;
    fo.ionice = s.ionice;
    fo.max_bytes_per_second = s.max_rate;
    fo.max_file_size = s.max_file_size;
    fo.timeout = std::chrono::duration_cast<std::chrono::seconds>(s.timeout);
    fo.excludes = s.excludes;
    fo.one_file_system = false;
    fo.cache = cache.get();
    fo.cgroup_threads_file = cgroup_threads;
    yara::FileScan scan(rules, fo);
    const std::string id = NewScanId();
    Report(id, "started", trigger + (cgroup_problem.empty() ? "" : "; cgroup limit not applied: " + cgroup_problem),
           roots, {});
    {
      MutexLock lock(&mu);
      current_scan = &scan;
    }
    // The supervisor: windows, host load, the duration limit, shutdown.
    std::atomic<bool> done{false};
    std::thread supervisor([&] {
      const int64_t start = MonotonicNanos();
      ResourceSampler load;
      (void)load.Sample();
      std::string paused_for;
      while (!done.load()) {
        if (!WaitFor(std::chrono::milliseconds(500))) {
          scan.Stop("agent stopping");
          return;
        }
        std::string reason;
        if (auto in = InScanWindow(s.window, LocalMinutesNow()); in && !*in) {
          reason = "outside scan window " + s.window;
        }
        if (reason.empty() && s.pause_above_cpu_percent > 0) {
          const double cpu = load.Sample().cpu_percent;
          if (cpu > s.pause_above_cpu_percent) {
            reason = "host busy: cpu " + std::to_string(static_cast<int>(cpu)) + "% > " +
                     std::to_string(s.pause_above_cpu_percent) + "%";
          }
        }
        if (!reason.empty() && paused_for.empty()) {
          scan.Pause(reason);
          paused_for = reason;
          Report(id, "paused", reason, roots, {});
        } else if (reason.empty() && !paused_for.empty()) {
          scan.Resume();
          Report(id, "resumed", "", roots, {});
          paused_for.clear();
        }
        if (s.max_duration.count() > 0 && MonotonicNanos() - start > s.max_duration.count() * 1000000) {
          scan.Stop("ran longer than max_duration " + std::to_string(s.max_duration.count() / 1000) + "s");
          return;
        }
      }
    });
    auto summary = scan.Run(roots, [&](const yara::FileResult& r) {
      if (!r.matches.empty() || r.outcome == yara::FileResult::Outcome::kError) (void)writer->WriteScanResult(id, r);
    });
    done.store(true);
    supervisor.join();
    {
      MutexLock lock(&mu);
      current_scan = nullptr;
    }
    if (!summary) {
      log::Error("scan", "could not run", {{"error", summary.error()}});
      return;
    }
    Report(id, summary->stopped ? "stopped" : "finished", summary->stop_reason, roots, *summary);
  }

  void RunScheduler() {
    const ScanScheduleOptions& s = options.scan;
    int64_t next = MonotonicNanos() + s.first_delay.count() * 1000000;
    for (;;) {
      std::vector<std::string> roots;
      std::string trigger;
      {
        const auto deadline = std::chrono::steady_clock::now() +
                              std::chrono::nanoseconds(std::max<int64_t>(0, next - MonotonicNanos()));
        MutexLock lock(&mu);
        while (!stopping && requested_scan.empty()) {
          if (!cv.WaitUntil(&mu, deadline)) break;
        }
        if (stopping) return;
        if (!requested_scan.empty()) {
          roots.swap(requested_scan);
          trigger = "on demand";
        }
      }
      if (roots.empty()) {
        if (MonotonicNanos() < next || s.paths.empty()) {
          if (s.paths.empty()) next = INT64_MAX / 2;
          continue;
        }
        roots = s.paths;
        trigger = "scheduled every " + std::to_string(s.interval.count() / 1000) + "s";
        next = MonotonicNanos() + s.interval.count() * 1000000;
      }
      RunOneScan(roots, trigger);
    }
  }
};

Result<std::unique_ptr<HostSensors>> HostSensors::Start(const HostSensorsOptions& options, eve::EveSink* sink) {
  std::unique_ptr<HostSensors> hs(new HostSensors());
  hs->impl_ = std::make_unique<Impl>();
  Impl& im = *hs->impl_;
  im.options = options;
  im.writer = std::make_unique<EventWriter>(sink, EventWriter::Options{options.agent_name});

  rocks::Options ro;
  ro.path = options.state_dir;
  ro.column_families = {std::string(FileIntegrityMonitor::kFamily), std::string(yara::ScanCache::kFamily),
                        std::string(kStateFamily)};
  ro.workload = rocks::Workload::kSmall;
  ro.block_cache_bytes = 8ull << 20;
  ro.write_buffer_bytes = 4ull << 20;
  RAMPART_ASSIGN_OR_RETURN(im.db, rocks::Database::Open(ro));
  im.state_cf = im.db->Family(kStateFamily);

  if (!options.yara_rules.empty()) {
    yara::CompileOptions co;
    co.sources = options.yara_rules;
    co.externals = options.yara_externals;
    RAMPART_ASSIGN_OR_RETURN(im.cache, yara::ScanCache::Attach(im.db.get()));
    auto compiled = im.cache->CompileRules(co);
    if (!compiled) return compiled.error().WithContext("agent.yara.rules");
    for (const auto& d : compiled->diagnostics) log::Warn("yara", d.text);
    im.rules = compiled->rules;
    RAMPART_RETURN_IF_ERROR(im.cache->UseRulesVersion(im.rules->version()));
    log::Info("yara", "rules loaded", {{"rules", im.rules->rule_count()}, {"version", im.rules->version()}});
  }
  if (options.scan.cpu_max_percent > 0) {
    auto cg = PrepareScanCgroup(options.scan.cpu_max_percent);
    if (cg) {
      im.cgroup_threads = *cg;
    } else {
      im.cgroup_problem = cg.error().message();
      log::Warn("scan", "cgroup CPU limit not applied; nice, ionice and max_rate still apply",
                {{"reason", im.cgroup_problem}});
    }
  }

  if (options.fim_enabled && !options.fim.paths.empty()) {
    FimOptions fo = options.fim;
    if (options.fim_scan_with_yara) fo.yara_rules = im.rules;
    RAMPART_ASSIGN_OR_RETURN(im.fim, FileIntegrityMonitor::Create(fo, im.db.get(), im.writer.get()));
    FileIntegrityMonitor* fim = im.fim.get();
    im.threads.emplace_back([fim] {
      if (Status s = fim->Start(); !s.ok()) {
        log::Error("fim", "cannot start", {{"error", s}});
        return;
      }
      const FimStats st = fim->stats();
      log::Info("fim", "watching", {{"files", st.files_tracked}, {"watches", st.watches}, {"events", st.events}});
      fim->Run();
    });
  }
  if (options.processes_enabled) {
    RAMPART_ASSIGN_OR_RETURN(im.processes, ProcessMonitor::Create(options.processes, im.writer.get()));
    RAMPART_RETURN_IF_ERROR(im.processes->Start());
    log::Info("process", "watching", {{"source", im.processes->source()}});
    ProcessMonitor* pm = im.processes.get();
    im.threads.emplace_back([pm] { pm->Run(); });
  }
  if (options.logins_enabled) im.threads.emplace_back([&im] { im.RunLogins(); });
  if (options.sockets_enabled || options.resources_enabled) im.threads.emplace_back([&im] { im.RunInventory(); });
  if (im.rules) im.threads.emplace_back([&im] { im.RunScheduler(); });
  return hs;
}

void HostSensors::Stop() {
  if (!impl_) return;
  Impl& im = *impl_;
  {
    MutexLock lock(&im.mu);
    if (im.stopping && im.threads.empty()) return;
    im.stopping = true;
    if (im.current_scan != nullptr) im.current_scan->Stop("agent stopping");
  }
  im.cv.SignalAll();
  if (im.fim) im.fim->Stop();
  if (im.processes) im.processes->Stop();
  for (auto& t : im.threads) t.join();
  im.threads.clear();
}

HostSensors::~HostSensors() { Stop(); }

Status HostSensors::RequestScan(const std::vector<std::string>& paths) {
  Impl& im = *impl_;
  if (!im.rules) return FailedPreconditionError("no YARA rules are configured (agent.yara.rules)");
  MutexLock lock(&im.mu);
  if (im.current_scan != nullptr || !im.requested_scan.empty()) return AlreadyExistsError("a scan is already running");
  im.requested_scan = paths;
  im.cv.SignalAll();
  return Status::Ok();
}

ResourceSample HostSensors::LatestResources() const {
  MutexLock lock(&impl_->mu);
  return impl_->latest;
}

const EventWriter& HostSensors::writer() const { return *impl_->writer; }

}  // namespace rampart::host
