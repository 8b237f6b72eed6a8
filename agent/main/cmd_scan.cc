// rampart-agent scan PATH... --yara RULES [--threads N] [--json]: flag
// parsing and output only; compiling and scanning live in agent/yara.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/host/event_writer.h"
#include "agent/main/commands.h"
#include "agent/yara/file_scan.h"
#include "agent/yara/rules.h"
#include "agent/yara/scan_cache.h"
#include "common/eve/sink.h"
#include "common/util/build_info.h"
#include "common/util/units.h"

namespace rampart::agent_cli {
namespace {

struct ScanFlags {
  std::vector<std::string> paths;
  std::vector<std::string> rules;
  std::vector<std::string> defines;
  std::vector<std::string> excludes;
  int threads = 0;
  bool json = false;
  std::string cache_dir;
  std::string max_size = "256MiB";
  std::string timeout = "60s";
  std::string max_rate;
  std::string ionice;
  int nice = 0;
  bool follow_symlinks = false;
  bool one_file_system = false;
  bool strings = false;
  bool fast = false;
  bool no_warnings = false;
  bool verbose = false;
};

int RunScan(const ScanFlags& f) {
  yara::CompileOptions compile;
  compile.sources = f.rules;
  for (const std::string& d : f.defines) {
    const auto eq = d.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "rampart-agent scan: --define wants NAME=VALUE, got '%s'\n", d.c_str());
      return kExitUsage;
    }
    compile.externals[d.substr(0, eq)] = d.substr(eq + 1);
  }
  yara::FileScanOptions options;
  options.threads = f.threads > 0 ? f.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  options.excludes = f.excludes;
  options.follow_symlinks = f.follow_symlinks;
  options.one_file_system = f.one_file_system;
  options.report_strings = f.strings;
  options.fast_mode = f.fast;
  options.nice = f.nice;
  options.ionice = f.ionice;
  auto size = ParseByteSize(f.max_size);
  auto timeout = ParseDuration(f.timeout);
  Result<uint64_t> rate = f.max_rate.empty() ? Result<uint64_t>(0) : ParseByteSize(f.max_rate);
  for (const Status& s : {size ? Status() : size.error(), timeout ? Status() : timeout.error(),
                          rate ? Status() : rate.error()}) {
    if (!s.ok()) {
      std::fprintf(stderr, "rampart-agent scan: %s\n", s.message().c_str());
      return kExitUsage;
    }
  }
  options.max_file_size = *size;
  options.timeout = std::max(std::chrono::seconds(1), std::chrono::duration_cast<std::chrono::seconds>(*timeout));
  options.max_bytes_per_second = *rate;

  std::unique_ptr<yara::ScanCache> cache;
  if (!f.cache_dir.empty()) {
    auto opened = yara::ScanCache::Open(f.cache_dir);
    if (!opened) {
      std::fprintf(stderr, "rampart-agent scan: scan cache %s: %s\n", f.cache_dir.c_str(),
                   opened.error().message().c_str());
      return opened.error().code() == StatusCode::kUnavailable ? kExitUnavailable : kExitFailure;
    }
    cache = std::move(*opened);
  }
  // With a cache, unchanged rule files are not compiled again either.
  auto compiled = cache ? cache->CompileRules(compile) : yara::CompileRules(compile);
  if (!compiled) {
    std::fprintf(stderr, "rampart-agent scan: %s\n", compiled.error().message().c_str());
    return kExitBadConfig;
  }
  bool had_errors = false;
  for (const yara::Diagnostic& d : compiled->diagnostics) {
    if (d.level == yara::Diagnostic::Level::kWarning && f.no_warnings) continue;
    if (d.level == yara::Diagnostic::Level::kError) had_errors = true;
    std::fprintf(stderr, "%s\n", d.text.c_str());
  }

  if (cache) {
    if (Status s = cache->UseRulesVersion(compiled->rules->version()); !s.ok()) {
      std::fprintf(stderr, "rampart-agent scan: scan cache %s: %s\n", f.cache_dir.c_str(), s.message().c_str());
      return kExitFailure;
    }
    options.cache = cache.get();
  }

  std::unique_ptr<eve::EveSink> sink;
  std::unique_ptr<host::EventWriter> writer;
  if (f.json) {
    auto opened = eve::OpenFileSink("-", eve::OpenMode::kAppend);
    if (!opened) {
      std::fprintf(stderr, "rampart-agent scan: %s\n", opened.error().message().c_str());
      return kExitFailure;
    }
    sink = std::move(*opened);
    writer = std::make_unique<host::EventWriter>(sink.get(), host::EventWriter::Options{});
  }
  const std::string scan_id = host::NewScanId();

