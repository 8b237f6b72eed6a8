#pragma once
// controller/ingest: the agent port. gRPC callback services over mutual TLS
// (TLS 1.3 only): GetCaCertificate and Enroll (before the agent has a
// certificate), Renew and Stream (with one).
//
// A stream: the agent's Hello, then the controller's Welcome (where to
// resume, heartbeat interval, probe key); then batches up and acks down.
// The agent id is the verified certificate's CN, never a message field. A
// batch is acknowledged only after the store's group commit made it durable
// (exactly once by agent and sequence), with the exact sequences it
// accounted for, so alerts sent ahead of a backlog are acked at once.
// Backpressure: each stream has at most `max_batches_in_flight` batches
// waiting for the store; the server stops reading a stream at that point,
// and TCP flow control slows the agent.
//
//   auto server = Server::Start({.listen = "0.0.0.0:4317"}, registry, store, fleet, links);
//   ...
//   (*server)->Shutdown(std::chrono::seconds(5));  // Shutdown(deadline) then Wait()
//
// Threads: gRPC's callback threads run the reactors (they never block on
// the network or on fsync); the store's writer thread completes acks.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status/status.h"

namespace rampart::controller_store {
class Store;
}
namespace rampart::registry {
class Registry;
}
namespace rampart::fleet {
class Fleet;
}
namespace rampart::links {
class Monitor;
}

namespace rampart::ingest {

struct Options {
  std::string listen = "0.0.0.0:4317";  // Port 0 picks a free port (tests).
  std::chrono::seconds heartbeat_interval{10};  // Told to agents in Welcome.
  // Batches a stream may have waiting for the store. More hides WAN
  // latency; fewer bounds the controller's memory per agent. Four 1000-event
  // batches keep a backlog draining at the default 5,000 events/s over
  // round trips of up to 0.8 s, and 500 agents' batches in flight stay near
  // a gigabyte (with 8, 2.3 GB; docs/PERFORMANCE.md compares the two).
  uint32_t max_batches_in_flight = 4;
  // Above this many events queued for the store (all agents), streams with
  // a batch already in flight are not read until it is acknowledged.
  uint64_t max_queued_events = 1'000'000;
  size_t max_message_bytes = 32u << 20;
  // HTTP/2 keepalive: a silent, dead TCP connection (a cut WAN link) is
  // noticed within time + timeout. The timeout is also the sockets'
  // TCP_USER_TIMEOUT: shorter ones cut streams over lossy links.
  std::chrono::seconds keepalive_time{30};
  std::chrono::seconds keepalive_timeout{20};
};

struct Counters {
  uint64_t streams_open = 0;
  uint64_t streams_total = 0;
  uint64_t streams_refused = 0;   // No, bad or revoked certificate.
  uint64_t batches = 0;
  uint64_t events = 0;
  uint64_t acks = 0;
  uint64_t heartbeats = 0;
  uint64_t enrolments = 0;
  uint64_t enrolments_refused = 0;
};

class Server {
 public:
  // kUnavailable when the port cannot be bound. Batches go to `store`'s
  // writer; connections and heartbeats to `registry`. `links` may be null
  // (no link monitoring). All must outlive the server.
  static Result<std::unique_ptr<Server>> Start(const Options& options, registry::Registry& registry,
                                               controller_store::Store& store, fleet::Fleet& fleet,
                                               links::Monitor* links);
  virtual ~Server() = default;
  virtual int port() const = 0;
  // Stops accepting, cancels calls still running after `deadline`, waits for
  // every reactor to finish (logging any that leak), and returns.
  virtual void Shutdown(std::chrono::milliseconds deadline) = 0;
  virtual Counters counters() const = 0;
};

}  // namespace rampart::ingest
