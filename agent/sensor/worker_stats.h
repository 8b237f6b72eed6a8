#pragma once
// Every counter a worker keeps, for stats records: the pipeline stages'
// tables and the worker's own (common/metrics/counters.h). Workers keep
// their own copy; the sensor merges them with Add.

#include <cstdint>

#include "agent/applayer/app_layer.h"
#include "agent/decode/decoder.h"
#include "agent/decode/defrag.h"
#include "agent/flow/flow_table.h"
#include "agent/flow/tcp_stream.h"
#include "common/metrics/counters.h"

namespace rampart::sensor {

#define RAMPART_WORKER_COUNTERS(X)                                                                   \
  X(kGauge, reassembly_memuse, "tcp.reassembly_memuse", "bytes of out-of-order segments held")       \
  X(kGauge, flow_memuse, "flow.memuse", "bytes charged to the flows in the table")                   \
  X(kCounter, records, "", "EVE records written")                                                   \
  X(kCounter, alerts, "detect.alert", "alerts written")                                              \
  X(kCounter, anomalies, "", "anomaly records written")                                              \
  X(kCounter, stream_events, "", "stream anomalies counted")                                         \
  X(kCounter, invalid_checksum_skipped, "tcp.invalid_checksum", "TCP segments kept out of the stream for a bad checksum") \
  X(kMax, last_packet_nanos, "", "timestamp of the newest packet, Unix ns")

struct WorkerStats {
  decode::DecodeCounters decode;
  decode::DefragCounters defrag;
  flow::FlowCounters flow;
  flow::ReassemblyCounters reassembly;
  applayer::AppCounters app;
  RAMPART_COUNTERS(WorkerStats, "sensor", RAMPART_WORKER_COUNTERS)

  // Adds `o`, each row by its kind (maxima are maxed, not added).
  void Add(const WorkerStats& o) {
    decode.Add(o.decode);
    metrics::MergeCounters(defrag, o.defrag);
    metrics::MergeCounters(flow, o.flow);
    metrics::MergeCounters(reassembly, o.reassembly);
    metrics::MergeCounters(app, o.app);
    metrics::MergeCounters(*this, o);
  }
};

}  // namespace rampart::sensor
