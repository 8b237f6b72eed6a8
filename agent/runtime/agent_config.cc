#include "agent/runtime/agent_config.h"

#include <chrono>
#include <filesystem>

#include "common/config/config.h"
#include "common/config/log_section.h"
#include "common/util/ids.h"

namespace rampart::agent {
namespace {

// agent.yara.network. The host sensors read the rest of agent.yara.
void ReadNetworkYara(config::Section yara, const std::string& base_dir, const sensor::CaptureConfig& capture,
                     NetworkYaraConfig* out) {
  config::Section net = yara.Child("network");
  net.StringList("rules", &out->rules);
  for (std::string& r : out->rules) {
    if (!r.empty() && r[0] != '/' && !base_dir.empty()) r = (std::filesystem::path(base_dir) / r).string();
    std::error_code ec;
    if (r.empty() || !std::filesystem::exists(r, ec)) net.Problem("rules", "'" + r + "': no such file or folder");
  }
  uint64_t stream_depth = out->scan.stream_depth;
  uint64_t stream_context = out->scan.stream_context;
  uint64_t http_body_depth = out->scan.http_body_depth;
  net.ByteSize("stream_depth", &stream_depth, 0, 1ull << 30);
  net.ByteSize("stream_context", &stream_context, 0, 1u << 20);
  net.ByteSize("http_body_depth", &http_body_depth, 0, 1ull << 30);
  out->scan.stream_depth = static_cast<uint32_t>(stream_depth);
  out->scan.stream_context = static_cast<uint32_t>(stream_context);
  out->scan.http_body_depth = static_cast<uint32_t>(http_body_depth);
  std::chrono::milliseconds timeout = std::chrono::duration_cast<std::chrono::milliseconds>(out->scan.timeout);
  net.Duration("timeout", &timeout, std::chrono::seconds(1), std::chrono::minutes(1));
  out->scan.timeout = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  if (out->rules.empty()) return;
  if (!capture.enabled) net.Problem("rules", "YARA on network payloads needs the network sensor (agent.capture.enabled)");
  if (out->scan.stream_depth == 0 && out->scan.http_body_depth == 0) {
    net.Problem("stream_depth", "stream_depth and http_body_depth are both 0: nothing would be scanned");
  }
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
  config::ReadLogSection(agent.Child("log"), &cfg.log);
  host::ReadHostConfig(agent, &cfg.host);
  ReadUplinkConfig(agent, &cfg.uplink);
  sensor::ReadCaptureConfig(agent.Child("capture"), &cfg.capture);
  const std::string base_dir = std::filesystem::path(path).parent_path().string();
  detect::ReadDetectOptions(agent.Child("detect"), base_dir, &cfg.detect);
  ReadNetworkYara(agent.Child("yara"), base_dir, cfg.capture, &cfg.yara_network);
  RAMPART_RETURN_IF_ERROR(doc.Finish());
  if (cfg.name.empty()) cfg.name = HostName("agent");
  cfg.host.state_dir = cfg.data_dir + "/host";
  cfg.host.agent_name = cfg.name;
  cfg.uplink.spool.path = cfg.data_dir + "/spool";
  return cfg;
}

}  // namespace rampart::agent
