#include "controller/runtime/controller_config.h"

#include <unistd.h>

#include "common/config/config.h"

namespace rampart::controller {
namespace {

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "controller";
  return buf;
}

void ReadLog(config::Section s, log::Options* out) {
  std::string level(log::LevelName(out->level));
  s.OneOf("level", &level, {"trace", "debug", "info", "warn", "error", "off"});
  if (auto parsed = log::ParseLevel(level)) out->level = *parsed;
  s.OneOf("format", &out->format, {"text", "json"});
  s.String("file", &out->file);
}

}  // namespace

Result<ControllerConfig> LoadControllerConfig(const std::string& path) {
  RAMPART_ASSIGN_OR_RETURN(config::Document doc, config::Document::LoadFile(path));
  ControllerConfig cfg;
  config::Section c = doc.Root().Child("controller", config::kRequired);
  c.String("name", &cfg.name);
  c.String("data_dir", &cfg.data_dir);
  if (cfg.data_dir.empty()) c.Problem("data_dir", "must not be empty");
  ReadLog(c.Child("log"), &cfg.log);
  cfg.web.enabled = c.Has("web");
  if (cfg.web.enabled) web::ReadOptions(c.Child("web"), &cfg.web);
  if (c.Has("notify")) notify::ReadOptions(c.Child("notify"), &cfg.notify);
  ingest::ReadTransportConfig(c, cfg.data_dir, &cfg.transport);
  RAMPART_RETURN_IF_ERROR(doc.Finish());
  if (cfg.name.empty()) cfg.name = HostName();
  cfg.web.data_dir = cfg.data_dir;
  cfg.notify.path = cfg.data_dir + "/notify";
  cfg.notify.controller_name = cfg.name;
  return cfg;
}

}  // namespace rampart::controller
