// rampartctl: administers a controller. Dispatch only; each subcommand is
// in its own cmd_*.cc.

#include "controller/main/commands.h"

int main(int argc, char** argv) {
  using namespace rampart::controller_cli;
  const rampart::cli::Program program{
      .name = "rampartctl",
      .description = "rampartctl: administer a Rampart controller",
      .footer = "Exit codes: 0 ok, 1 failure, 2 bad command line, 4 controller unavailable.",
      .add_commands = [](CLI::App& app) -> std::vector<Command> {
        return {
            AddPkiCommand(app),  AddUserCommand(app),  AddTokenCommand(app),
            AddSiteCommand(app), AddAgentCommand(app), AddEventsCommand(app),
        };
      },
  };
  return rampart::cli::Main(program, argc, argv);
}
