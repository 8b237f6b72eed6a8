#pragma once
// Fills a real controller store the way ingest does (through its
// EventWriter, exactly once, group-committed), for tests, the UI harness
// and benchmarks: sites, agents, alerts with EVE records and flow context,
// link states and history.

#include <cstdint>
#include <string>
#include <vector>

#include "common/status/status.h"
#include "controller/store/store.h"

namespace rampart::testing {

struct SeedAlert {
  std::string site = "so-y-te";
  std::string agent_id = "agent-so-y-te-1";
  int severity = 2;
  uint64_t sid = 2024001;
  std::string signature = "ET MALWARE Test beacon";
  std::string category = "A Network Trojan was detected";
  std::string src_ip = "10.10.1.5";
  uint16_t src_port = 49152;
  std::string dest_ip = "203.0.113.9";
  uint16_t dest_port = 443;
  int64_t time_nanos = 0;    // 0: now.
  uint64_t flow_id = 0;      // 0: none; else flow + tls records of the same flow are stored too.
};

// Creates `site` (if missing) and an enrolled agent `agent_id` in it.
Status SeedAgent(controller_store::Store& store, const std::string& site, const std::string& agent_id,
                 const std::string& agent_name);

// Stores the alerts (and their flow context) and waits until they are
// durable. Sequences continue per agent from what the store already holds.
// Returns the ids of the alerts.
Result<std::vector<controller_store::EventId>> SeedAlerts(controller_store::Store& store,
                                                         const std::vector<SeedAlert>& alerts);

}  // namespace rampart::testing
