#pragma once
// Shared by rampartctl's fleet commands (token, site, agent, events): where
// the controller's admin socket is, and how results are printed.

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/status/status.h"
#include "controller/fleet/admin.h"

namespace rampart::controller_cli {

struct Where {
  std::string data_dir = "/var/lib/rampart-controller";
  std::string socket;
  bool json = false;
};

// --data-dir, --socket, --json.
void AddWhere(CLI::App* cmd, Where* w);
std::unique_ptr<fleet::AdminClient> Client(const Where& w);
// Prints the error; the exit code that fits it.
int Fail(const Status& s);
// A JSON field as text ("" when absent).
std::string Str(const nlohmann::json& j, const char* key);
// Prints a JSON listing as a table with these (title, key) columns, or as
// it is with --json.
int PrintList(const Result<std::string>& r, bool raw, const std::vector<std::pair<const char*, const char*>>& cols,
              const std::function<std::string(const nlohmann::json&, const char*)>& cell = Str);

}  // namespace rampart::controller_cli