  yara::FileScan scan(compiled->rules, options);
  auto summary = scan.Run(f.paths, [&](const yara::FileResult& r) {
    using Outcome = yara::FileResult::Outcome;
    if (r.outcome == Outcome::kError) {
      had_errors = true;
      std::fprintf(stderr, "%s: %s\n", r.path.c_str(), r.reason.c_str());
    } else if (r.outcome == Outcome::kSkipped && f.verbose) {
      std::fprintf(stderr, "%s: skipped: %s\n", r.path.c_str(), r.reason.c_str());
    }
    if (writer) {
      if (!r.matches.empty() || r.outcome == Outcome::kError) (void)writer->WriteScanResult(scan_id, r);
      return;
    }
    for (const yara::RuleMatch& m : r.matches) {
      std::printf("%s %s\n", m.rule.c_str(), r.path.c_str());
      for (const yara::StringMatch& s : m.strings) {
        std::printf("0x%llx:%s\n", static_cast<unsigned long long>(s.offset), s.identifier.c_str());
      }
    }
  });
  if (!summary) {
    std::fprintf(stderr, "rampart-agent scan: %s\n", summary.error().message().c_str());
    return kExitFailure;
  }
  if (writer) {
    host::ScanReport report;
    report.scan_id = scan_id;
    report.state = "finished";
    report.roots = f.paths;
    report.rules_version = compiled->rules->version();
    report.summary = *summary;
    (void)writer->WriteScanReport(report);
    (void)sink->Flush();
  }
  std::fflush(stdout);
  if (f.verbose) {
    std::fprintf(stderr,
                 "scanned %llu files (%llu bytes), %llu unchanged (cache), %llu skipped, %llu errors, %llu matched, "
                 "%lld ms\n",
                 static_cast<unsigned long long>(summary->files_scanned),
                 static_cast<unsigned long long>(summary->bytes_scanned),
                 static_cast<unsigned long long>(summary->files_cached),
                 static_cast<unsigned long long>(summary->files_skipped),
                 static_cast<unsigned long long>(summary->errors),
                 static_cast<unsigned long long>(summary->files_matched),
                 static_cast<long long>(summary->elapsed.count()));
  }
  return had_errors ? kExitFailure : kExitOk;
}

}  // namespace

Command AddScanCommand(CLI::App& app) {
  auto f = std::make_shared<ScanFlags>();
  CLI::App* cmd = app.add_subcommand(
      "scan",
      "Scan files and folders with YARA rules. Plain output is one 'RULE PATH' line per match, as "
      "`yara -r RULES PATH` prints; --json writes EVE file records. Exit 0: clean run; 1: some rule "
      "files or files had errors (on stderr; the rest was scanned); 3: no usable rule file");
  cmd->add_option("paths", f->paths, "Files and folders to scan")->required();
  cmd->add_option("--yara", f->rules, "Rule file or folder (NAMESPACE:PATH accepted); repeatable")->required();
  cmd->add_option("-d,--define", f->defines, "External variable NAME=VALUE; repeatable");
  cmd->add_option("-p,--threads", f->threads, "Scanning threads (default: one per core)")->check(CLI::Range(1, 64));
  cmd->add_flag("--json", f->json, "Write EVE JSON records (file matches and a scan summary) to stdout");
  cmd->add_option("--cache", f->cache_dir, "Scan cache directory (RocksDB): unchanged files are not scanned again");
  cmd->add_option("--max-size", f->max_size, "Skip larger files (\"256MiB\"; 0 = no limit)");
  cmd->add_option("--timeout", f->timeout, "Per-file scan timeout (\"60s\")");
  cmd->add_option("--exclude", f->excludes, "fnmatch pattern on full paths to leave out; repeatable");
  cmd->add_flag("-L,--follow-symlinks", f->follow_symlinks, "Follow symlinks found in folders (default: skip them)");
  cmd->add_flag("-x,--one-file-system", f->one_file_system, "Do not descend into other mounted file systems");
  cmd->add_flag("-s,--strings", f->strings, "Report string identifiers and offsets of matches");
  cmd->add_flag("-f,--fast", f->fast, "Fast matching mode (yara -f)");
  cmd->add_option("--nice", f->nice, "Lower the scanning threads' CPU priority by N (0..19)")->check(CLI::Range(0, 19));
  cmd->add_option("--ionice", f->ionice, "I/O priority of the scanning threads: idle, best-effort[:0..7]");
  cmd->add_option("--max-rate", f->max_rate, "Read at most this many bytes per second (\"20MB\")");
  cmd->add_flag("-w,--no-warnings", f->no_warnings, "Do not print rule compiler warnings");
  cmd->add_flag("-v,--verbose", f->verbose, "Print skipped files and a summary on stderr");
  return {cmd, [f] { return RunScan(*f); }};
}

}  // namespace rampart::agent_cli
