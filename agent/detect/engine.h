#pragma once
// The detection engine.
//
// Engine: built once from a RuleSet, then immutable and shared by every
// worker. Building orders the rules as Suricata does (action, flowbits and
// flowint setters before readers, then priority), sorts them into groups by
// protocol, direction and destination port, picks each rule's fast pattern
// the way Suricata picks it, and compiles one Vectorscan database per group
// and inspection buffer.
//
// Detector: one per worker thread (not thread-safe; never shared). It owns
// the scratch space (Vectorscan, PCRE2), the threshold and xbits tables of
// its worker, and runs a packet through the engine:
//
//   IP-only rules      on the first packet of each flow direction
//   packet rules       prefilter over the payload, the stream window and
//                      header buffers; verify candidates in rule order
//   transaction rules  per app-layer transaction that progressed; a rule
//                      alerts at most once per transaction and direction
//
// then applies pass/drop, thresholds and noalert and hands back the alerts,
// at most one per rule per packet, in Suricata's order.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "agent/detect/input.h"
#include "agent/detect/rule.h"
#include "agent/detect/ruleset.h"
#include "common/metrics/counters.h"
#include "common/status/status.h"

namespace rampart::detect {

struct EngineOptions {
  // Suricata's detect.inspection-recursion-limit: bounds backtracking in one list.
  int recursion_limit = 3000;
  // Stream data is inspected once this much is acknowledged and not yet
  // inspected (stream.reassembly.*-chunk-size), or when the app layer or
  // the end of the session asks for it.
  uint32_t stream_chunk_size = 2560;
  // Uninspected stream bytes kept per flow direction; beyond this the
  // window is inspected at once. Bounds memory per flow.
  uint32_t stream_window_limit = 256 * 1024;
  // Alerts kept per packet (Suricata's packet_alert_max).
  int max_alerts_per_packet = 15;
  // Entries in each worker's threshold and xbits tables before the oldest
  // are dropped (bounded memory under a flood of sources).
  size_t max_tracked_hosts = 1 << 20;
};

// One alert, valid until the next Inspect() call on the same Detector.
struct Alert {
  const Rule* rule = nullptr;
  bool has_tx = false;
  uint64_t tx_id = 0;
  const TxView* tx = nullptr;  // The transaction that matched (app-layer context).
  bool stream_match = false;   // Matched on reassembled stream data.
  Dir tx_dir = Dir::kToServer; // Direction of the transaction side that matched.
};

// Counters of one Detector (never reset).
#define RAMPART_DETECT_COUNTERS(X)                                                       \
  X(kCounter, packets, "", "packets inspected")                                         \
  X(kCounter, alerts, "", "alerts raised")                                              \
  X(kCounter, suppressed, "", "matches suppressed by a threshold, noalert or a pass rule") \
  X(kCounter, candidates, "", "rules verified after the prefilter")                     \
  X(kCounter, stream_windows, "", "stream windows inspected")                           \
  X(kCounter, stream_bytes, "", "stream bytes inspected")                               \
  X(kCounter, txs_inspected, "", "app-layer transactions inspected")                    \
  X(kCounter, flows_passed, "", "flows a pass rule took out of inspection")             \
  X(kCounter, recursion_limit_hits, "", "inspections cut at the recursion limit")

struct DetectStats {
  RAMPART_COUNTERS(DetectStats, "detect", RAMPART_DETECT_COUNTERS)
};

class Engine;

// Per-flow detection state (flowbits, flowints, stream windows, per-
// transaction progress of stateful rules). Created by Detector::NewFlowState
// and owned by whoever owns the flow; destroying it forgets the flow.
class FlowDetectState {
 public:
  ~FlowDetectState();
  FlowDetectState(const FlowDetectState&) = delete;
  FlowDetectState& operator=(const FlowDetectState&) = delete;
  bool passed() const;  // A pass rule matched the flow: no more inspection.

 private:
  friend class Detector;
  FlowDetectState();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Engine {
 public:
  // kInvalidArgument when a Vectorscan database cannot be built.
  static Result<std::unique_ptr<Engine>> Build(RuleSet rules, const EngineOptions& options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  size_t rule_count() const;
  // Rules in inspection order.
  const Rule& rule(size_t num) const;
  const EngineOptions& options() const;
  // Bytes held by the Vectorscan databases.
  size_t database_bytes() const;
  size_t database_count() const;

 private:
  friend class Detector;
  Engine();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Detector {
 public:
  // `engine` must outlive the detector. Fails only when scratch space
  // cannot be allocated.
  static Result<std::unique_ptr<Detector>> Create(const Engine& engine);
  ~Detector();
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;

  std::unique_ptr<FlowDetectState> NewFlowState() const;

  // Runs one packet (or flow-end pseudo packet) and the transactions that
  // progressed with it. Appends the alerts to raise, in order, to *alerts.
  void Inspect(const PacketInput& p, std::span<const TxView* const> txs, std::vector<Alert>* alerts);

  // Forgets a transaction once the app layer frees it.
  void ForgetTx(FlowDetectState& flow, uint64_t tx_id);

  const DetectStats& stats() const { return stats_; }

 private:
  explicit Detector(const Engine& engine);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  DetectStats stats_;
};

}  // namespace rampart::detect
