#include "agent/sensor/worker.h"

#include <algorithm>
#include <cstring>

#include "agent/sensor/app_views.h"

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
      inspector_(std::move(inspector)),
      eve_(options.pcap_cnt) {
  flow::ReassemblyOptions ro = options.reassembly;
  ro.memcap = std::max<size_t>(options.reassembly.memcap / static_cast<size_t>(std::max(options.workers, 1)), 1 << 20);
  table_.set_reassembly_options(ro);
  if (inspector_ && options.inspector != nullptr) needs_ = options.inspector->Needs();
  eve_.buffer().reserve(kFlushBytes + 64 * 1024);
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
  s.records = eve_.records();
  s.alerts = alerts_;
  s.anomalies = anomalies_;
  s.stream_events = stream_events_;
  s.invalid_checksum_skipped = invalid_checksum_skipped_;
  s.last_packet_nanos = static_cast<uint64_t>(last_packet_nanos_);
  return s;
}

void Worker::Publish() {
  WorkerStats s = Stats();
  MutexLock lock(&published_mu_);
  published_ = s;
}

WorkerStats Worker::Published() {
  MutexLock lock(&published_mu_);
  return published_;
}

Status Worker::Flush() {
  std::string& out = eve_.buffer();
  if (!out.empty()) {
    Status s = sink_->Write(out);
    if (!s.ok() && sink_status_.ok()) sink_status_ = s;
    out.clear();
  }
  return sink_status_;
}

// ------------------------------------------------------------ packet path ---

void Worker::Process(const capture::Frame& frame) {
  decoder_.Decode(frame, &pkt_);
  if (pkt_.timestamp_nanos > last_packet_nanos_) last_packet_nanos_ = pkt_.timestamp_nanos;
  HandlePacket(pkt_);
  if (eve_.buffer().size() >= kFlushBytes) (void)Flush();
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
    for (const applayer::DnsMessage* m : app_out_.dns) eve_.Dns(f, *p, dir, *m);
  }
  for (applayer::HttpTx* tx : app_out_.http) {
    if (!tx->logged && tx->ResponseComplete()) eve_.Http(f, *app, *tx, ts, p);
  }
  if (app_out_.tls != nullptr && !app_out_.tls->logged && (app_out_.tls->progress & kTlsHandshakeDone)) {
    eve_.Tls(f, *app, *app_out_.tls, ts, p);
  }
  if (app_out_.quic != nullptr && !app_out_.quic->logged) eve_.Quic(f, *app_out_.quic, ts, p);
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
        if (!tx->logged && (tx->has_request || tx->has_response)) eve_.Http(f, *app, *tx, ts, nullptr);
      }
    }
    if (app->tls && !app->tls->info().logged && app->tls->info().progress != 0) {
      eve_.Tls(f, *app, app->tls->info(), ts, nullptr);
    }
    if (app->quic && !app->quic->info().logged && app->quic->info().version != 0) {
      eve_.Quic(f, app->quic->info(), ts, nullptr);
    }
  }
  if (inspector_) {
    cur_pkt_ = nullptr;
    cur_flow_ = &f;
    FillFlowView(f, 0, &Data(f)->inspector_state, &fview_);
    inspector_->OnFlowEnd(fview_, app_views_.Build(app, app_out_, /*flow_end=*/true), *this);
  }
  for (applayer::HttpTx* tx : app_out_.http) tx->progressed = 0;
  eve_.Flow(f, reason);
  cur_flow_ = nullptr;
}

void Worker::Finish() {
  table_.EndAll();
  (void)Flush();
}

void Worker::LogAnomaly(const decode::Packet& p, flow::Flow* f, int dir, std::string_view type,
                        std::string_view event, std::string_view app_proto) {
  ++anomalies_;
  eve_.Anomaly(p, f, dir, type, event, app_proto);
}

// -------------------------------------------------------------- inspector ---

void Worker::Alert(const AlertInfo& a) {
  ++alerts_;
  EveRecords::AlertContext ctx;
  ctx.packet = cur_pkt_;
  ctx.flow = cur_flow_;
  ctx.last_packet_nanos = last_packet_nanos_;
  if (a.http != nullptr) ctx.http = app_views_.HttpSource(a.http);
  if (a.dns != nullptr) ctx.dns = app_views_.DnsSource(a.dns);
  if (a.tls != nullptr) ctx.tls = app_views_.TlsSource(a.tls);
  eve_.Alert(a, ctx);
}

void Worker::Inspect(decode::Packet& p, flow::Flow* f, int dir) {
  cur_pkt_ = &p;
  cur_flow_ = f;
  FillPacketView(p, &pview_);
  events_.clear();
  for (int i = 0; i < std::min<int>(p.event_count, decode::kMaxPacketEvents); ++i) {
    events_.push_back(AnomalyEvent{"decode", decode::EventName(p.events[i])});
  }
  const StreamView* stream = nullptr;
  applayer::FlowApp* app = nullptr;
  if (f != nullptr) {
    FillFlowView(*f, dir, &Data(*f)->inspector_state, &fview_);
    fview_.proto_detected = app_out_.proto_detected;
    app = applayer::AppLayer::Get(*f);
    if (p.l4_kind == decode::L4::kTcp) {
      for (flow::StreamEvent e : tcp_.events) events_.push_back(AnomalyEvent{"stream", flow::StreamEventName(e)});
    }
    for (const char* e : app_out_.events) events_.push_back(AnomalyEvent{"applayer", e});
    const bool bad_checksum = p.l4_csum == decode::Checksum::kInvalid && options_.decoder.checksum_checks;
    if (p.l4_kind == decode::L4::kTcp && !bad_checksum && !tcp_.chunks.empty()) {
      FillStreamView(tcp_, needs_.stream_context, &Data(*f)->context[dir], &stream_scratch_, &sview_);
      stream = &sview_;
    }
  }
  pview_.events = events_;
  PacketEvent ev{pview_, f != nullptr ? &fview_ : nullptr, stream, app_views_.Build(app, app_out_, false)};
  inspector_->OnPacket(ev, *this);
  cur_pkt_ = nullptr;
}

}  // namespace rampart::sensor
