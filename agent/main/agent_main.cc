// rampart-agent: dispatch only; each subcommand is in its own cmd_*.cc and
// the work lives in the agent's libraries.

#include "agent/main/commands.h"
#include "common/util/shutdown.h"

int main(int argc, char** argv) {
  rampart::InstallShutdownHandling();
  using namespace rampart::agent_cli;
  const rampart::cli::Program program{
      .name = "rampart-agent",
      .description = "rampart-agent: network and host sensor of the Rampart monitoring system",
      .footer = "Exit codes: 0 ok, 1 runtime failure, 2 bad command line, 3 bad configuration, "
                "4 peer or resource unavailable.",
      .add_commands = [](CLI::App& app) -> std::vector<Command> {
        return {
            AddRunCommand(app),
            AddCheckConfigCommand(app),
            AddScanCommand(app),
            AddHostCommand(app),
            AddReplayCommand(app),
            AddRulesCommand(app),
            AddEnrollCommand(app),
        };
      },
  };
  return rampart::cli::Main(program, argc, argv);
}
