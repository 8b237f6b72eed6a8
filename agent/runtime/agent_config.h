#pragma once
// The agent's configuration file (agent.yaml). Every key has a default here
// except where noted; LoadAgentConfig reports every problem at once.
//
//   agent:
//     name: web-01            # default: the host name
//     site: so-tai-chinh      # the agency this server belongs to
//     data_dir: /var/lib/rampart-agent
//     log: {level: info, format: text, file: ""}

#include <string>

#include "agent/detect/detect_config.h"
#include "agent/host/host_sensors.h"
#include "agent/sensor/live.h"
#include "agent/ship/transport.h"
#include "common/log/log.h"
#include "common/status/status.h"

namespace rampart::agent {

struct AgentConfig {
  std::string name;                                  // Shown in the controller; host name if empty.
  std::string site;                                  // Agency id; set at enrolment when empty.
  std::string data_dir = "/var/lib/rampart-agent";   // Spool, certificates, caches.
  log::Options log;
  host::HostSensorsOptions host;                     // agent.host and agent.yara (agent/host/host_sensors.h).
  ship::TransportConfig transport;                   // agent.spool, agent.controller, agent.inputs (agent/ship/transport.h).
  sensor::CaptureConfig capture;                     // agent.capture: live network sensor (agent/sensor/live.h).
  detect::DetectOptions detect;                      // agent.detect: rule files, variables (agent/detect/detect_config.h).
};

// kInvalidArgument listing every problem ("agent.log.level: must be one of
// ... (line 4)"); kNotFound when the file is missing.
Result<AgentConfig> LoadAgentConfig(const std::string& path);

}  // namespace rampart::agent
