#include "controller/runtime/controller_config.h"

#include "common/config/config.h"
#include "common/config/log_section.h"
#include "common/util/ids.h"

namespace rampart::controller {

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
  ingest::ReadTransportConfig(c, cfg.data_dir, &cfg.transport);
  RAMPART_RETURN_IF_ERROR(doc.Finish());
  if (cfg.name.empty()) cfg.name = HostName("controller");
  cfg.web.data_dir = cfg.data_dir;
  cfg.notify.path = cfg.data_dir + "/notify";
  cfg.notify.controller_name = cfg.name;
  return cfg;
}

}  // namespace rampart::controller
