// run and check-config: the controller daemon from its YAML configuration.
#include <memory>

#include "common/cli/daemon.h"
#include "controller/main/commands.h"
#include "controller/runtime/controller_runtime.h"

namespace rampart::controller_cli {
namespace {

std::shared_ptr<const cli::Daemon> ControllerDaemon() {
  auto d = std::make_shared<cli::Daemon>();
  d->program = "rampart-controller";
  d->component = "controller";
  d->load = [](const std::string& path) -> Result<cli::LoadedDaemon> {
    RAMPART_ASSIGN_OR_RETURN(controller::ControllerConfig config, controller::LoadControllerConfig(path));
    auto shared = std::make_shared<const controller::ControllerConfig>(std::move(config));
    return cli::LoadedDaemon{shared->log, [shared] { return controller::RunController(*shared); }};
  };
  return d;
}

}  // namespace

Command AddRunCommand(CLI::App& app) { return cli::AddRunCommand(app, ControllerDaemon()); }
Command AddCheckConfigCommand(CLI::App& app) { return cli::AddCheckConfigCommand(app, ControllerDaemon()); }

}  // namespace rampart::controller_cli
