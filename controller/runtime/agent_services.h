#pragma once
// controller/runtime: the controller's agent-facing services, as
// `rampart-controller run` starts them: the fleet (enrolment, PKI from
// `rampartctl pki init`), the link monitor (probe reflector), the agent
// port (controller/ingest), and the admin socket rampartctl talks to. The
// store (and its registry) is opened by the runtime and shared with the web
// UI and notifications.
//
//   controller:
//     agents:                       # the agent port; absent: no agents (admin socket only)
//       listen: 0.0.0.0:4317
//       pki_dir: /var/lib/rampart-controller/pki   # ca.crt ca.key server.crt server.key
//       heartbeat_interval: 10s
//       max_batches_in_flight: 4
//       token_ttl: 24h              # default lifetime of enrolment tokens
//       certificate_validity: 90d   # agent certificates (renewed at two thirds)
//     links:                        # WAN link health (controller/links/monitor.h)
//       reflector: 0.0.0.0:4318
//       probe_interval: 200ms
//       dead_after: 5s
//       clear_after: 3s
//       window: 10s
//       degraded_loss: 0.10         # raise ...
//       degraded_loss_clear: 0.03   # ... and clear thresholds
//       degraded_rtt_ms: 0          # 0: RTT never degrades
//       degraded_rtt_ms_clear: 0
//       degraded_jitter_ms: 0
//       degraded_jitter_ms_clear: 0
//       degraded_clear_for: 10s
//     admin_socket: /var/lib/rampart-controller/admin.sock
//
// Start/Stop on the daemon's main thread.

#include <chrono>
#include <memory>
#include <string>

#include "common/status/status.h"
#include "controller/fleet/fleet.h"
#include "controller/ingest/server.h"
#include "controller/links/monitor.h"
#include "controller/registry/registry.h"
#include "controller/store/store.h"

namespace rampart::config {
class Section;
}

namespace rampart::controller {

struct AgentServicesConfig {
  bool agents_enabled = false;  // The `agents` section is present.
  ingest::Options server;
  fleet::Options fleet;         // pki_dir defaults to DATA_DIR/pki.
  links::Options links;         // secret_path: DATA_DIR/links.key.
  std::string admin_socket;     // Default DATA_DIR/admin.sock.
};

// Reads controller.agents, .links and .admin_socket; `data_dir` fills the
// defaults.
void ReadAgentServicesConfig(config::Section controller, const std::string& data_dir, AgentServicesConfig* out);

class AgentServices {
 public:
  // kNotFound/kPermissionDenied for missing or unsafe PKI files (with what to
  // run); kUnavailable when a port is taken. `store` (and its registry) must
  // outlive the services.
  static Result<std::unique_ptr<AgentServices>> Start(const AgentServicesConfig& config,
                                                      controller_store::Store& store);
  virtual ~AgentServices() = default;
  // The agent port first (streams end, acks drain), then the admin socket
  // and the link monitor.
  virtual void Stop(std::chrono::milliseconds deadline) = 0;
};

}  // namespace rampart::controller
