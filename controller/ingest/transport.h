#pragma once
// The controller's side of the transport as `rampart-controller run` starts
// it: the fleet (enrolment, PKI from `rampartctl pki init`), the link
// monitor (probe reflector), the agent port, and the admin socket rampartctl
// talks to. The store is opened by the runtime and shared with the web UI.
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
//     store: {retention: 90d, alert_retention: 365d, sync: true, writer_threads: 2}
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
#include "controller/store/store.h"

namespace rampart::config {
class Section;
}

namespace rampart::ingest {

struct TransportConfig {
  bool agents_enabled = false;  // The `agents` section is present.
  Options server;
  fleet::Options fleet;         // pki_dir defaults to DATA_DIR/pki.
  links::Options links;         // secret_path: DATA_DIR/links.key.
  controller_store::Options store;  // path: DATA_DIR/store (set by the runtime).
  std::string admin_socket;     // Default DATA_DIR/admin.sock.
};

// Reads controller.agents, .links, .store and .admin_socket; `data_dir`
// fills the defaults.
void ReadTransportConfig(config::Section controller, const std::string& data_dir, TransportConfig* out);

class ControllerTransport {
 public:
  // kNotFound/kPermissionDenied for missing or unsafe PKI files (with what to
  // run); kUnavailable when a port is taken.
  static Result<std::unique_ptr<ControllerTransport>> Start(const TransportConfig& config,
                                                            controller_store::Store& store);
  virtual ~ControllerTransport() = default;
  // The agent port first (streams end, acks drain), then the admin socket
  // and the link monitor.
  virtual void Stop(std::chrono::milliseconds deadline) = 0;
};

}  // namespace rampart::ingest
