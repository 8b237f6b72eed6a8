#pragma once
// Subcommands of rampart-controller and rampartctl. Each lives in its own
// cmd_*.cc, registers its flags on the CLI11 app and returns the function
// that runs it, so the mains only dispatch.

#include "common/cli/cli.h"

namespace rampart::controller_cli {

using cli::Command;

// rampart-controller
Command AddRunCommand(CLI::App& app);
Command AddCheckConfigCommand(CLI::App& app);

// rampartctl
Command AddPkiCommand(CLI::App& app);  // pki init, pki fingerprint
Command AddUserCommand(CLI::App& app);  // user add, passwd, disable, list
Command AddTokenCommand(CLI::App& app);   // token create, list
Command AddSiteCommand(CLI::App& app);    // site add, list, history
Command AddAgentCommand(CLI::App& app);   // agent list, revoke
Command AddEventsCommand(CLI::App& app);  // events alerts, export

}  // namespace rampart::controller_cli
