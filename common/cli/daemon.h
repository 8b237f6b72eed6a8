#pragma once
// `run` and `check-config` for a daemon (rampart-agent, rampart-controller):
// both load and validate the YAML file and print every problem; `run` then
// configures logging and runs the daemon until SIGTERM or Ctrl-C.
#include <functional>
#include <memory>
#include <string>

#include "common/cli/cli.h"
#include "common/log/log.h"
#include "common/status/status.h"

namespace rampart::cli {

// A configuration that loaded and validated, ready to run.
struct LoadedDaemon {
  log::Options log;
  std::function<Status()> run;  // Blocks until shutdown; kUnavailable exits 4.
};

struct Daemon {
  std::string program;    // "rampart-agent": prefix of the lines on stderr.
  std::string component;  // "agent": the log component and the help text's noun.
  // Loads and validates the file at `path`; kInvalidArgument lists every
  // problem (exit 3).
  std::function<Result<LoadedDaemon>(const std::string& path)> load;
};

Command AddRunCommand(CLI::App& app, std::shared_ptr<const Daemon> daemon);
Command AddCheckConfigCommand(CLI::App& app, std::shared_ptr<const Daemon> daemon);

}  // namespace rampart::cli
