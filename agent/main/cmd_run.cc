#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "agent/main/commands.h"
#include "agent/runtime/agent_runtime.h"
#include "common/log/log.h"
#include "common/util/build_info.h"

namespace rampart::agent_cli {
namespace {

int RunDaemon(const std::string& config_path, bool check_only) {
  auto config = agent::LoadAgentConfig(config_path);
  if (!config) {
    std::fprintf(stderr, "rampart-agent: %s\n", config.error().message().c_str());
    return kExitBadConfig;
  }
  if (check_only) {
    std::printf("%s: configuration OK\n", config_path.c_str());
    return kExitOk;
  }
  if (auto s = log::Init(config->log); !s.ok()) {
    std::fprintf(stderr, "rampart-agent: %s\n", s.ToString().c_str());
    return kExitBadConfig;
  }
  const Status status = agent::RunAgent(*config);
  if (!status.ok()) {
    log::Error("agent", "stopped on error", {{"error", status}});
    log::Flush();
    return status.code() == StatusCode::kUnavailable ? kExitUnavailable : kExitFailure;
  }
  return kExitOk;
}

}  // namespace

Command AddRunCommand(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("run", "Run the agent daemon until SIGTERM or Ctrl-C");
  cmd->add_option("-c,--config", *path, "Configuration file (YAML)")->required()->check(CLI::ExistingFile);
  return {cmd, [path] { return RunDaemon(*path, false); }};
}

Command AddCheckConfigCommand(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("check-config", "Validate a configuration file and print every problem");
  cmd->add_option("-c,--config", *path, "Configuration file (YAML)")->required()->check(CLI::ExistingFile);
  return {cmd, [path] { return RunDaemon(*path, true); }};
}

}  // namespace rampart::agent_cli
