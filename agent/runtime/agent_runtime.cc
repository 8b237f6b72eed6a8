#include "agent/runtime/agent_runtime.h"

#include <filesystem>

#include "common/log/log.h"
#include "common/util/build_info.h"
#include "common/util/shutdown.h"

namespace rampart::agent {

Status RunAgent(const AgentConfig& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return ErrnoError(ec.value(), "cannot create data directory " + config.data_dir);
  std::filesystem::permissions(config.data_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);

  log::Info("agent", "started", {{"name", config.name}, {"site", config.site},
                                 {"data_dir", config.data_dir}, {"version", VersionLine("rampart-agent")}});
  WaitForShutdown();
  log::Info("agent", "stopping");
  log::Info("agent", "stopped");
  log::Flush();
  return Status::Ok();
}

}  // namespace rampart::agent
