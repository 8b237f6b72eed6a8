#include "agent/runtime/agent_runtime.h"

#include <malloc.h>

#include <filesystem>

#include "agent/detect/rule_inspector.h"
#include "agent/host/host_sensors.h"
#include "agent/sensor/live.h"
#include "agent/runtime/uplink.h"
#include "agent/store/spool.h"
#include "agent/yara/payload_inspector.h"
#include "agent/yara/rules.h"
#include "common/log/log.h"
#include "common/util/build_info.h"
#include "common/util/shutdown.h"

namespace rampart::agent {

Status RunAgent(const AgentConfig& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return ErrnoError(ec.value(), "cannot create data directory " + config.data_dir);
  std::filesystem::permissions(config.data_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);

  // glibc's default of 8 malloc arenas per core gives most of the agent's ~18
  // threads (gRPC, RocksDB, ship, spool) an arena of its own, each holding a
  // few mostly-empty pages. Without the network sensor nothing allocates hot
  // enough to contend, so one arena will do: -0.3 MiB of idle RSS, measured
  // with bench/transport_bench. Set before the threads below start; with
  // capture on, the packet workers keep glibc's default.
  if (!config.capture.enabled) mallopt(M_ARENA_MAX, 1);
  log::Info("agent", "started", {{"name", config.name}, {"site", config.site},
                                 {"data_dir", config.data_dir}, {"version", VersionLine("rampart-agent")}});
  // The spool: every event is durable there before it counts (agent/store).
  auto spool = agent_store::Spool::Open(config.uplink.spool);
  if (!spool) return spool.error().WithContext("spool");
  std::unique_ptr<eve::EveSink> spool_sink = agent_store::NewSpoolSink(**spool);
  // Host sensors and scheduled YARA scans (agent.host, agent.yara).
  auto host_sensors = host::HostSensors::Start(config.host, spool_sink.get());
  if (!host_sensors) return host_sensors.error().WithContext("host sensors");
  log::Info("agent", "host sensors running");
  // Network rules (agent.detect): loaded and checked at start, so a bad rule
  // set is reported now; the workers of the network sensor share the engine
  // through detect::RuleInspectorFactory.
  std::unique_ptr<detect::Engine> rules;
  std::unique_ptr<detect::RuleInspectorFactory> rule_inspector;
  if (config.detect.enabled && !config.detect.rule_files.empty()) {
    detect::LoadReport report;
    auto engine = detect::BuildEngine(config.detect, &report);
    if (!engine) return engine.error().WithContext("agent.detect");
    constexpr size_t kShown = 20;
    for (size_t i = 0; i < report.errors.size() && i < kShown; ++i) {
      log::Warn("detect", "rule not loaded", {{"problem", report.errors[i]}});
    }
    if (report.errors.size() > kShown) {
      log::Warn("detect", "more rules not loaded", {{"count", report.errors.size() - kShown}});
    }
    log::Info("detect", "rules loaded", {{"summary", report.Summary()}, {"rules", (*engine)->rule_count()}});
    rules = std::move(*engine);
    rule_inspector = std::make_unique<detect::RuleInspectorFactory>(*rules);
  }
  // YARA on network payloads (agent.yara.network): stream data and HTTP
  // bodies, alongside the rule engine on the same sensor.
  std::unique_ptr<yara::PayloadInspectorFactory> yara_inspector;
  if (config.capture.enabled && !config.yara_network.rules.empty()) {
    auto compiled = yara::CompileRules({.sources = config.yara_network.rules, .externals = config.host.yara_externals});
    if (!compiled) return compiled.error().WithContext("agent.yara.network.rules");
    for (const auto& d : compiled->diagnostics) log::Warn("yara", "network rule problem", {{"problem", d.text}});
    log::Info("yara", "network rules loaded",
              {{"rules", compiled->rules->rule_count()}, {"files", compiled->loaded_files.size()},
               {"stream_depth", config.yara_network.scan.stream_depth},
               {"http_body_depth", config.yara_network.scan.http_body_depth}});
    yara_inspector = std::make_unique<yara::PayloadInspectorFactory>(compiled->rules, config.yara_network.scan,
                                                                     rule_inspector.get());
  }
  sensor::InspectorFactory* inspector = rule_inspector.get();
  if (yara_inspector) inspector = yara_inspector.get();
  // The network sensor (agent.capture): live capture into the same sink,
  // with the inspectors above (they outlive it: declared before it).
  std::unique_ptr<sensor::LiveSensor> network;
  if (config.capture.enabled) {
    auto started = sensor::LiveSensor::Start(config.capture, spool_sink.get(), inspector);
    if (!started) return started.error().WithContext("agent.capture");
    network = std::move(*started);
  }
  // EVE files to follow, and the stream to the controller once enrolled (agent/ship).
  auto uplink = Uplink::Start(config.uplink, config.data_dir, **spool,
                                               VersionLine("rampart-agent"), config.name);
  if (!uplink) return uplink.error().WithContext("uplink");

  WaitForShutdown();
  log::Info("agent", "stopping");
  if (network) network->Stop();
  if (yara_inspector) {
    const yara::PayloadScanCounters& c = yara_inspector->counters();
    log::Info("yara", "network payload scans", {{"scans", c.scans.load()}, {"bytes", c.bytes.load()},
                                                {"alerts", c.alerts.load()}, {"errors", c.errors.load()}});
  }
  (*host_sensors)->Stop();
  (*uplink)->Stop(std::chrono::seconds(5));
  log::Info("agent", "stopped");
  log::Flush();
  return Status::Ok();
}

}  // namespace rampart::agent
