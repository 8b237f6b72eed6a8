#pragma once
// The agent's configuration file (agent.yaml). Every key has a default here
// except where noted; LoadAgentConfig reports every problem at once.
//
//   agent:
//     name: web-01            # default: the host name
//     site: so-tai-chinh      # the agency this server belongs to
//     data_dir: /var/lib/rampart-agent
//     log: {level: info, format: text, file: ""}
//     yara:
//       network:                # YARA on network payloads (agent/yara/payload_inspector.h),
//         rules: [/etc/rampart/yara-net]   # files or folders; empty: off. Needs agent.capture.
//         stream_depth: 1MiB    # stream bytes scanned per flow and direction; 0: none
//         stream_context: 2KiB  # earlier bytes rescanned with new ones (strings split across segments)
//         http_body_depth: 1MiB # decoded HTTP body bytes per transaction and direction; 0: none
//         timeout: 1s           # per scan, whole seconds; a slower payload is counted, not alerted on
//   Relative rule paths are relative to the configuration file's directory;
//   agent.yara.externals apply to these rules too. The rule engine
//   (agent.detect) and YARA run side by side on the same sensor.

#include <string>
#include <vector>

#include "agent/detect/detect_config.h"
#include "agent/host/host_sensors.h"
#include "agent/sensor/live.h"
#include "agent/runtime/uplink.h"
#include "agent/yara/payload_inspector.h"
#include "common/log/log.h"
#include "common/status/status.h"

namespace rampart::agent {

// agent.yara.network: rule sets for network use and how deep they look.
struct NetworkYaraConfig {
  std::vector<std::string> rules;  // Empty: YARA does not look at network payloads.
  yara::PayloadScanOptions scan;   // Depths and timeout; defaults in agent/yara/payload_inspector.h.
};

struct AgentConfig {
  std::string name;                                  // Shown in the controller; host name if empty.
  std::string site;                                  // Agency id; set at enrolment when empty.
  std::string data_dir = "/var/lib/rampart-agent";   // Spool, certificates, caches.
  log::Options log;
  host::HostSensorsOptions host;                     // agent.host and agent.yara (agent/host/host_sensors.h).
  UplinkConfig uplink;                               // agent.spool, agent.controller, agent.inputs (agent/runtime/uplink.h).
  sensor::CaptureConfig capture;                     // agent.capture: live network sensor (agent/sensor/live.h).
  detect::DetectOptions detect;                      // agent.detect: rule files, variables (agent/detect/detect_config.h).
  NetworkYaraConfig yara_network;                    // agent.yara.network (above).
};

// kInvalidArgument listing every problem ("agent.log.level: must be one of
// ... (line 4)"); kNotFound when the file is missing.
Result<AgentConfig> LoadAgentConfig(const std::string& path);

}  // namespace rampart::agent
