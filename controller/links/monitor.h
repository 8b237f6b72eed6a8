#pragma once
// controller/links: WAN link health per site (agency).
//
// Evidence: TWAMP-light style UDP probes that every agent sends to the
// reflector here (about five a second, each authenticated with an
// HMAC-SHA256 under a per-agent key handed out in the agent's Welcome, so a
// forged or replayed packet proves nothing), the round-trip measurements
// agents report in heartbeats (RTT, jitter, loss), and any message on an
// agent's stream.
//
// Per agent: up while heard within `dead_after`. Silent while another agent
// of its site still answers: "down" (the agent, not the link). Silent with
// every other agent of its site: "unreachable", and the site is "down". A
// clean shutdown (Goodbye) is "stopped", not down.
//
// Per site: "down" when no agent answered for `dead_after`; "up" again after
// an agent answered continuously for `clear_after`. "degraded" when loss,
// RTT or jitter crosses its raise threshold, cleared only when all are below
// their clear thresholds for `degraded_clear_for`: separate raise and clear
// thresholds, so a link on the edge does not flap. Loss over the window is
// the worse of what the reflector counted (probe sequence gaps) and what the
// agent measured round trip.
//
// Every state change is kept in the registry (the agent's and the site's
// state) and stored as an event (controller_store::LinkChange) that
// notifications route; every 10 s a history sample per site goes to the
// registry, which downsamples it.
//
// Threads: the reflector thread answers probes; the evaluator thread ticks
// every `evaluate_every`; the Stream* / Heard / Heartbeat calls come from
// ingest's gRPC threads. All methods are thread-safe.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status/status.h"
#include "common/util/clock.h"
#include "controller/registry/registry.h"
#include "controller/store/store.h"

namespace rampart::links {

struct Options {
  // UDP address of the probe reflector. Port 0 picks a free port (tests).
  std::string reflector_listen = "0.0.0.0:4318";
  // A 32-byte secret (file mode 0600) from which each agent's probe key is
  // derived, so keys survive a controller restart and agents' probes are
  // answered at once. Created when missing.
  std::string secret_path;
  // How often agents probe (sent to them in Welcome). Faster detects
  // outages sooner and costs ~100 bytes per probe on the WAN.
  std::chrono::milliseconds probe_interval{200};
  std::chrono::milliseconds evaluate_every{1000};
  // Silence after which an agent (and, when all are silent, its site) is
  // down. Lower detects cuts sooner; too low turns a burst of loss into a
  // false "down".
  std::chrono::milliseconds dead_after{5000};
  // An agent must answer this long without a gap before a down site is up.
  std::chrono::milliseconds clear_after{3000};
  // Window over which loss, RTT and jitter are judged.
  std::chrono::milliseconds window{10000};
  double degraded_loss_raise = 0.10;   // Loss ratio that makes a site degraded...
  double degraded_loss_clear = 0.03;   // ...and the ratio it must fall under to clear.
  double degraded_rtt_ms_raise = 0;    // 0: RTT never degrades a site.
  double degraded_rtt_ms_clear = 0;
  double degraded_jitter_ms_raise = 0; // 0: jitter never degrades a site.
  double degraded_jitter_ms_clear = 0;
  // Below every clear threshold this long before "degraded" clears.
  std::chrono::milliseconds degraded_clear_for{10000};
  const Clock* clock = &SystemClock();
};

class Monitor {
 public:
  // kUnavailable when the UDP port cannot be bound; kInvalidArgument for
  // thresholds that contradict each other (clear above raise).
  // States, site links and history go to `registry`; each change is also
  // recorded as an event in `store`. Both must outlive the monitor.
  static Result<std::unique_ptr<Monitor>> Start(const Options& options, registry::Registry& registry,
                                                controller_store::Store& store);
  virtual ~Monitor() = default;

  virtual int reflector_port() const = 0;
  virtual std::chrono::milliseconds probe_interval() const = 0;

  // An agent's stream opened; returns its 32-byte probe key for the Welcome
  // (HMAC of the agent id under the controller's secret).
  virtual std::string StreamOpened(const std::string& agent_id) = 0;
  // Its stream closed; `goodbye` when the agent said so first.
  virtual void StreamClosed(const std::string& agent_id, bool goodbye) = 0;
  // Any message from the agent on its stream.
  virtual void Heard(const std::string& agent_id) = 0;
  // The agent's own round-trip measurement, from a heartbeat.
  virtual void Measured(const std::string& agent_id, const registry::LinkMetrics& metrics) = 0;

  // Stops both threads; called by the destructor too.
  virtual void Stop() = 0;
};

// The probe wire format is common/probe/link_probe.h, shared with agent/ship.
// The reflector answers only requests whose MAC verifies under the agent's
// key, whose sequence it has not seen, and whose timestamp is not older than
// the newest it accepted from that agent (a replayed packet is refused).

}  // namespace rampart::links
