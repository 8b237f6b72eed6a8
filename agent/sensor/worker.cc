#include "agent/sensor/worker.h"

#include <algorithm>
#include <cstring>

#include "agent/applayer/eve_app.h"
#include "agent/flow/community_id.h"
#include "common/eve/eve.h"
#include "common/util/clock.h"

namespace rampart::sensor {

// The layers below keep their own copies of these constants.
static_assert(decode::kIpOptRr == kIpOptRr && decode::kIpOptSatid == kIpOptSatid && decode::kIpOptOther == kIpOptOther);
static_assert(static_cast<int>(applayer::Proto::kHttp) == static_cast<int>(AppProto::kHttp) &&
              static_cast<int>(applayer::Proto::kTls) == static_cast<int>(AppProto::kTls) &&
              static_cast<int>(applayer::Proto::kDns) == static_cast<int>(AppProto::kDns) &&
              static_cast<int>(applayer::Proto::kFailed) == static_cast<int>(AppProto::kFailed) &&
              static_cast<int>(applayer::Proto::kSip) == static_cast<int>(AppProto::kSip) &&
              static_cast<int>(applayer::Proto::kLlmnr) == static_cast<int>(AppProto::kLlmnr));
static_assert(static_cast<int>(flow::FlowState::kEstablished) == static_cast<int>(FlowState::kEstablished) &&
              static_cast<int>(flow::FlowState::kClosed) == static_cast<int>(FlowState::kClosed));

namespace {

constexpr size_t kFlushBytes = 256 * 1024;
constexpr int64_t kSecond = 1'000'000'000;

const char* FlagsHex(uint8_t f, char* buf) {
  static const char kHex[] = "0123456789abcdef";
  buf[0] = kHex[f >> 4];
  buf[1] = kHex[f & 15];
  buf[2] = 0;
  return buf;
}

std::string_view ProtoText(uint8_t proto) { return eve::ProtoName(proto); }

void CopyAddr(const decode::IpAddr& a, IpAddress* out) {
  out->family = a.family;
  std::memcpy(out->bytes, a.bytes, 16);
}

}  // namespace

// The sensor's per-flow data (only with an inspector).
struct Worker::FlowData final : public flow::FlowUserData {
  std::unique_ptr<FlowInspectorState> inspector_state;
  std::string context[2];
};

namespace {

flow::FlowTableOptions TableOptions(const SensorOptions& o, int index) {
  flow::FlowTableOptions t = o.flows;
  t.memcap = std::max<size_t>(o.flows.memcap / static_cast<size_t>(std::max(o.workers, 1)), 64 * 1024);
  t.worker = static_cast<uint32_t>(index);
  return t;
}

}  // namespace

Worker::Worker(int index, const SensorOptions& options, capture::LinkType link, eve::EveSink* sink,
               std::unique_ptr<Inspector> inspector)
    : options_(options),
      sink_(sink),
      decoder_(link, options.decoder),
      defrag_(options.defrag),
      table_(TableOptions(options, index), [this](flow::Flow& f, flow::EndReason r) { OnFlowEnd(f, r); }),
      app_(options.app),
      inspector_(std::move(inspector)) {
  flow::ReassemblyOptions ro = options.reassembly;
  ro.memcap = std::max<size_t>(options.reassembly.memcap / static_cast<size_t>(std::max(options.workers, 1)), 1 << 20);
  table_.set_reassembly_options(ro);
  if (inspector_ && options.inspector != nullptr) needs_ = options.inspector->Needs();
  out_.reserve(kFlushBytes + 64 * 1024);
  tcp_.chunks.reserve(16);
  tcp_.events.reserve(16);
}

Worker::~Worker() = default;

Worker::FlowData* Worker::Data(flow::Flow& f) {
  if (!f.user) f.user = std::make_unique<FlowData>();
  return static_cast<FlowData*>(f.user.get());
}

WorkerStats Worker::Stats() const {
  WorkerStats s;
  s.decode = decoder_.counters();
  s.defrag = defrag_.counters();
  s.flow = table_.counters();
  s.reassembly = table_.reassembly().counters;
  s.app = app_.counters();
  s.reassembly_memuse = table_.reassembly().used;
  s.flow_memuse = table_.active() * std::max<size_t>(options_.flows.flow_cost, 64);
  s.records = records_;
  s.alerts = alerts_;
  s.anomalies = anomalies_;
  s.stream_events = stream_events_;
  s.invalid_checksum_skipped = invalid_checksum_skipped_;
  s.last_packet_nanos = static_cast<uint64_t>(last_packet_nanos_);
  return s;
}

void Worker::Publish() {
  WorkerStats s = Stats();
  std::lock_guard lock(published_mu_);
  published_ = s;
}

WorkerStats Worker::Published() {
  std::lock_guard lock(published_mu_);
  return published_;
}

Status Worker::Flush() {
  if (!out_.empty()) {
    Status s = sink_->Write(out_);
    if (!s.ok() && sink_status_.ok()) sink_status_ = s;
    out_.clear();
  }
  return sink_status_;
}

// ------------------------------------------------------------ packet path ---

void Worker::Process(const capture::Frame& frame) {
  decoder_.Decode(frame, &pkt_);
  if (pkt_.timestamp_nanos > last_packet_nanos_) last_packet_nanos_ = pkt_.timestamp_nanos;
  HandlePacket(pkt_);
  if (out_.size() >= kFlushBytes) (void)Flush();
}

void Worker::Tick(int64_t now_nanos) {
  table_.Advance(now_nanos);
  defrag_.Expire(now_nanos);
  (void)Flush();
}

void Worker::HandlePacket(decode::Packet& p) {
  if (p.event_count > 0) {
    for (int i = 0; i < std::min<int>(p.event_count, decode::kMaxPacketEvents); ++i) {
      LogAnomaly(p, nullptr, 0, "decode", decode::EventName(p.events[i]), {});
    }
  }
  // Fragments: expire old ones by packet time, add this one, and go on with
  // the rebuilt datagram when it completes one.
  if (p.timestamp_nanos >= next_defrag_expire_) {
    defrag_.Expire(p.timestamp_nanos);
    next_defrag_expire_ = p.timestamp_nanos + kSecond;
  }
  if (p.fragment) {
    decode::Event ev{};
    bool has_ev = false;
    const std::span<const uint8_t> whole = defrag_.Add(p, &ev, &has_ev);
    if (has_ev) {
      if (p.event_count < decode::kMaxPacketEvents) p.events[p.event_count++] = ev;
      LogAnomaly(p, nullptr, 0, "decode", decode::EventName(ev), {});
    }
    if (inspector_) Inspect(p, nullptr, 0);
    if (whole.empty()) return;
    decode::Packet& r = rpkt_[p.tunnel_depth];
    r = p;
    decoder_.DecodeReassembled(whole, &r);
    r.tunnel_depth = p.tunnel_depth;
    if (r.fragment) return;  // A rebuilt datagram that claims to be a fragment again.
    HandlePacket(r);
    return;
  }
  if (p.ip_version == 0 || p.l4_kind == decode::L4::kNone) {
    // No flow: not IP, or an L4 header too broken to name the flow.
    if (inspector_) Inspect(p, nullptr, 0);
    return;
  }
  int dir = 0;
  bool created = false;
  flow::Flow* f = table_.Lookup(p, &dir, &created);
  cur_flow_ = f;
  app_out_.Clear();
  if (p.l4_kind == decode::L4::kTcp) {
    const bool bad_checksum = p.l4_csum == decode::Checksum::kInvalid && options_.decoder.checksum_checks;
    if (bad_checksum) {
      ++invalid_checksum_skipped_;
      tcp_.chunks.clear();
      tcp_.events.clear();
    } else {
      table_.Track(*f, p, dir, &tcp_);
      f = cur_flow_;  // Track does not move flows; keep the same pointer.
      for (flow::StreamEvent e : tcp_.events) {
        ++stream_events_;
        if (options_.log_stream_anomalies) LogAnomaly(p, f, dir, "stream", flow::StreamEventName(e), {});
      }
      if (!tcp_.chunks.empty()) app_.OnTcp(*f, dir, tcp_.chunks, &app_out_);
    }
  } else if (p.l4_kind == decode::L4::kUdp) {
    if (p.payload_len > 0) app_.OnUdp(*f, dir, p.payload, p.payload_len, &app_out_);
  }
  HandleAppOutput(*f, &p, dir, p.timestamp_nanos);
  if (inspector_) Inspect(p, f, dir);
  // Transactions reported in this packet are done with.
  for (applayer::HttpTx* tx : app_out_.http) tx->progressed = 0;
  if (app_out_.tls != nullptr) app_out_.tls->progressed = 0;
  if (applayer::FlowApp* app = applayer::AppLayer::Get(*f); app != nullptr && app->http) app->http->Prune();
  // The packet a tunnel carries is a packet of its own (with its own flow);
  // `f` must not be used after this (the flow table may move flows).
  if (p.tunnel != decode::TunnelType::kNone) {
    decode::Packet& inner = inner_[p.tunnel_depth];
    decoder_.DecodeInner(p, &inner);
    HandlePacket(inner);
  }
}

void Worker::HandleAppOutput(flow::Flow& f, const decode::Packet* p, int dir, int64_t ts) {
  applayer::FlowApp* app = applayer::AppLayer::Get(f);
  if (app == nullptr) return;
  const std::string_view proto = applayer::ProtoName(app->proto);
  for (const char* e : app_out_.events) {
    if (p != nullptr) {
      LogAnomaly(*p, &f, dir, "applayer", e, proto);
    } else {
      ++anomalies_;
    }
  }
  if (p != nullptr) {
    for (const applayer::DnsMessage* m : app_out_.dns) LogDns(f, *p, dir, *m);
  }
  for (applayer::HttpTx* tx : app_out_.http) {
    if (!tx->logged && tx->ResponseComplete()) LogHttp(f, app, *tx, ts, p);
  }
  if (app_out_.tls != nullptr && !app_out_.tls->logged && (app_out_.tls->progress & kTlsHandshakeDone)) {
    LogTls(f, app, *app_out_.tls, ts, p);
  }
  if (app_out_.quic != nullptr && !app_out_.quic->logged) LogQuic(f, *app_out_.quic, ts, p);
}

// ------------------------------------------------------------- flow end ---

void Worker::OnFlowEnd(flow::Flow& f, flow::EndReason reason) {
  const int64_t ts = f.last_nanos;
  // Deliver what reassembly still holds, then close the parsers.
  if (f.tcp) {
    for (int d = 0; d < 2; ++d) {
      table_.FlushStream(f, d, &flush_);
      if (!flush_.chunks.empty()) {
        app_out_.Clear();
        app_.OnTcp(f, d, flush_.chunks, &app_out_);
        HandleAppOutput(f, nullptr, d, ts);
        for (applayer::HttpTx* tx : app_out_.http) tx->progressed = 0;
        if (app_out_.tls != nullptr) app_out_.tls->progressed = 0;
      }
    }
  }
  app_out_.Clear();
  app_.OnFlowEnd(f, &app_out_);
  applayer::FlowApp* app = applayer::AppLayer::Get(f);
  if (app != nullptr) {
    if (app->http) {
      for (auto& tx : app->http->txs()) {
        if (!tx->logged && (tx->has_request || tx->has_response)) LogHttp(f, app, *tx, ts, nullptr);
      }
    }
    if (app->tls && !app->tls->info().logged && app->tls->info().progress != 0) {
      LogTls(f, app, app->tls->info(), ts, nullptr);
    }
    if (app->quic && !app->quic->info().logged && app->quic->info().version != 0) {
      LogQuic(f, app->quic->info(), ts, nullptr);
    }
  }
  if (inspector_) {
    cur_pkt_ = nullptr;
    cur_flow_ = &f;
    FillFlowView(f, 0, &fview_);
    FillAppView(app, /*flow_end=*/true);
    inspector_->OnFlowEnd(fview_, app_view_, *this);
  }
  for (applayer::HttpTx* tx : app_out_.http) tx->progressed = 0;
  LogFlow(f, reason);
  cur_flow_ = nullptr;
}

void Worker::Finish() {
  table_.EndAll();
  (void)Flush();
}

// ------------------------------------------------------------ EVE records ---

void Worker::BeginRecord(eve::JsonWriter& w, std::string_view type, int64_t ts, flow::Flow* f, bool reversed,
                         const decode::Packet* p) {
  // Addresses: from the flow (client -> server, or reversed), else from the packet.
  char src[64] = {0}, dst[64] = {0};
  eve::EveHeader h;
  h.timestamp_nanos = ts;
  h.event_type = type;
  if (f != nullptr) {
    h.flow_id = f->id;
    decode::IpAddr a = f->Client(), b = f->Server();
    uint16_t ap = f->ClientPort(), bp = f->ServerPort();
    if (reversed) {
      std::swap(a, b);
      std::swap(ap, bp);
    }
    a.Format(src);
    b.Format(dst);
    h.src_ip = src;
    h.dest_ip = dst;
    h.src_port = ap;
    h.dest_port = bp;
    h.has_ports = f->proto == 6 || f->proto == 17;
    h.proto = ProtoText(f->proto);
    const applayer::Proto ap2 = applayer::AppLayer::ProtoOf(*f);
    h.app_proto = applayer::ProtoName(ap2);
    h.community_id = flow::CommunityIdOf(*f);
  } else if (p != nullptr && p->ip_version != 0) {
    p->src.Format(src);
    p->dst.Format(dst);
    h.src_ip = src;
    h.dest_ip = dst;
    h.has_ports = p->has_ports();
    h.src_port = p->sport;
    h.dest_port = p->dport;
    h.proto = ProtoText(p->proto);
  }
  if (p != nullptr && options_.pcap_cnt) h.pcap_cnt = p->number;
  if (p != nullptr && p->vlan_count > 0) h.vlan = p->vlan[0];
  if (f != nullptr && (f->proto == 1 || f->proto == 58)) {
    const int d = reversed ? 1 : 0;
    h.icmp_type = f->icmp_type[d];
    h.icmp_code = f->icmp_code[d];
  } else if (f == nullptr && p != nullptr && (p->l4_kind == decode::L4::kIcmp4 || p->l4_kind == decode::L4::kIcmp6)) {
    h.icmp_type = p->icmp_type;
    h.icmp_code = p->icmp_code;
  }
  eve::BeginEveRecord(w, h);
}

void Worker::EndRecord() {
  out_.push_back('\n');
  ++records_;
}

void Worker::LogFlow(flow::Flow& f, flow::EndReason reason) {
  eve::JsonWriter w(&out_);
  BeginRecord(w, "flow", f.start_nanos, &f, false, nullptr);
  if (f.proto == 1 || f.proto == 58) {
    if (f.pkts[1] > 0) {
      w.Uint("response_icmp_type", f.icmp_type[1]);
      w.Uint("response_icmp_code", f.icmp_code[1]);
    }
  }
  w.BeginObject("flow");
  w.Uint("pkts_toserver", f.pkts[0]);
  w.Uint("pkts_toclient", f.pkts[1]);
  w.Uint("bytes_toserver", f.bytes[0]);
  w.Uint("bytes_toclient", f.bytes[1]);
  char ts[kEveTimestampMax];
  w.String("start", std::string_view(ts, FormatEveTimestamp(f.start_nanos, ts)));
  w.String("end", std::string_view(ts, FormatEveTimestamp(f.last_nanos, ts)));
  w.Int("age", (f.last_nanos - f.start_nanos) / kSecond);
  const char* state = f.state == flow::FlowState::kNew ? "new"
                      : f.state == flow::FlowState::kEstablished ? "established"
                                                                  : "closed";
  w.String("state", state);
  w.String("reason", reason == flow::EndReason::kTimeout ? "timeout"
                     : reason == flow::EndReason::kForced ? "forced"
                                                          : "shutdown");
  w.Bool("alerted", f.alerted);
  w.EndObject();
  if (f.tcp) {
    const flow::TcpSession& s = *f.tcp;
    const uint8_t all = static_cast<uint8_t>(s.flags_seen[0] | s.flags_seen[1]);
    char b1[4], b2[4], b3[4];
    w.BeginObject("tcp");
    w.String("tcp_flags", FlagsHex(all, b1));
    w.String("tcp_flags_ts", FlagsHex(s.flags_seen[0], b2));
    w.String("tcp_flags_tc", FlagsHex(s.flags_seen[1], b3));
    if (all & kTcpSyn) w.Bool("syn", true);
    if (all & kTcpFin) w.Bool("fin", true);
    if (all & kTcpRst) w.Bool("rst", true);
    if (all & kTcpPsh) w.Bool("psh", true);
    if (all & kTcpAck) w.Bool("ack", true);
    if (all & kTcpUrg) w.Bool("urg", true);
    if (all & kTcpEce) w.Bool("ecn", true);
    if (all & kTcpCwr) w.Bool("cwr", true);
    w.String("state", flow::TcpStateName(static_cast<flow::TcpState>(s.tcp_state)));
    w.EndObject();
  }
  w.EndObject();
  EndRecord();
}

void Worker::LogDns(flow::Flow& f, const decode::Packet& p, int dir, const applayer::DnsMessage& m) {
  if (!m.response) {
    for (const applayer::DnsQuestion& q : m.questions) {
      eve::JsonWriter w(&out_);
      BeginRecord(w, "dns", p.timestamp_nanos, &f, dir == 1, &p);
      applayer::WriteDnsQueryObject(w, m, q);
      w.EndObject();
      EndRecord();
    }
    return;
  }
  eve::JsonWriter w(&out_);
  BeginRecord(w, "dns", p.timestamp_nanos, &f, dir == 1, &p);
  applayer::WriteDnsAnswerObject(w, m);
  w.EndObject();
  EndRecord();
}

void Worker::LogHttp(flow::Flow& f, applayer::FlowApp* app, applayer::HttpTx& tx, int64_t ts,
                     const decode::Packet* p) {
  eve::JsonWriter w(&out_);
  BeginRecord(w, "http", ts, &f, app->http_reversed, p);
  w.Uint("tx_id", tx.id);
  applayer::WriteHttpObject(w, tx);
  w.EndObject();
  EndRecord();
  tx.logged = true;
}

void Worker::LogTls(flow::Flow& f, applayer::FlowApp* app, applayer::TlsInfo& tls, int64_t ts,
                    const decode::Packet* p) {
  eve::JsonWriter w(&out_);
  BeginRecord(w, "tls", ts, &f, app->tls_reversed, p);
  applayer::WriteTlsObject(w, tls);
  w.EndObject();
  EndRecord();
  tls.logged = true;
}

void Worker::LogQuic(flow::Flow& f, applayer::QuicInfo& q, int64_t ts, const decode::Packet* p) {
  eve::JsonWriter w(&out_);
  BeginRecord(w, "quic", ts, &f, false, p);
  applayer::WriteQuicObject(w, q);
  w.EndObject();
  EndRecord();
  q.logged = true;
}

void Worker::LogAnomaly(const decode::Packet& p, flow::Flow* f, int dir, std::string_view type,
                        std::string_view event, std::string_view app_proto) {
  ++anomalies_;
  eve::JsonWriter w(&out_);
  BeginRecord(w, "anomaly", p.timestamp_nanos, f, dir == 1, &p);
  w.BeginObject("anomaly");
  w.String("type", type);
  w.String("event", event);
  if (!app_proto.empty()) {
    w.String("app_proto", app_proto);
    w.String("layer", "proto_parser");
  }
  w.EndObject();
  w.EndObject();
  EndRecord();
}

void Worker::Alert(const AlertInfo& a) {
  ++alerts_;
  eve::JsonWriter w(&out_);
  flow::Flow* f = cur_flow_;
  const decode::Packet* p = cur_pkt_;
  if (p != nullptr) {
    // The packet's own direction.
    char src[64] = {0}, dst[64] = {0};
    eve::EveHeader h;
    h.timestamp_nanos = p->timestamp_nanos;
    h.event_type = "alert";
    if (options_.pcap_cnt) h.pcap_cnt = p->number;
    if (p->vlan_count > 0) h.vlan = p->vlan[0];
    if (p->ip_version != 0) {
      p->src.Format(src);
      p->dst.Format(dst);
      h.src_ip = src;
      h.dest_ip = dst;
      h.has_ports = p->has_ports();
      h.src_port = p->sport;
      h.dest_port = p->dport;
      h.proto = ProtoText(p->proto);
      if (p->l4_kind == decode::L4::kIcmp4 || p->l4_kind == decode::L4::kIcmp6) {
        h.icmp_type = p->icmp_type;
        h.icmp_code = p->icmp_code;
      }
    }
    if (f != nullptr) {
      h.flow_id = f->id;
      h.app_proto = applayer::ProtoName(applayer::AppLayer::ProtoOf(*f));
      h.community_id = flow::CommunityIdOf(*f);
    }
    eve::BeginEveRecord(w, h);
  } else {
    BeginRecord(w, "alert", f != nullptr ? f->last_nanos : last_packet_nanos_, f, false, nullptr);
  }
  if (a.tx_id) w.Uint("tx_id", *a.tx_id);
  w.BeginObject("alert");
  w.String("action", a.action);
  w.Uint("gid", a.gid);
  w.Uint("signature_id", a.signature_id);
  w.Uint("rev", a.rev);
  w.String("signature", a.signature);
  if (!a.category.empty()) w.String("category", a.category);
  w.Int("severity", a.severity);
  if (!a.metadata_json.empty()) w.Raw("metadata", a.metadata_json);
  if (!a.extra_key.empty()) w.Raw(a.extra_key, a.extra_json);
  w.EndObject();
  // App-layer context, from the parser objects behind the views.
  if (a.http != nullptr) {
    for (size_t i = 0; i < http_views_.size(); ++i) {
      if (&http_views_[i] == a.http) applayer::WriteHttpObject(w, *http_src_[i]);
    }
  }
  if (a.dns != nullptr) {
    for (size_t i = 0; i < dns_views_.size(); ++i) {
      if (&dns_views_[i] == a.dns) applayer::WriteDnsAlertObject(w, *dns_src_[i]);
    }
  }
  if (a.tls != nullptr && a.tls == &tls_view_ && tls_src_ != nullptr) applayer::WriteTlsObject(w, *tls_src_);
  if (f != nullptr) {
    f->alerted = true;
    w.BeginObject("flow");
    w.Uint("pkts_toserver", f->pkts[0]);
    w.Uint("pkts_toclient", f->pkts[1]);
    w.Uint("bytes_toserver", f->bytes[0]);
    w.Uint("bytes_toclient", f->bytes[1]);
    char ts[kEveTimestampMax];
    w.String("start", std::string_view(ts, FormatEveTimestamp(f->start_nanos, ts)));
    w.EndObject();
  }
  w.EndObject();
  EndRecord();
}

// -------------------------------------------------------------- inspector ---

void Worker::FillPacketView(const decode::Packet& p, PacketView* v) {
  *v = PacketView();
  v->timestamp_nanos = p.timestamp_nanos;
  v->pcap_cnt = p.number;
  v->frame = {p.frame, p.caplen};
  v->wire_length = p.wire_length;
  v->vlan[0] = p.vlan[0];
  v->vlan[1] = p.vlan[1];
  v->vlan_count = p.vlan_count;
  v->ip_version = p.ip_version;
  CopyAddr(p.src, &v->src);
  CopyAddr(p.dst, &v->dst);
  v->proto = p.proto;
  v->ttl = p.ttl;
  v->tos = p.tos;
  v->ip_id = p.ip_id;
  v->ip_options = p.ip_options;
  v->ip_rf = p.ip_rf;
  v->ip_df = p.ip_df;
  v->ip_mf = p.ip_mf;
  v->frag_offset = p.frag_offset;
  v->fragment = p.fragment;
  v->reassembled = p.reassembled;
  v->ipv6_exthdrs = p.ipv6_exthdrs;
  if (p.l3 != nullptr) v->l3_header = {p.l3, p.l3_hlen};
  v->src_port = p.sport;
  v->dst_port = p.dport;
  v->tcp_flags = p.tcp_flags;
  v->tcp_seq = p.tcp_seq;
  v->tcp_ack = p.tcp_ack;
  v->tcp_window = p.tcp_window;
  v->tcp_urgent = p.tcp_urgent;
  v->tcp_options = p.tcp_options;
  v->tcp_mss = p.tcp_mss;
  v->tcp_wscale = p.tcp_wscale;
  v->icmp_type = p.icmp_type;
  v->icmp_code = p.icmp_code;
  v->icmp_id = p.icmp_id;
  v->icmp_seq = p.icmp_seq;
  if (p.l4 != nullptr) v->l4_header = {p.l4, p.l4_hlen};
  if (p.payload != nullptr) v->payload = {p.payload, p.payload_len};
  v->ip_checksum = static_cast<ChecksumStatus>(p.ip_csum);
  v->l4_checksum = static_cast<ChecksumStatus>(p.l4_csum);
}

void Worker::FillFlowView(flow::Flow& f, int dir, FlowView* v) {
  FlowData* data = Data(f);
  v->flow_id = f.id;
  v->direction = dir == 0 ? Direction::kToServer : Direction::kToClient;
  v->state = static_cast<FlowState>(f.state);
  v->app_proto = static_cast<AppProto>(applayer::AppLayer::ProtoOf(f));
  if (const applayer::FlowApp* a = applayer::AppLayer::Get(f); a != nullptr) {
    v->app_proto_dir[0] = static_cast<AppProto>(a->dir_proto[0]);
    v->app_proto_dir[1] = static_cast<AppProto>(a->dir_proto[1]);
  } else {
    v->app_proto_dir[0] = v->app_proto_dir[1] = AppProto::kUnknown;
  }
  v->proto_detected = 0;
  v->proto = f.proto;
  CopyAddr(f.Client(), &v->client);
  CopyAddr(f.Server(), &v->server);
  v->client_port = f.ClientPort();
  v->server_port = f.ServerPort();
  v->pkts_toserver = f.pkts[0];
  v->pkts_toclient = f.pkts[1];
  v->bytes_toserver = f.bytes[0];
  v->bytes_toclient = f.bytes[1];
  v->start_nanos = f.start_nanos;
  v->last_nanos = f.last_nanos;
  v->alerted = f.alerted;
  v->state_slot = &data->inspector_state;
}

void Worker::FillAppView(applayer::FlowApp* app, bool flow_end) {
  http_views_.clear();
  http_ptrs_.clear();
  http_src_.clear();
  header_views_.clear();
  dns_views_.clear();
  dns_ptrs_.clear();
  dns_src_.clear();
  dnsq_views_.clear();
  dnsr_views_.clear();
  tls_src_ = nullptr;
  quic_views_.clear();
  quic_ptrs_.clear();
  field_rec_views_.clear();
  field_rec_ptrs_.clear();
  field_views_.clear();
  app_view_ = AppLayerView();
  if (app == nullptr) return;

  // SIP, SSH, Kerberos 5, SNMP records (flow end: the SSH flow record).
  if (app->fields) {
    std::vector<applayer::FieldRecord*> flow_rec;
    const std::vector<applayer::FieldRecord*>* recs = &app_out_.fields;
    if (flow_end) {
      if (applayer::FieldRecord* r = app->fields->flow_record(); r != nullptr) flow_rec.push_back(r);
      recs = &flow_rec;
    }
    size_t nf = 0;
    for (const applayer::FieldRecord* r : *recs) nf += r->fields.size();
    field_views_.reserve(nf);
    field_rec_views_.reserve(recs->size());
    for (const applayer::FieldRecord* r : *recs) {
      FieldRecordView v;
      v.proto = static_cast<AppProto>(app->proto);
      v.tx_id = r->tx_id;
      v.progress[0] = r->progress[0];
      v.progress[1] = r->progress[1];
      const size_t f0 = field_views_.size();
      for (const auto& fld : r->fields) {
        field_views_.push_back(
            FieldView{fld.dir == 0 ? Direction::kToServer : Direction::kToClient, fld.name, fld.value});
      }
      v.fields = {field_views_.data() + f0, r->fields.size()};
      field_rec_views_.push_back(v);
    }
    for (const FieldRecordView& v : field_rec_views_) field_rec_ptrs_.push_back(&v);
    app_view_.records = field_rec_ptrs_;
  }

  // HTTP: the transactions that progressed (flow end: every open one).
  end_txs_.clear();
  if (flow_end) {
    if (app->http) {
      for (auto& tx : app->http->txs()) end_txs_.push_back(tx.get());
    }
  } else {
    for (applayer::HttpTx* tx : app_out_.http) end_txs_.push_back(tx);
  }
  size_t headers = 0;
  for (const applayer::HttpTx* tx : end_txs_) headers += tx->request.headers.size() + tx->response.headers.size();
  header_views_.reserve(headers);
  http_views_.reserve(end_txs_.size());
  for (const applayer::HttpTx* tx : end_txs_) {
    HttpTxView v;
    v.tx_id = tx->id;
    v.progress = tx->progress;
    v.progressed = tx->progressed;
    const applayer::HttpMessage& rq = tx->request;
    const applayer::HttpMessage& rs = tx->response;
    v.request_line = rq.View(rq.start_line);
    v.method = tx->Method();
    v.uri_raw = tx->Uri();
    v.uri_normalized = tx->UriNormalized();
    v.protocol = tx->Protocol();
    v.host = tx->Host();
    v.user_agent = rq.Header("User-Agent");
    const size_t rq_first = header_views_.size();
    for (const auto& h : rq.headers) header_views_.push_back(HeaderView{rq.View(h.name), rq.View(h.value)});
    v.request_headers = {header_views_.data() + rq_first, rq.headers.size()};
    {
      const size_t line_end = rq.start_line.len;
      std::string_view head(rq.head);
      size_t b = head.find('\n', line_end);
      v.request_headers_raw = b == std::string_view::npos ? std::string_view() : head.substr(b + 1);
    }
    v.request_body = rq.body;
    v.request_body_new = std::min(rq.body_reported, rq.body.size());
    v.request_body_length = rq.body_length;
    v.status_code = tx->status;
    v.status_line = rs.View(rs.start_line);
    v.status_message = tx->StatusMessage();
    v.response_protocol = tx->ResponseProtocol();
    const size_t rs_first = header_views_.size();
    for (const auto& h : rs.headers) header_views_.push_back(HeaderView{rs.View(h.name), rs.View(h.value)});
    v.response_headers = {header_views_.data() + rs_first, rs.headers.size()};
    {
      std::string_view head(rs.head);
      size_t b = head.find('\n');
      v.response_headers_raw = b == std::string_view::npos ? std::string_view() : head.substr(b + 1);
    }
    v.response_body = rs.body;
    v.response_body_new = std::min(rs.body_reported, rs.body.size());
    v.response_body_length = rs.body_length;
    for (int e = 0; e < static_cast<int>(applayer::HttpEvent::kCount) && v.event_count < HttpTxView::kMaxEvents; ++e) {
      if (tx->events & (1u << e)) v.events[v.event_count++] = applayer::HttpEventName(static_cast<applayer::HttpEvent>(e));
    }
    http_views_.push_back(v);
    http_src_.push_back(tx);
  }
  for (size_t i = 0; i < http_views_.size(); ++i) http_ptrs_.push_back(&http_views_[i]);
  // Bodies reported up to here.
  for (const applayer::HttpTx* tx : end_txs_) {
    auto* m = const_cast<applayer::HttpTx*>(tx);
    m->request.body_reported = m->request.body.size();
    m->response.body_reported = m->response.body.size();
  }
  app_view_.http = http_ptrs_;

  // DNS messages parsed with this packet.
  if (!flow_end) {
    size_t nq = 0, nr = 0;
    for (const applayer::DnsMessage* m : app_out_.dns) {
      nq += m->questions.size();
      nr += m->answers.size() + m->authorities.size();
    }
    dnsq_views_.reserve(nq);
    dnsr_views_.reserve(nr);
    dns_views_.reserve(app_out_.dns.size());
    for (const applayer::DnsMessage* m : app_out_.dns) {
      DnsMessageView v;
      v.tx_id = m->tx_id;
      v.id = m->id;
      v.response = m->response;
      v.opcode = m->opcode;
      v.rcode = m->rcode;
      v.flags = m->flags;
      const size_t q0 = dnsq_views_.size();
      for (const auto& q : m->questions) dnsq_views_.push_back(DnsQuestionView{q.name, q.type, q.qclass});
      v.questions = {dnsq_views_.data() + q0, m->questions.size()};
      const size_t a0 = dnsr_views_.size();
      for (const auto& r : m->answers) {
        dnsr_views_.push_back(DnsRecordView{r.name, r.type, r.rclass, r.ttl, r.rdata, r.rdata_text});
      }
      v.answers = {dnsr_views_.data() + a0, m->answers.size()};
      const size_t n0 = dnsr_views_.size();
      for (const auto& r : m->authorities) {
        dnsr_views_.push_back(DnsRecordView{r.name, r.type, r.rclass, r.ttl, r.rdata, r.rdata_text});
      }
      v.authorities = {dnsr_views_.data() + n0, m->authorities.size()};
      dns_views_.push_back(v);
      dns_src_.push_back(m);
    }
    for (size_t i = 0; i < dns_views_.size(); ++i) dns_ptrs_.push_back(&dns_views_[i]);
    app_view_.dns = dns_ptrs_;
  }

  // TLS, when it progressed (flow end: whatever was seen); for QUIC, its ClientHello.
  const applayer::TlsInfo* t = flow_end ? app->Tls() : app_out_.tls;
  if (app->quic && (flow_end ? app->quic->info().hello_seen : app_out_.quic != nullptr)) {
    t = &app->quic->info().hello;
  }
  if (t != nullptr && (!flow_end || t->progress != 0)) {
    TlsView& v = tls_view_;
    v = TlsView();
    v.progress = t->progress;
    v.progressed = t->progressed;
    v.record_version = t->record_version;
    v.client_version = t->client_version;
    v.server_version = t->server_version;
    static thread_local std::string version;
    version = applayer::TlsVersionName(t->server_version != 0 ? t->server_version : t->client_version);
    v.version = version;
    v.sni = t->sni;
    v.ja3_string = t->ja3_string;
    v.ja3_hash = t->ja3_hash;
    v.ja3s_string = t->ja3s_string;
    v.ja3s_hash = t->ja3s_hash;
    v.client_random = t->client_random;
    v.server_random = t->server_random;
    v.session_id = t->session_id;
    v.cert_der = t->cert_der;
    v.cert_subject = t->cert_subject;
    v.cert_issuer = t->cert_issuer;
    v.cert_serial = t->cert_serial;
    v.cert_fingerprint = t->cert_fingerprint;
    v.cert_not_before = t->cert_not_before;
    v.cert_not_after = t->cert_not_after;
    v.cert_count = t->cert_count;
    tls_src_ = t;
    app_view_.tls = &tls_view_;
  }

  // QUIC transactions made by this datagram.
  if (!flow_end && app_out_.quic_txs != nullptr) {
    for (const applayer::QuicTxRecord& r : *app_out_.quic_txs) {
      QuicTxView v;
      v.tx_id = r.id;
      v.side = r.dir == 0 ? Direction::kToServer : Direction::kToClient;
      v.version = r.version;
      quic_views_.push_back(v);
    }
    for (const QuicTxView& v : quic_views_) quic_ptrs_.push_back(&v);
    app_view_.quic = quic_ptrs_;
  }
}

void Worker::Inspect(decode::Packet& p, flow::Flow* f, int dir) {
  cur_pkt_ = &p;
  cur_flow_ = f;
  cur_dir_ = dir;
  FillPacketView(p, &pview_);
  events_.clear();
  for (int i = 0; i < std::min<int>(p.event_count, decode::kMaxPacketEvents); ++i) {
    events_.push_back(AnomalyEvent{"decode", decode::EventName(p.events[i])});
  }
  const StreamView* stream = nullptr;
  applayer::FlowApp* app = nullptr;
  if (f != nullptr) {
    FillFlowView(*f, dir, &fview_);
    fview_.proto_detected = app_out_.proto_detected;
    app = applayer::AppLayer::Get(*f);
    if (p.l4_kind == decode::L4::kTcp) {
      for (flow::StreamEvent e : tcp_.events) events_.push_back(AnomalyEvent{"stream", flow::StreamEventName(e)});
    }
    for (const char* e : app_out_.events) events_.push_back(AnomalyEvent{"applayer", e});
    const bool bad_checksum = p.l4_csum == decode::Checksum::kInvalid && options_.decoder.checksum_checks;
    if (p.l4_kind == decode::L4::kTcp && !bad_checksum && !tcp_.chunks.empty()) {
      FlowData* data = Data(*f);
      std::string& ctx = data->context[dir];
      const auto& chunks = tcp_.chunks;
      if (chunks.front().gap_before) ctx.clear();
      sview_ = StreamView();
      sview_.gap = chunks.front().gap_before;
      sview_.depth_reached = tcp_.depth_reached;
      if (chunks.size() == 1 && ctx.empty()) {
        sview_.data = {chunks[0].data, chunks[0].len};
        sview_.new_offset = 0;
        sview_.stream_offset = chunks[0].offset;
      } else {
        stream_scratch_.assign(ctx.begin(), ctx.end());
        for (const auto& c : chunks) stream_scratch_.insert(stream_scratch_.end(), c.data, c.data + c.len);
        sview_.data = stream_scratch_;
        sview_.new_offset = ctx.size();
        sview_.stream_offset = chunks[0].offset - ctx.size();
      }
      if (needs_.stream_context > 0) {
        // Keep the last stream_context bytes for the next call.
        const std::span<const uint8_t> all = sview_.data;
        const size_t keep = std::min<size_t>(needs_.stream_context, all.size());
        ctx.assign(reinterpret_cast<const char*>(all.data() + all.size() - keep), keep);
      }
      stream = &sview_;
    }
  }
  pview_.events = events_;
  FillAppView(app, false);
  PacketEvent ev{pview_, f != nullptr ? &fview_ : nullptr, stream, app_view_};
  inspector_->OnPacket(ev, *this);
  cur_pkt_ = nullptr;
}

}  // namespace rampart::sensor
