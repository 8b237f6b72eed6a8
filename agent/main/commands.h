#pragma once
// Subcommands of rampart-agent. Each lives in its own cmd_*.cc, registers
// its flags on the CLI11 app and returns the function that runs it, so
// main() only dispatches. Flag parsing and wiring only: the work belongs in
// the agent's libraries.

#include "common/cli/cli.h"

namespace rampart::agent_cli {

using cli::Command;

Command AddRunCommand(CLI::App& app);          // run, check-config
Command AddCheckConfigCommand(CLI::App& app);
Command AddScanCommand(CLI::App& app);          // scan: YARA on files and folders
Command AddHostCommand(CLI::App& app);          // host --once: host sensor snapshot
Command AddReplayCommand(CLI::App& app);        // replay: analyse a capture file, write EVE
Command AddRulesCommand(CLI::App& app);         // rules check: load Suricata rule files, report problems
Command AddEnrollCommand(CLI::App& app);        // enroll: one-time token -> certificate from the controller's CA

}  // namespace rampart::agent_cli
