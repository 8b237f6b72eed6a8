#include "agent/sensor/app_views.h"

#include <algorithm>
#include <cstring>

#include "agent/applayer/eve_app.h"

namespace rampart::sensor {
namespace {

void CopyAddr(const decode::IpAddr& a, IpAddress* out) {
  out->family = a.family;
  std::memcpy(out->bytes, a.bytes, 16);
}

}  // namespace

void FillPacketView(const decode::Packet& p, PacketView* v) {
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

void FillFlowView(flow::Flow& f, int dir, std::unique_ptr<FlowInspectorState>* state_slot, FlowView* v) {
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
  v->state_slot = state_slot;
}

void FillStreamView(const flow::TcpResult& tcp, uint32_t keep_context, std::string* context,
                    std::vector<uint8_t>* scratch, StreamView* v) {
  std::string& ctx = *context;
  const auto& chunks = tcp.chunks;
  if (chunks.front().gap_before) ctx.clear();
  *v = StreamView();
  v->gap = chunks.front().gap_before;
  v->depth_reached = tcp.depth_reached;
  if (chunks.size() == 1 && ctx.empty()) {
    v->data = {chunks[0].data, chunks[0].len};
    v->new_offset = 0;
    v->stream_offset = chunks[0].offset;
  } else {
    scratch->assign(ctx.begin(), ctx.end());
    for (const auto& c : chunks) scratch->insert(scratch->end(), c.data, c.data + c.len);
    v->data = *scratch;
    v->new_offset = ctx.size();
    v->stream_offset = chunks[0].offset - ctx.size();
  }
  if (keep_context > 0) {
    // Keep the last keep_context bytes for the next call.
    const std::span<const uint8_t> all = v->data;
    const size_t keep = std::min<size_t>(keep_context, all.size());
    ctx.assign(reinterpret_cast<const char*>(all.data() + all.size() - keep), keep);
  }
}

// ---------------------------------------------------------------- app views

void AppViews::Clear() {
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
  view_ = AppLayerView();
}

const AppLayerView& AppViews::Build(applayer::FlowApp* app, const applayer::AppOutput& out, bool flow_end) {
  Clear();
  if (app == nullptr) return view_;
  BuildFields(*app, out, flow_end);
  BuildHttp(*app, out, flow_end);
  BuildDns(out, flow_end);
  BuildTls(*app, out, flow_end);
  BuildQuic(out, flow_end);
  return view_;
}

const applayer::HttpTx* AppViews::HttpSource(const HttpTxView* v) const {
  for (size_t i = 0; i < http_views_.size(); ++i) {
    if (&http_views_[i] == v) return http_src_[i];
  }
  return nullptr;
}

const applayer::DnsMessage* AppViews::DnsSource(const DnsMessageView* v) const {
  for (size_t i = 0; i < dns_views_.size(); ++i) {
    if (&dns_views_[i] == v) return dns_src_[i];
  }
  return nullptr;
}

const applayer::TlsInfo* AppViews::TlsSource(const TlsView* v) const {
  return v == &tls_view_ ? tls_src_ : nullptr;
}

void AppViews::BuildFields(applayer::FlowApp& app, const applayer::AppOutput& out, bool flow_end) {
  // SIP, SSH, Kerberos 5, SNMP records (flow end: the SSH flow record).
  if (app.fields) {
    const std::vector<applayer::FieldRecord*>* recs = &out.fields;
    if (flow_end) {
      flow_record_.clear();
      if (applayer::FieldRecord* r = app.fields->flow_record(); r != nullptr) flow_record_.push_back(r);
      recs = &flow_record_;
    }
    size_t nf = 0;
    for (const applayer::FieldRecord* r : *recs) nf += r->fields.size();
    field_views_.reserve(nf);
    field_rec_views_.reserve(recs->size());
    for (const applayer::FieldRecord* r : *recs) {
      FieldRecordView v;
      v.proto = static_cast<AppProto>(app.proto);
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
    view_.records = field_rec_ptrs_;
  }
}

void AppViews::BuildHttp(applayer::FlowApp& app, const applayer::AppOutput& out, bool flow_end) {
  // HTTP: the transactions that progressed (flow end: every open one).
  txs_.clear();
  if (flow_end) {
    if (app.http) {
      for (auto& tx : app.http->txs()) txs_.push_back(tx.get());
    }
  } else {
    for (applayer::HttpTx* tx : out.http) txs_.push_back(tx);
  }
  size_t headers = 0;
  for (const applayer::HttpTx* tx : txs_) headers += tx->request.headers.size() + tx->response.headers.size();
  header_views_.reserve(headers);
  http_views_.reserve(txs_.size());
  for (const applayer::HttpTx* tx : txs_) {
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
  for (applayer::HttpTx* tx : txs_) {
    tx->request.body_reported = tx->request.body.size();
    tx->response.body_reported = tx->response.body.size();
  }
  view_.http = http_ptrs_;
}

void AppViews::BuildDns(const applayer::AppOutput& out, bool flow_end) {
  // DNS messages parsed with this packet.
  if (!flow_end) {
    size_t nq = 0, nr = 0;
    for (const applayer::DnsMessage* m : out.dns) {
      nq += m->questions.size();
      nr += m->answers.size() + m->authorities.size();
    }
    dnsq_views_.reserve(nq);
    dnsr_views_.reserve(nr);
    dns_views_.reserve(out.dns.size());
    for (const applayer::DnsMessage* m : out.dns) {
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
    view_.dns = dns_ptrs_;
  }
}

void AppViews::BuildTls(applayer::FlowApp& app, const applayer::AppOutput& out, bool flow_end) {
  // TLS, when it progressed (flow end: whatever was seen); for QUIC, its ClientHello.
  const applayer::TlsInfo* t = flow_end ? app.Tls() : out.tls;
  if (app.quic && (flow_end ? app.quic->info().hello_seen : out.quic != nullptr)) {
    t = &app.quic->info().hello;
  }
  if (t != nullptr && (!flow_end || t->progress != 0)) {
    TlsView& v = tls_view_;
    v = TlsView();
    v.progress = t->progress;
    v.progressed = t->progressed;
    v.record_version = t->record_version;
    v.client_version = t->client_version;
    v.server_version = t->server_version;
    tls_version_ = applayer::TlsVersionName(t->server_version != 0 ? t->server_version : t->client_version);
    v.version = tls_version_;
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
    view_.tls = &tls_view_;
  }
}

void AppViews::BuildQuic(const applayer::AppOutput& out, bool flow_end) {
  // QUIC transactions made by this datagram.
  if (!flow_end && out.quic_txs != nullptr) {
    for (const applayer::QuicTxRecord& r : *out.quic_txs) {
      QuicTxView v;
      v.tx_id = r.id;
      v.side = r.dir == 0 ? Direction::kToServer : Direction::kToClient;
      v.version = r.version;
      quic_views_.push_back(v);
    }
    for (const QuicTxView& v : quic_views_) quic_ptrs_.push_back(&v);
    view_.quic = quic_ptrs_;
  }
}

}  // namespace rampart::sensor
