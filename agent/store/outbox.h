#pragma once
// What the shipper drains: spooled events in sequence order, an alerts-only
// lane for sending alerts ahead of a backlog, and acknowledgements that let
// events go. agent_store::Spool is the implementation the agent runs;
// benchmarks may provide their own (bench/transport_bench.cc simulates
// hundreds of agents in one process).
//
// Thread safety: implementations are safe for concurrent use; the shipper
// reads and acknowledges from its own thread while sensors append.

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/metrics/counters.h"
#include "common/status/status.h"

namespace rampart::agent_store {

struct SeqRange {
  uint64_t first = 0;
  uint64_t last = 0;  // Inclusive.
};

struct OutboxEntry {
  uint64_t sequence = 0;
  bool alert = false;
  // A serialized rampart.v1.Event with sequence, times, kind, severity,
  // endpoints and the EVE record filled in; agent_id is left empty (the
  // controller takes the agent's identity from its certificate).
  std::string event;
};

enum class Lane {
  kAll,     // Every unacknowledged event, in sequence order.
  kAlerts,  // Unacknowledged alerts only, in sequence order.
};

#define RAMPART_OUTBOX_COUNTERS(X)                                                          \
  X(kGauge, last_sequence, "", "highest sequence ever assigned (0: none yet)")             \
  X(kGauge, depth, "", "events not yet acknowledged by the controller")                    \
  X(kGauge, bytes, "", "approximate bytes of those events")                                \
  X(kGauge, alerts, "", "of those events, alerts")                                         \
  X(kCounter, appended, "", "events made durable since start")                             \
  X(kCounter, acknowledged, "", "events the controller acknowledged since start")          \
  X(kCounter, dropped, "", "events dropped by retention, ever (persisted)")                \
  X(kCounter, rejected, "", "records that were not EVE JSON objects, since start")

struct OutboxStats {
  RAMPART_COUNTERS(OutboxStats, "spool", RAMPART_OUTBOX_COUNTERS)
};

class Outbox {
 public:
  virtual ~Outbox() = default;
  // Appends to `out` up to `max_events` entries (and about `max_bytes`, at
  // least one) of `lane` with sequence > `after`. Returns how many it added;
  // 0 when there is nothing yet.
  virtual Result<size_t> Read(Lane lane, uint64_t after, size_t max_events, size_t max_bytes,
                              std::vector<OutboxEntry>* out) = 0;
  // The controller stored these sequences: they leave the outbox. Ranges
  // may include sequences already gone; that is not an error.
  virtual Status Ack(std::span<const SeqRange> ranges) = 0;
  // Sequences dropped by retention that the controller has not been told
  // about yet (it closes its gaps with them). They are forgotten once acked.
  virtual std::vector<SeqRange> Gone() = 0;
  // Blocks until an event with sequence > `after` exists or `timeout` passes.
  virtual bool WaitForAppend(uint64_t after, std::chrono::milliseconds timeout) = 0;
  // The controller holds more than this outbox ever numbered (the spool was
  // reset): renumber unacknowledged events from `next` on and continue there.
  virtual Status Renumber(uint64_t next) = 0;
  virtual OutboxStats Stats() const = 0;
};

}  // namespace rampart::agent_store
