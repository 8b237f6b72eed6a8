// rampart-agent: flag parsing and dispatch only; each subcommand is in its
// own cmd_*.cc and the work lives in the agent's libraries.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <vector>

#include "agent/main/commands.h"
#include "common/util/build_info.h"
#include "common/util/shutdown.h"

int main(int argc, char** argv) {
  rampart::InstallShutdownHandling();
  CLI::App app{"rampart-agent: network and host sensor of the Rampart monitoring system", "rampart-agent"};
  app.footer(
      "Exit codes: 0 ok, 1 runtime failure, 2 bad command line, 3 bad configuration, "
      "4 peer or resource unavailable.");
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version, "Print the version and git revision, then exit");

  using namespace rampart::agent_cli;
  const std::vector<Command> commands = {
      AddRunCommand(app),
      AddCheckConfigCommand(app),
      AddScanCommand(app),
      AddHostCommand(app),
      AddReplayCommand(app),
      AddRulesCommand(app),
      AddEnrollCommand(app),
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? rampart::kExitOk : rampart::kExitUsage;
  }
  if (version) {
    std::printf("%s\n", rampart::VersionLine("rampart-agent").c_str());
    return rampart::kExitOk;
  }
  for (const Command& c : commands) {
    if (c.app->parsed()) return c.run();
  }
  std::cout << app.help();
  return rampart::kExitUsage;
}
