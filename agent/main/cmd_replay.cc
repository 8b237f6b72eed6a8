// rampart-agent replay FILE --eve OUT.json [--threads N] [--checksum-checks all|none] [--rules PATH]...
// Analyses a capture file offline, like `suricata -r`, writing EVE JSON lines.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "agent/capture/capture.h"
#include "agent/detect/detect_config.h"
#include "agent/detect/rule_inspector.h"
#include "agent/yara/payload_inspector.h"
#include "agent/yara/rules.h"
#include "agent/main/commands.h"
#include "agent/sensor/sensor.h"
#include "common/eve/sink.h"
#include "common/util/build_info.h"
#include "common/util/clock.h"

namespace rampart::agent_cli {
namespace {

struct ReplayArgs {
  std::string file;
  std::string eve;
  int threads = 1;
  std::string checksum_checks = "all";
  std::vector<std::string> rules;
  std::vector<std::string> yara;
  bool no_midstream = false;
  bool quiet = false;
};

int RunReplay(const ReplayArgs& a) {
  // Rules: the detection engine (agent/detect) plugs in through the
  // sensor's InspectorFactory. Rule problems are reported, never fatal.
  std::unique_ptr<detect::Engine> engine;
  std::unique_ptr<detect::RuleInspectorFactory> rule_inspector;
  if (!a.rules.empty()) {
    detect::DetectOptions detect_options;
    detect_options.rule_files = a.rules;
    detect::LoadReport report;
    auto built = detect::BuildEngine(detect_options, &report);
    for (const std::string& e : report.errors) std::fprintf(stderr, "%s\n", e.c_str());
    for (const std::string& w : report.warnings) std::fprintf(stderr, "%s\n", w.c_str());
    if (!built) {
      std::fprintf(stderr, "rampart-agent replay: %s\n", built.error().message().c_str());
      return kExitBadConfig;
    }
    if (!a.quiet) std::fprintf(stderr, "rules: %s\n", report.Summary().c_str());
    engine = std::move(*built);
    rule_inspector = std::make_unique<detect::RuleInspectorFactory>(*engine);
  }
  // YARA on stream payloads and HTTP bodies (agent/yara), alongside the
  // rules when both are given.
  std::unique_ptr<yara::PayloadInspectorFactory> yara_inspector;
  if (!a.yara.empty()) {
    auto compiled = yara::CompileRules({.sources = a.yara});
    if (!compiled) {
      std::fprintf(stderr, "rampart-agent replay: %s\n", compiled.error().message().c_str());
      return kExitBadConfig;
    }
    for (const auto& d : compiled->diagnostics) std::fprintf(stderr, "%s\n", d.text.c_str());
    yara_inspector = std::make_unique<yara::PayloadInspectorFactory>(compiled->rules, yara::PayloadScanOptions{},
                                                                     rule_inspector.get());
  }
  capture::FileOptions file_options;
  file_options.buffers = 2 + 2 * a.threads;
  auto source = capture::OpenFile(a.file, file_options);
  if (!source) {
    std::fprintf(stderr, "rampart-agent replay: %s\n", source.error().message().c_str());
    return kExitFailure;
  }
  auto sink = eve::OpenFileSink(a.eve, eve::OpenMode::kTruncate);
  if (!sink) {
    std::fprintf(stderr, "rampart-agent replay: --eve %s: %s\n", a.eve.c_str(), sink.error().message().c_str());
    return kExitFailure;
  }
  sensor::SensorOptions options;
  options.workers = a.threads;
  options.decoder.checksum_checks = a.checksum_checks == "all";
  options.flows.midstream = !a.no_midstream;
  options.pcap_cnt = true;
  options.inspector = rule_inspector.get();
  if (yara_inspector) {
    options.inspector = yara_inspector.get();
    options.app.http.body_limit = std::max<size_t>(options.app.http.body_limit, yara_inspector->Needs().http_body_limit);
  }
  auto sensor = sensor::Sensor::Create(options, (*source)->link_type(), sink->get());
  if (!sensor) {
    std::fprintf(stderr, "rampart-agent replay: %s\n", sensor.error().message().c_str());
    return kExitFailure;
  }
  const int64_t start = MonotonicNanos();
  const Status status = (*sensor)->Run(**source);
  const double secs = static_cast<double>(MonotonicNanos() - start) / 1e9;
  const sensor::SensorTotals t = (*sensor)->totals();
  if (!a.quiet) {
    std::fprintf(stderr, "replay: %llu packets, %llu flows, %llu records, %llu anomalies in %.3f s\n",
                 static_cast<unsigned long long>(t.packets), static_cast<unsigned long long>(t.flows),
                 static_cast<unsigned long long>(t.records), static_cast<unsigned long long>(t.anomalies), secs);
  }
  if (!status.ok() && status.code() == StatusCode::kDataLoss && status == t.source_error) {
    // A damaged capture (a record cut off, or one longer than any capture
    // holds) ends the analysis there, as with suricata -r: the records of
    // every packet before it are written, and that is a result, not a failure.
    std::fprintf(stderr,
                 "rampart-agent replay: warning: %s; the %llu packets before it were analysed, nothing after it "
                 "was read\n",
                 status.message().c_str(), static_cast<unsigned long long>(t.packets));
    return kExitOk;
  }
  if (!status.ok()) {
    std::fprintf(stderr, "rampart-agent replay: %s\n", status.message().c_str());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

Command AddReplayCommand(CLI::App& app) {
  auto a = std::make_shared<ReplayArgs>();
  CLI::App* cmd = app.add_subcommand("replay", "Analyse a capture file (pcap, pcapng, gzip) and write EVE JSON");
  cmd->add_option("file", a->file, "Capture file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--eve", a->eve, "EVE JSON output file; '-' for stdout")->required();
  cmd->add_option("--threads", a->threads, "Worker threads (1 processes on the reading thread)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--checksum-checks", a->checksum_checks,
                  "all: TCP packets with a wrong checksum are not reassembled or parsed (Suricata's default); "
                  "none: checksums are not checked (captures made with checksum offload)")
      ->check(CLI::IsMember({"all", "none"}));
  cmd->add_option("--rules", a->rules, "Suricata rule file (repeatable)")->check(CLI::ExistingFile);
  cmd->add_option("--yara", a->yara, "YARA rule file or folder for stream payloads and HTTP bodies (repeatable)");
  cmd->add_flag("--no-midstream", a->no_midstream,
                "Do not reassemble or parse TCP connections whose handshake is not in the capture "
                "(Suricata's default; Rampart picks them up)");
  cmd->add_flag("-q,--quiet", a->quiet, "No summary line on stderr");
  return {cmd, [a] { return RunReplay(*a); }};
}

}  // namespace rampart::agent_cli
