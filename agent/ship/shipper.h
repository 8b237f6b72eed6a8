#pragma once
// agent/ship: the agent's one stream to the controller (gRPC over mutual
// TLS). It drains an Outbox (the spool): Hello, then the controller's Welcome
// says where to resume; batches go up, acks come back and only then do
// events leave the spool. Up to the controller's `max_batches_in_flight`
// batches are unacknowledged at once (hides WAN latency).
//
// After an outage (a backlog at connect time), unacknowledged alerts are
// sent first, then the backlog at `backlog_events_per_second` so a
// district's link is not flooded; new alerts keep overtaking the backlog
// while it drains. Live events are not paced. A broken stream is retried
// with jittered exponential backoff. Heartbeats carry the agent's health,
// queue depth, drops and version; UDP probes to the controller's reflector
// measure the link (RTT, jitter, loss) even while the stream is down.
//
//   auto shipper = Shipper::Start(options, spool);
//   ...
//   shipper->Stop(std::chrono::seconds(5));  // Goodbye, wait for acks, close
//
// Threads: one control thread per Shipper (connects, reads the outbox,
// paces, sends heartbeats, applies acks to the outbox), one probe thread,
// and gRPC's callback threads for the stream's reads and writes.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "agent/ship/identity.h"
#include "agent/store/outbox.h"
#include "common/metrics/counters.h"
#include "common/status/status.h"

namespace rampart::ship {

struct ShipperOptions {
  Identity identity;              // From LoadIdentity or Enroll.
  std::string controller;         // HOST:PORT; empty: the one enrolled with.
  std::string data_dir;           // Where renewed certificates are saved; empty: no renewal.
  std::string version;            // This agent's version line (Hello, heartbeats).
  std::string hostname;
  // Reconnect backoff: doubles from `reconnect_initial` up to
  // `reconnect_max`, each wait drawn uniformly from [half, full] so a fleet
  // does not reconnect in lockstep after a controller restart.
  std::chrono::milliseconds reconnect_initial{1000};
  std::chrono::milliseconds reconnect_max{60000};
  // Batch limits. Larger batches cost fewer round trips; smaller ones
  // are acknowledged (and leave the spool) sooner.
  size_t batch_max_events = 1000;
  size_t batch_max_bytes = 1u << 20;
  // Backlog pace after an outage, events per second; 0 = as fast as the
  // controller takes them. Alerts are never paced.
  uint32_t backlog_events_per_second = 5000;
  // A backlog is what is queued when the stream opens beyond this many events.
  uint64_t backlog_threshold = 2000;
  // The most batches unacknowledged at once (the controller may lower it).
  uint32_t max_batches_in_flight = 8;
  // How long to wait for the TLS handshake and the Welcome (a controller
  // that hundreds of agents reconnect to at once may take a while).
  std::chrono::milliseconds connect_timeout{30000};
  bool heartbeats = true;
  bool probes = true;  // Needs the controller to offer a reflector in its Welcome.
  // Extra heartbeat fields the caller knows (capture drops, policy and rules
  // versions); called on the control thread.
  std::function<void(uint64_t* capture_drops, std::string* policy_version, std::string* rules_version)> extra_health;
};

#define RAMPART_SHIPPER_COUNTERS(X)                                                    \
  X(kCounter, connects, "", "streams that got a Welcome")                             \
  X(kCounter, failures, "", "connection attempts or streams that failed")             \
  X(kCounter, batches_sent, "", "batches sent")                                       \
  X(kCounter, events_sent, "", "events sent, resends after a reconnect included")     \
  X(kCounter, events_acked, "", "sequences the controller accounted for")             \
  X(kCounter, alerts_ahead, "", "alerts sent ahead of a backlog")                     \
  X(kCounter, heartbeats_sent, "", "heartbeats sent")                                 \
  X(kGauge, stored_through, "", "the controller's watermark from the latest ack")

struct ShipperStats {
  RAMPART_COUNTERS(ShipperStats, "ship", RAMPART_SHIPPER_COUNTERS)
  bool connected = false;
  std::string last_error;
  // The probe window (round trip).
  double rtt_ms = 0;
  double jitter_ms = 0;
  double loss_ratio = 0;
  uint32_t probes_sent = 0;
  uint32_t probes_received = 0;
};

class Shipper {
 public:
  // kInvalidArgument for a bad controller address or identity. Connecting
  // happens on the control thread; failures there are retried, not returned.
  static Result<std::unique_ptr<Shipper>> Start(const ShipperOptions& options, agent_store::Outbox& outbox);
  virtual ~Shipper() = default;
  // Sends Goodbye, waits up to `drain` for outstanding acks, closes the
  // stream and joins the threads. Idempotent.
  virtual void Stop(std::chrono::milliseconds drain) = 0;
  virtual ShipperStats Stats() const = 0;
};

}  // namespace rampart::ship
