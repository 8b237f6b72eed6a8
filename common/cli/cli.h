#pragma once
// The command lines of rampart-agent, rampart-controller and rampartctl: a
// program is a CLI11 app with one subcommand per cmd_*.cc file. Each file
// registers its flags and returns the function that runs it, so main()
// only dispatches, and every program answers --version and exits with the
// codes of common/util/build_info.h the same way.
#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace rampart::cli {

struct Command {
  CLI::App* app = nullptr;   // The subcommand, to test whether it was chosen.
  std::function<int()> run;  // Runs it; returns the process exit code.
};

struct Program {
  std::string name;         // "rampart-agent": the app's name and the --version line.
  std::string description;  // First line of --help.
  std::string footer;       // Last lines of --help (exit codes).
  // Registers the subcommands on the app, in the order --help lists them.
  std::function<std::vector<Command>(CLI::App&)> add_commands;
};

// Parses argv, prints the version for --version, runs the chosen
// subcommand and returns its exit code; help and kExitUsage when none was
// chosen, kExitUsage (after CLI11's message) for a bad command line.
int Main(const Program& program, int argc, char** argv);

}  // namespace rampart::cli
