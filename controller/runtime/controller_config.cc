#include "controller/runtime/controller_config.h"

#include "common/config/config.h"
#include "common/config/log_section.h"
#include "common/util/ids.h"

namespace rampart::controller {
namespace {

// controller.store: retention and the writer's durability and threads.
void ReadStoreSection(config::Section s, controller_store::Options* out) {
  std::chrono::milliseconds retention = out->retention;
  s.Duration("retention", &retention, std::chrono::hours(0), std::chrono::hours(24 * 3650));
  out->retention = std::chrono::duration_cast<std::chrono::hours>(retention);
  std::chrono::milliseconds alert_retention = out->alert_retention;
  s.Duration("alert_retention", &alert_retention, std::chrono::hours(0), std::chrono::hours(24 * 3650));
  out->alert_retention = std::chrono::duration_cast<std::chrono::hours>(alert_retention);
  s.Bool("sync", &out->sync);
  s.Int("writer_threads", &out->writer_threads, 1, 16);
}

}  // namespace

Result<ControllerConfig> LoadControllerConfig(const std::string& path) {
  RAMPART_ASSIGN_OR_RETURN(config::Document doc, config::Document::LoadFile(path));
  ControllerConfig cfg;
  config::Section c = doc.Root().Child("controller", config::kRequired);
  c.String("name", &cfg.name);
  c.String("data_dir", &cfg.data_dir);
  if (cfg.data_dir.empty()) c.Problem("data_dir", "must not be empty");
  config::ReadLogSection(c.Child("log"), &cfg.log);
  cfg.web.enabled = c.Has("web");
  if (cfg.web.enabled) web::ReadOptions(c.Child("web"), &cfg.web);
  if (c.Has("notify")) notify::ReadOptions(c.Child("notify"), &cfg.notify);
  ReadAgentServicesConfig(c, cfg.data_dir, &cfg.agents);
  ReadStoreSection(c.Child("store"), &cfg.store);
  RAMPART_RETURN_IF_ERROR(doc.Finish());
  if (cfg.name.empty()) cfg.name = HostName("controller");
  cfg.store.path = cfg.data_dir + "/store";
  cfg.web.data_dir = cfg.data_dir;
  cfg.notify.path = cfg.data_dir + "/notify";
  cfg.notify.controller_name = cfg.name;
  return cfg;
}

}  // namespace rampart::controller
