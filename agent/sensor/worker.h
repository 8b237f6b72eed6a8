#pragma once
// One pipeline worker: owns a decoder, defragmenter, flow table, app layer,
// inspector and an output buffer; runs on one thread. Internal to the
// sensor module.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/applayer/app_layer.h"
#include "agent/capture/capture.h"
#include "agent/decode/decoder.h"
#include "agent/decode/defrag.h"
#include "agent/flow/flow_table.h"
#include "agent/sensor/inspector.h"
#include "agent/sensor/sensor.h"
#include "agent/sensor/worker_stats.h"
#include "common/eve/json_writer.h"
#include "common/eve/sink.h"

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
  void Publish();
  WorkerStats Published();
  // The counters; only on this worker's thread (or after it stopped).
  WorkerStats Stats() const;
  // First sink error, if any.
  Status sink_status() const { return sink_status_; }

  void Alert(const AlertInfo& alert) override;

 private:
  struct FlowData;

  void HandlePacket(decode::Packet& p);
  void OnFlowEnd(flow::Flow& f, flow::EndReason reason);
  void HandleAppOutput(flow::Flow& f, const decode::Packet* p, int dir, int64_t ts);
  void LogHttp(flow::Flow& f, applayer::FlowApp* app, applayer::HttpTx& tx, int64_t ts, const decode::Packet* p);
  void LogTls(flow::Flow& f, applayer::FlowApp* app, applayer::TlsInfo& tls, int64_t ts, const decode::Packet* p);
  void LogDns(flow::Flow& f, const decode::Packet& p, int dir, const applayer::DnsMessage& m);
  void LogQuic(flow::Flow& f, applayer::QuicInfo& q, int64_t ts, const decode::Packet* p);
  void LogFlow(flow::Flow& f, flow::EndReason reason);
  void LogAnomaly(const decode::Packet& p, flow::Flow* f, int dir, std::string_view type, std::string_view event,
                  std::string_view app_proto);
  void BeginRecord(eve::JsonWriter& w, std::string_view type, int64_t ts, flow::Flow* f, bool reversed,
                   const decode::Packet* p);
  void EndRecord();
  void Inspect(decode::Packet& p, flow::Flow* f, int dir);
  void FillPacketView(const decode::Packet& p, PacketView* v);
  void FillFlowView(flow::Flow& f, int dir, FlowView* v);
  void FillAppView(applayer::FlowApp* app, bool flow_end);
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
  std::string out_;
  Status sink_status_;
  int64_t next_defrag_expire_ = INT64_MIN;

  uint64_t records_ = 0;
  uint64_t alerts_ = 0;
  uint64_t anomalies_ = 0;
  uint64_t stream_events_ = 0;
  uint64_t invalid_checksum_skipped_ = 0;
  int64_t last_packet_nanos_ = 0;

  std::mutex published_mu_;
  WorkerStats published_;

  // Inspector scratch (reused; no allocation per packet once grown).
  const decode::Packet* cur_pkt_ = nullptr;
  flow::Flow* cur_flow_ = nullptr;
  int cur_dir_ = 0;
  PacketView pview_;
  FlowView fview_;
  StreamView sview_;
  std::vector<AnomalyEvent> events_;
  std::vector<uint8_t> stream_scratch_;
  std::vector<HttpTxView> http_views_;
  std::vector<const HttpTxView*> http_ptrs_;
  std::vector<HeaderView> header_views_;
  std::vector<DnsMessageView> dns_views_;
  std::vector<const DnsMessageView*> dns_ptrs_;
  std::vector<DnsQuestionView> dnsq_views_;
  std::vector<DnsRecordView> dnsr_views_;
  TlsView tls_view_;
  std::vector<QuicTxView> quic_views_;
  std::vector<const QuicTxView*> quic_ptrs_;
  std::vector<FieldRecordView> field_rec_views_;
  std::vector<const FieldRecordView*> field_rec_ptrs_;
  std::vector<FieldView> field_views_;
  AppLayerView app_view_;
  std::vector<const applayer::HttpTx*> end_txs_;
  // Maps views back to parser objects for alert context.
  std::vector<const applayer::HttpTx*> http_src_;
  std::vector<const applayer::DnsMessage*> dns_src_;
  const applayer::TlsInfo* tls_src_ = nullptr;
};

}  // namespace rampart::sensor
