#pragma once
// One pipeline worker: owns a decoder, defragmenter, flow table, app layer,
// inspector and its EVE records; runs on one thread. This is the packet
// pipeline; the inspector's views are built by app_views.h and the EVE
// records by eve_records.h. Internal to the sensor module.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/applayer/app_layer.h"
#include "agent/capture/capture.h"
#include "agent/decode/decoder.h"
#include "agent/decode/defrag.h"
#include "agent/flow/flow_table.h"
#include "agent/sensor/app_views.h"
#include "agent/sensor/eve_records.h"
#include "agent/sensor/inspector.h"
#include "agent/sensor/sensor.h"
#include "agent/sensor/worker_stats.h"
#include "common/eve/sink.h"
#include "common/util/mutex.h"

namespace rampart::sensor {

class Worker final : public AlertSink {
 public:
  Worker(int index, const SensorOptions& options, capture::LinkType link, eve::EveSink* sink,
         std::unique_ptr<Inspector> inspector);
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Process(const capture::Frame& frame);
  // Idle live capture: advances flow and fragment timeouts to wall time.
  void Tick(int64_t now_nanos);
  // Ends every flow (their records are written) and flushes the output.
  void Finish();
  // Writes buffered records to the sink.
  Status Flush();
  // Copies the counters for other threads to read with Published().
  void Publish() EXCLUDES(published_mu_);
  WorkerStats Published() EXCLUDES(published_mu_);
  // The counters; only on this worker's thread (or after it stopped).
  WorkerStats Stats() const;
  // First sink error, if any.
  Status sink_status() const { return sink_status_; }

  void Alert(const AlertInfo& alert) override;

 private:
  struct FlowData;

  void HandlePacket(decode::Packet& p);
  void OnFlowEnd(flow::Flow& f, flow::EndReason reason);
  // Logs the app layer's records and anomalies of this packet (`p` null at
  // a flow's end).
  void HandleAppOutput(flow::Flow& f, const decode::Packet* p, int dir, int64_t ts);
  // Counts and logs an anomaly.
  void LogAnomaly(const decode::Packet& p, flow::Flow* f, int dir, std::string_view type, std::string_view event,
                  std::string_view app_proto);
  // Hands the packet, with its views, to the inspector.
  void Inspect(decode::Packet& p, flow::Flow* f, int dir);
  FlowData* Data(flow::Flow& f);

  const SensorOptions& options_;
  eve::EveSink* sink_;
  decode::Decoder decoder_;
  decode::Defragmenter defrag_;
  flow::FlowTable table_;
  applayer::AppLayer app_;
  std::unique_ptr<Inspector> inspector_;
  InspectorNeeds needs_;

  decode::Packet pkt_;
  // Per tunnel depth: a datagram rebuilt from fragments, and the packet a
  // tunnel carries.
  decode::Packet rpkt_[decode::Decoder::kMaxTunnelDepth + 2];
  decode::Packet inner_[decode::Decoder::kMaxTunnelDepth + 2];
  flow::TcpResult tcp_;
  flow::TcpResult flush_;
  applayer::AppOutput app_out_;
  EveRecords eve_;
  Status sink_status_;
  int64_t next_defrag_expire_ = INT64_MIN;

  uint64_t alerts_ = 0;
  uint64_t anomalies_ = 0;
  uint64_t stream_events_ = 0;
  uint64_t invalid_checksum_skipped_ = 0;
  int64_t last_packet_nanos_ = 0;

  Mutex published_mu_;
  WorkerStats published_ GUARDED_BY(published_mu_);

  // What the inspector is looking at (the alert's context), and its views
  // (reused; no allocation per packet once grown).
  const decode::Packet* cur_pkt_ = nullptr;
  flow::Flow* cur_flow_ = nullptr;
  PacketView pview_;
  FlowView fview_;
  StreamView sview_;
  std::vector<AnomalyEvent> events_;
  std::vector<uint8_t> stream_scratch_;
  AppViews app_views_;
};

}  // namespace rampart::sensor
