#include "common/cli/cli.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "common/util/build_info.h"

namespace rampart::cli {

int Main(const Program& program, int argc, char** argv) {
  CLI::App app{program.description, program.name};
  if (!program.footer.empty()) app.footer(program.footer);
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version, "Print the version and git revision, then exit");
  const std::vector<Command> commands = program.add_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  if (version) {
    std::printf("%s\n", VersionLine(program.name).c_str());
    return kExitOk;
  }
  for (const Command& c : commands) {
    if (c.app->parsed()) return c.run();
  }
  std::cout << app.help();
  return kExitUsage;
}

}  // namespace rampart::cli
