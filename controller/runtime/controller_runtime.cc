#include "controller/runtime/controller_runtime.h"

#include <filesystem>

#include "common/log/log.h"
#include "common/util/build_info.h"
#include "common/util/shutdown.h"
#include "controller/dispatch/dispatcher.h"
#include "controller/dispatch/notifications.h"
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
  std::unique_ptr<dispatch::NotifierConsumer> to_notifier;  // Outlives the dispatcher.
  if (!config.notify.targets.empty()) {
    RAMPART_ASSIGN_OR_RETURN(notifier, notify::Notifier::Start(config.notify));
    to_notifier = std::make_unique<dispatch::NotifierConsumer>(*notifier);
  }
  // New alerts and link changes, to the web's live feed and to the
  // notifier: started when either is there, whether or not the web is.
  std::unique_ptr<dispatch::Dispatcher> dispatcher;
  if (notifier || config.web.enabled) {
    RAMPART_ASSIGN_OR_RETURN(dispatcher, dispatch::Dispatcher::Start(config.dispatch, *store));
  }
  std::unique_ptr<web::WebService> web;
  if (config.web.enabled) {
    RAMPART_ASSIGN_OR_RETURN(web, web::WebService::Start(config.web, *store, notifier.get(), dispatcher.get()));
  }
  // After the feed (which the web added): the feed hears of an item before
  // the notifier's synced outbox writes, as when the web dispatched both.
  if (to_notifier) dispatcher->AddConsumer(to_notifier.get());

  // Enrolment, the agent port, link health and the admin socket (agent_services.h).
  RAMPART_ASSIGN_OR_RETURN(auto agents, AgentServices::Start(config.agents, *store));

  log::Info("controller", "started", {{"name", config.name}, {"data_dir", config.data_dir},
                                      {"version", VersionLine("rampart-controller")}});
  WaitForShutdown();
  log::Info("controller", "stopping");
  agents->Stop(std::chrono::seconds(5));
  if (dispatcher) dispatcher->Stop();  // Delivers what is queued.
  if (web) web->Stop();
  if (notifier) notifier->Stop();
  log::Info("controller", "stopped");
  log::Flush();
  return Status::Ok();
}

}  // namespace rampart::controller
