#pragma once
// The agent daemon's uplink to the controller, as `rampart-agent run` wires
// it: the spool settings, the EVE files to follow into the spool, and the
// shipper (agent/ship), which starts as soon as the agent is enrolled (it checks again every few seconds
// until `rampart-agent enroll` has run). Once a second it writes
// DATA_DIR/status.json (spool, inputs and stream counters) for operators and
// tests; every figure there is durable before it is written.
//
//   agent:
//     spool:   {max_bytes: 1GiB, max_age: 7d, sync: true}
//     controller:
//       address: ctl.example.vn:4317   # default: the one enrolled with
//       server_name: ""                # name in the controller's certificate, when it differs
//       reconnect_initial: 1s
//       reconnect_max: 60s
//       backlog_rate: 5000             # events/s after an outage (alerts are never paced)
//       batch_events: 1000
//       probes: true
//     inputs:
//       eve_files: [/var/log/suricata/eve.json]
//
// Thread-safe: Start and Stop from the daemon's main thread.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "agent/store/spool.h"
#include "common/status/status.h"

namespace rampart::config {
class Section;
}

namespace rampart::agent {

struct UplinkConfig {
  agent_store::SpoolOptions spool;    // path is set by the runtime (DATA_DIR/spool).
  std::string controller;             // Empty: the address enrolled with.
  std::string server_name;
  std::chrono::milliseconds reconnect_initial{1000};
  std::chrono::milliseconds reconnect_max{60000};
  uint32_t backlog_rate = 5000;
  uint32_t batch_events = 1000;
  bool probes = true;
  std::vector<std::string> eve_files;
};

// Reads agent.spool, agent.controller and agent.inputs.
void ReadUplinkConfig(config::Section agent, UplinkConfig* out);

class Uplink {
 public:
  // Starts the EVE file followers, the shipper (when enrolled) and the
  // status writer. The spool must outlive the uplink.
  static Result<std::unique_ptr<Uplink>> Start(const UplinkConfig& config, const std::string& data_dir,
                                               agent_store::Spool& spool, const std::string& version,
                                               const std::string& hostname);
  virtual ~Uplink() = default;
  // Stops the inputs, then the shipper (Goodbye, waits up to `drain` for
  // outstanding acks), writes a last status.
  virtual void Stop(std::chrono::milliseconds drain) = 0;
};

}  // namespace rampart::agent
