#include "controller/runtime/controller_runtime.h"

#include <filesystem>

#include "common/log/log.h"
#include "common/util/build_info.h"
#include "common/util/shutdown.h"
#include "controller/notify/notify.h"
#include "controller/runtime/agent_services.h"
#include "controller/store/store.h"
#include "controller/web/service.h"

namespace rampart::controller {

Status RunController(const ControllerConfig& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return ErrnoError(ec.value(), "cannot create data directory " + config.data_dir);
  std::filesystem::permissions(config.data_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);

  // The event store and, in the same database, the fleet registry.
  RAMPART_ASSIGN_OR_RETURN(auto store, controller_store::Store::Open(config.store));
  std::unique_ptr<notify::Notifier> notifier;
  if (!config.notify.targets.empty()) {
    RAMPART_ASSIGN_OR_RETURN(notifier, notify::Notifier::Start(config.notify));
  }
  std::unique_ptr<web::WebService> web;
  if (config.web.enabled) {
    RAMPART_ASSIGN_OR_RETURN(web, web::WebService::Start(config.web, *store, notifier.get()));
  }

  // Enrolment, the agent port, link health and the admin socket (agent_services.h).
  RAMPART_ASSIGN_OR_RETURN(auto agents, AgentServices::Start(config.agents, *store));

  log::Info("controller", "started", {{"name", config.name}, {"data_dir", config.data_dir},
                                      {"version", VersionLine("rampart-controller")}});
  WaitForShutdown();
  log::Info("controller", "stopping");
  agents->Stop(std::chrono::seconds(5));
  if (web) web->Stop();
  if (notifier) notifier->Stop();
  log::Info("controller", "stopped");
  log::Flush();
  return Status::Ok();
}

}  // namespace rampart::controller
