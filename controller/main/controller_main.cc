// rampart-controller: dispatch only; each subcommand is in its own cmd_*.cc
// and the work lives in the controller's libraries.

#include "common/util/shutdown.h"
#include "controller/main/commands.h"

int main(int argc, char** argv) {
  rampart::InstallShutdownHandling();
  using namespace rampart::controller_cli;
  const rampart::cli::Program program{
      .name = "rampart-controller",
      .description =
          "rampart-controller: fleet controller, alert store and web UI of the Rampart monitoring system",
      .footer = "Exit codes: 0 ok, 1 runtime failure, 2 bad command line, 3 bad configuration, "
                "4 peer or resource unavailable.",
      .add_commands = [](CLI::App& app) -> std::vector<Command> {
        return {AddRunCommand(app), AddCheckConfigCommand(app)};
      },
  };
  return rampart::cli::Main(program, argc, argv);
}
