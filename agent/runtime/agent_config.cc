#include "agent/runtime/agent_config.h"

#include <unistd.h>

#include <filesystem>

#include "common/config/config.h"

namespace rampart::agent {
namespace {

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "agent";
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

Result<AgentConfig> LoadAgentConfig(const std::string& path) {
  RAMPART_ASSIGN_OR_RETURN(config::Document doc, config::Document::LoadFile(path));
  AgentConfig cfg;
  config::Section agent = doc.Root().Child("agent", config::kRequired);
  agent.String("name", &cfg.name);
  agent.String("site", &cfg.site);
  agent.String("data_dir", &cfg.data_dir);
  if (cfg.data_dir.empty()) agent.Problem("data_dir", "must not be empty");
  ReadLog(agent.Child("log"), &cfg.log);
  host::ReadHostConfig(agent, &cfg.host);
  ship::ReadTransportConfig(agent, &cfg.transport);
  sensor::ReadCaptureConfig(agent.Child("capture"), &cfg.capture);
  detect::ReadDetectOptions(agent.Child("detect"), std::filesystem::path(path).parent_path().string(), &cfg.detect);
  RAMPART_RETURN_IF_ERROR(doc.Finish());
  if (cfg.name.empty()) cfg.name = HostName();
  cfg.host.state_dir = cfg.data_dir + "/host";
  cfg.host.agent_name = cfg.name;
  cfg.transport.spool.path = cfg.data_dir + "/spool";
  return cfg;
}

}  // namespace rampart::agent
