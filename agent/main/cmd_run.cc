// run and check-config: the agent daemon from its YAML configuration.
#include <memory>

#include "agent/main/commands.h"
#include "agent/runtime/agent_runtime.h"
#include "common/cli/daemon.h"

namespace rampart::agent_cli {
namespace {

std::shared_ptr<const cli::Daemon> AgentDaemon() {
  auto d = std::make_shared<cli::Daemon>();
  d->program = "rampart-agent";
  d->component = "agent";
  d->load = [](const std::string& path) -> Result<cli::LoadedDaemon> {
    RAMPART_ASSIGN_OR_RETURN(agent::AgentConfig config, agent::LoadAgentConfig(path));
    auto shared = std::make_shared<const agent::AgentConfig>(std::move(config));
    return cli::LoadedDaemon{shared->log, [shared] { return agent::RunAgent(*shared); }};
  };
  return d;
}

}  // namespace

Command AddRunCommand(CLI::App& app) { return cli::AddRunCommand(app, AgentDaemon()); }
Command AddCheckConfigCommand(CLI::App& app) { return cli::AddCheckConfigCommand(app, AgentDaemon()); }

}  // namespace rampart::agent_cli
