#include "controller/runtime/controller_runtime.h"

#include <filesystem>

#include "common/log/log.h"
#include "common/util/build_info.h"
#include "common/util/shutdown.h"

namespace rampart::controller {

Status RunController(const ControllerConfig& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return ErrnoError(ec.value(), "cannot create data directory " + config.data_dir);
  std::filesystem::permissions(config.data_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);

  log::Info("controller", "started", {{"name", config.name}, {"data_dir", config.data_dir},
                                      {"version", VersionLine("rampart-controller")}});
  WaitForShutdown();
  log::Info("controller", "stopping");
  log::Info("controller", "stopped");
  log::Flush();
  return Status::Ok();
}

}  // namespace rampart::controller
