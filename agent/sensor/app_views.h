#pragma once
// The inspector's views (inspector.h) of what the sensor decoded: the
// packet, the flow, the new stream bytes and the app-layer data that
// progressed. Views point into the decoder's packet and the parsers'
// objects and are valid until they are built again (the next packet or
// flow end on the same worker). Internal to the sensor module; used by one
// worker thread only.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/applayer/app_layer.h"
#include "agent/decode/packet.h"
#include "agent/flow/flow_table.h"
#include "agent/sensor/inspector.h"

namespace rampart::sensor {

void FillPacketView(const decode::Packet& p, PacketView* v);
// `state_slot` is the flow's slot for the inspector's per-flow state.
void FillFlowView(flow::Flow& f, int dir, std::unique_ptr<FlowInspectorState>* state_slot, FlowView* v);
// The stream bytes `tcp` delivered in one direction, after up to
// `keep_context` bytes kept from earlier calls in `context` (which is then
// updated); `scratch` holds the bytes when they are not one chunk.
// `tcp.chunks` must not be empty.
void FillStreamView(const flow::TcpResult& tcp, uint32_t keep_context, std::string* context,
                    std::vector<uint8_t>* scratch, StreamView* v);

// The app-layer views of one flow, rebuilt for every inspector call, and
// the parser objects behind them (for an alert's app-layer context).
class AppViews {
 public:
  // What progressed with the current packet (`out`), or at the flow's end
  // everything the flow still holds. Marks the HTTP bodies as reported up
  // to here (HttpTxView::*_body_new counts from there next time).
  const AppLayerView& Build(applayer::FlowApp* app, const applayer::AppOutput& out, bool flow_end);
  const AppLayerView& view() const { return view_; }

  // The parser object behind a view of the last Build; null when `v` is not one.
  const applayer::HttpTx* HttpSource(const HttpTxView* v) const;
  const applayer::DnsMessage* DnsSource(const DnsMessageView* v) const;
  const applayer::TlsInfo* TlsSource(const TlsView* v) const;

 private:
  void Clear();
  void BuildFields(applayer::FlowApp& app, const applayer::AppOutput& out, bool flow_end);
  void BuildHttp(applayer::FlowApp& app, const applayer::AppOutput& out, bool flow_end);
  void BuildDns(const applayer::AppOutput& out, bool flow_end);
  void BuildTls(applayer::FlowApp& app, const applayer::AppOutput& out, bool flow_end);
  void BuildQuic(const applayer::AppOutput& out, bool flow_end);

  AppLayerView view_;
  // Scratch, reused: no allocation per packet once grown.
  std::vector<HttpTxView> http_views_;
  std::vector<const HttpTxView*> http_ptrs_;
  std::vector<HeaderView> header_views_;
  std::vector<DnsMessageView> dns_views_;
  std::vector<const DnsMessageView*> dns_ptrs_;
  std::vector<DnsQuestionView> dnsq_views_;
  std::vector<DnsRecordView> dnsr_views_;
  TlsView tls_view_;
  std::string tls_version_;  // TlsView::version's text.
  std::vector<QuicTxView> quic_views_;
  std::vector<const QuicTxView*> quic_ptrs_;
  std::vector<FieldRecordView> field_rec_views_;
  std::vector<const FieldRecordView*> field_rec_ptrs_;
  std::vector<FieldView> field_views_;
  std::vector<applayer::FieldRecord*> flow_record_;
  std::vector<applayer::HttpTx*> txs_;  // The transactions of the HTTP views.
  // The parser objects behind the views, index for index.
  std::vector<const applayer::HttpTx*> http_src_;
  std::vector<const applayer::DnsMessage*> dns_src_;
  const applayer::TlsInfo* tls_src_ = nullptr;
};

}  // namespace rampart::sensor
