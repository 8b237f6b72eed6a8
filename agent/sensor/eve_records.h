#pragma once
// The EVE records of one worker: flow, dns, http, tls, quic, anomaly and
// alert, each one JSON line appended to a buffer that the worker hands to
// the sink in batches. Internal to the sensor module; used by one worker
// thread only.

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/applayer/app_layer.h"
#include "agent/decode/packet.h"
#include "agent/flow/flow_table.h"
#include "agent/sensor/inspector.h"
#include "common/eve/json_writer.h"

namespace rampart::sensor {

class EveRecords {
 public:
  // `pcap_cnt`: whether records carry the packet's number in the capture.
  explicit EveRecords(bool pcap_cnt) : pcap_cnt_(pcap_cnt) {}
  EveRecords(const EveRecords&) = delete;
  EveRecords& operator=(const EveRecords&) = delete;

  // The records written so far, each ending in '\n'; the caller takes them
  // (writes and clears the buffer).
  std::string& buffer() { return out_; }
  // Records written since the start.
  uint64_t records() const { return records_; }

  // At the flow's end: its counters, timestamps, state and TCP flags.
  void Flow(flow::Flow& f, flow::EndReason reason);
  // One record per query of a request, one for a response.
  void Dns(flow::Flow& f, const decode::Packet& p, int dir, const applayer::DnsMessage& m);
  // Each marks what it logged (`logged`), so it is logged once. `p` is
  // null when the record is written without a packet (at the flow's end).
  void Http(flow::Flow& f, const applayer::FlowApp& app, applayer::HttpTx& tx, int64_t ts, const decode::Packet* p);
  void Tls(flow::Flow& f, const applayer::FlowApp& app, applayer::TlsInfo& tls, int64_t ts, const decode::Packet* p);
  void Quic(flow::Flow& f, applayer::QuicInfo& q, int64_t ts, const decode::Packet* p);
  // A decoder, stream or app-layer anomaly of packet `p`.
  void Anomaly(const decode::Packet& p, flow::Flow* f, int dir, std::string_view type, std::string_view event,
               std::string_view app_proto);

  // Where an alert happened: the packet (null in a flow's end), the flow
  // (null without one), and the parser objects behind the app-layer views
  // the alert names (null when it names none).
  struct AlertContext {
    const decode::Packet* packet = nullptr;
    flow::Flow* flow = nullptr;
    int64_t last_packet_nanos = 0;  // The timestamp without packet or flow.
    const applayer::HttpTx* http = nullptr;
    const applayer::DnsMessage* dns = nullptr;
    const applayer::TlsInfo* tls = nullptr;
  };
  // Marks the flow as alerted.
  void Alert(const AlertInfo& a, const AlertContext& ctx);

 private:
  // The record's header: addresses from the flow (client -> server, or
  // reversed), else from the packet.
  void Begin(eve::JsonWriter& w, std::string_view type, int64_t ts, flow::Flow* f, bool reversed,
             const decode::Packet* p);
  void End();

  const bool pcap_cnt_;
  std::string out_;
  uint64_t records_ = 0;
};

}  // namespace rampart::sensor
