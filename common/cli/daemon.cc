#include "common/cli/daemon.h"

#include <CLI/CLI.hpp>

#include <cstdio>

#include "common/util/build_info.h"

namespace rampart::cli {
namespace {

int RunDaemon(const Daemon& daemon, const std::string& config_path, bool check_only) {
  auto loaded = daemon.load(config_path);
  if (!loaded) {
    std::fprintf(stderr, "%s: %s\n", daemon.program.c_str(), loaded.error().message().c_str());
    return kExitBadConfig;
  }
  if (check_only) {
    std::printf("%s: configuration OK\n", config_path.c_str());
    return kExitOk;
  }
  if (auto s = log::Init(loaded->log); !s.ok()) {
    std::fprintf(stderr, "%s: %s\n", daemon.program.c_str(), s.ToString().c_str());
    return kExitBadConfig;
  }
  const Status status = loaded->run();
  if (!status.ok()) {
    log::Error(daemon.component, "stopped on error", {{"error", status}});
    log::Flush();
    return status.code() == StatusCode::kUnavailable ? kExitUnavailable : kExitFailure;
  }
  return kExitOk;
}

Command AddConfigCommand(CLI::App& app, std::shared_ptr<const Daemon> daemon, const std::string& name,
                         const std::string& help, bool check_only) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(name, help);
  cmd->add_option("-c,--config", *path, "Configuration file (YAML)")->required()->check(CLI::ExistingFile);
  return {cmd, [daemon, path, check_only] { return RunDaemon(*daemon, *path, check_only); }};
}

}  // namespace

Command AddRunCommand(CLI::App& app, std::shared_ptr<const Daemon> daemon) {
  const std::string help = "Run the " + daemon->component + " daemon until SIGTERM or Ctrl-C";
  return AddConfigCommand(app, std::move(daemon), "run", help, false);
}

Command AddCheckConfigCommand(CLI::App& app, std::shared_ptr<const Daemon> daemon) {
  return AddConfigCommand(app, std::move(daemon), "check-config", "Validate a configuration file and print every problem",
                          true);
}

}  // namespace rampart::cli
