#pragma once
// The network sensor pipeline: frames from a PacketSource are decoded,
// defragmented, tracked as flows, reassembled and parsed, and the results
// written as EVE records (flow, dns, http, tls, anomaly, stats; alert from
// an inspector) to an EveSink.
//
// Threads: with `workers` = 1 the calling thread does everything (no
// queues). With N > 1 the calling thread reads and dispatches by a hash of
// the address pair (both directions of a flow and every fragment of a
// datagram meet in the same worker) and N worker threads do the rest. Frame
// bytes are never copied between them: a batch is shared and released by
// every worker that used it.
//
// Time: packet timestamps drive flow and fragment timeouts, so a replay
// behaves the same however fast it runs. Stats records are written every
// `stats_interval` of wall-clock time (0: only at the end) and at the end.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "agent/applayer/app_layer.h"
#include "agent/capture/capture.h"
#include "agent/decode/decoder.h"
#include "agent/decode/defrag.h"
#include "agent/flow/flow_table.h"
#include "agent/sensor/inspector.h"
#include "common/eve/sink.h"
#include "common/status/status.h"

namespace rampart::sensor {

struct SensorOptions {
  int workers = 1;  // Worker threads; 1 runs on the calling thread.
  decode::DecoderOptions decoder;
  decode::DefragOptions defrag;           // memcap is per worker.
  flow::FlowTableOptions flows;           // memcap is the total, shared out among workers.
  flow::ReassemblyOptions reassembly;     // memcap is the total, shared out among workers.
  applayer::AppOptions app;
  // Stats records by wall-clock interval (0: only one at the end).
  std::chrono::milliseconds stats_interval{0};
  // Write pcap_cnt (replay of a file); off for live capture.
  bool pcap_cnt = true;
  // Anomaly records: decoder and app-layer anomalies are written; stream
  // anomalies (retransmissions, gaps, ...) are frequent in real traffic and
  // only counted unless this is set.
  bool log_stream_anomalies = false;
  // Live capture: add a "capture" object (kernel packets and drops) to
  // stats records (an extension of Suricata's schema, see
  // common/eve/rampart-eve-extension.json).
  bool capture_stats = false;
  // The detection hook; null for none. Must outlive Run().
  InspectorFactory* inspector = nullptr;
};

// Totals after a run (also in the final stats record).
struct SensorTotals {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t flows = 0;
  uint64_t records = 0;
  uint64_t alerts = 0;
  uint64_t anomalies = 0;
  uint64_t kernel_drops = 0;
  // Why the source ended before its end (a truncated or corrupt capture
  // file, kDataLoss), or OK. Everything before that point was processed.
  Status source_error;
};

class Sensor {
 public:
  // `sink` must outlive the sensor. kInvalidArgument for impossible options;
  // an inspector factory's Create() error is returned as is.
  static Result<std::unique_ptr<Sensor>> Create(const SensorOptions& options, capture::LinkType link,
                                                eve::EveSink* sink);
  virtual ~Sensor() = default;

  // Reads `source` until it ends or Stop() is called, then ends every flow
  // (writing their records) and writes a final stats record. A source error
  // (truncated file) is returned after everything before it was processed
  // and written (and kept in totals().source_error); a failure to write the
  // output is returned in preference to it.
  virtual Status Run(capture::PacketSource& source) = 0;
  // Any thread: makes Run() return soon (it still flushes and writes stats).
  virtual void Stop() = 0;
  virtual SensorTotals totals() const = 0;
};

}  // namespace rampart::sensor
