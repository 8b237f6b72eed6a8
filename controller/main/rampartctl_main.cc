// rampartctl: administers a controller. Flag parsing and dispatch only; each
// subcommand is in its own cmd_*.cc.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <vector>

#include "common/util/build_info.h"
#include "controller/main/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"rampartctl: administer a Rampart controller", "rampartctl"};
  app.footer("Exit codes: 0 ok, 1 failure, 2 bad command line, 4 controller unavailable.");
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version, "Print the version and git revision, then exit");

  using namespace rampart::controller_cli;
  const std::vector<Command> commands = {
      AddPkiCommand(app),
      AddUserCommand(app),
      AddTokenCommand(app),
      AddSiteCommand(app),
      AddAgentCommand(app),
      AddEventsCommand(app),
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? rampart::kExitOk : rampart::kExitUsage;
  }
  if (version) {
    std::printf("%s\n", rampart::VersionLine("rampartctl").c_str());
    return rampart::kExitOk;
  }
  for (const Command& c : commands) {
    if (c.app->parsed()) return c.run();
  }
  std::cout << app.help();
  return rampart::kExitUsage;
}
