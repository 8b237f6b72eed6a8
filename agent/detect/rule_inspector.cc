#include "agent/detect/rule_inspector.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "agent/detect/text_util.h"
#include "common/eve/json_writer.h"

namespace rampart::detect {
namespace {

using sensor::HeaderView;

AppProto MapProto(sensor::AppProto p) {
  switch (p) {
    case sensor::AppProto::kHttp: return AppProto::kHttp1;
    case sensor::AppProto::kTls: return AppProto::kTls;
    case sensor::AppProto::kDns: return AppProto::kDns;
    case sensor::AppProto::kFailed: return AppProto::kFailed;
    case sensor::AppProto::kSip: return AppProto::kSip;
    case sensor::AppProto::kSsh: return AppProto::kSsh;
    case sensor::AppProto::kKrb5: return AppProto::kKrb5;
    case sensor::AppProto::kSnmp: return AppProto::kSnmp;
    case sensor::AppProto::kSmb: return AppProto::kSmb;
    case sensor::AppProto::kLlmnr: return AppProto::kLlmnr;
    case sensor::AppProto::kQuic: return AppProto::kQuic;
    default: return AppProto::kUnknown;
  }
}

IpAddr MapAddr(const sensor::IpAddress& a) {
  IpAddr r;
  r.version = a.family;
  std::memcpy(r.bytes, a.bytes, 16);
  return r;
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

bool HeaderIs(std::string_view name, std::string_view want) { return EqualsIgnoreCase(name, want); }

// ------------------------------------------------------------------ HTTP
class HttpTx final : public TxView {
 public:
  explicit HttpTx(const sensor::HttpTxView& v) : v_(v) {}
  uint64_t id() const override { return v_.tx_id; }
  AppProto proto() const override { return AppProto::kHttp1; }
  TxProgress progress(Dir d) const override {
    const bool ts = d == Dir::kToServer;
    if (v_.progress & (ts ? sensor::kHttpRequestBody : sensor::kHttpResponseBody)) return TxProgress::kComplete;
    if (v_.progress & (ts ? sensor::kHttpRequestHeaders : sensor::kHttpResponseHeaders)) return TxProgress::kHeaders;
    return (v_.progress & (ts ? sensor::kHttpRequestLine : sensor::kHttpResponseLine)) ? TxProgress::kLine
                                                                                      : TxProgress::kNone;
  }
  bool HasEvent(std::string_view name) const override {
    for (size_t i = 0; i < v_.event_count; ++i) {
      if (v_.events[i] != nullptr && name == v_.events[i]) return true;
    }
    return false;
  }
  uint32_t EventCount() const override { return v_.event_count; }
  // A body is a file, as Suricata's HTTP file tracking has it.
  bool FileSize(Dir side, uint64_t* size, bool* complete) const override {
    *size = side == Dir::kToServer ? v_.request_body_length : v_.response_body_length;
    if (*size == 0) return false;
    *complete = progress(side) >= TxProgress::kComplete;
    return true;
  }

  bool GetBuffer(BufferId b, Dir side, uint32_t index, std::string* scratch,
                 std::span<const uint8_t>* out) const override {
    const bool ts = side == Dir::kToServer;
    const std::span<const HeaderView> headers = ts ? v_.request_headers : v_.response_headers;
    auto header = [&](std::string_view name) -> bool {
      for (const HeaderView& h : headers) {
        if (HeaderIs(h.name, name)) {
          *out = Bytes(h.value);
          return true;
        }
      }
      return false;
    };
    auto text = [&](std::string_view s) -> bool {
      *out = Bytes(s);
      return true;
    };
    if (index > 0 && b != BufferId::kHttpRequestHeader && b != BufferId::kHttpResponseHeader) return false;
    switch (b) {
      case BufferId::kHttpUri: return !v_.uri_normalized.empty() && text(v_.uri_normalized);
      case BufferId::kHttpUriRaw: return !v_.uri_raw.empty() && text(v_.uri_raw);
      case BufferId::kHttpMethod: return !v_.method.empty() && text(v_.method);
      case BufferId::kHttpRequestLine: return !v_.request_line.empty() && text(v_.request_line);
      case BufferId::kHttpProtocol: {
        std::string_view p = ts ? v_.protocol : v_.response_protocol;
        return !p.empty() && text(p);
      }
      case BufferId::kHttpHost: return !v_.host.empty() && text(v_.host);
      case BufferId::kHttpHostRaw: return header("Host");
      case BufferId::kHttpUserAgent: return header("User-Agent");
      case BufferId::kHttpReferer: return header("Referer");
      case BufferId::kHttpAccept: return header("Accept");
      case BufferId::kHttpAcceptEnc: return header("Accept-Encoding");
      case BufferId::kHttpAcceptLang: return header("Accept-Language");
      case BufferId::kHttpConnection: return header("Connection");
      case BufferId::kHttpContentType: return header("Content-Type");
      case BufferId::kHttpContentLen: return header("Content-Length");
      case BufferId::kHttpLocation: return header("Location");
      case BufferId::kHttpServer: return header("Server");
      case BufferId::kHttpCookie: return header(ts ? "Cookie" : "Set-Cookie");
      case BufferId::kHttpStatCode: {
        if (v_.status_code == 0) return false;
        *scratch = std::to_string(v_.status_code);
        *out = Bytes(*scratch);
        return true;
      }
      case BufferId::kHttpStatMsg: return text(v_.status_message);
      case BufferId::kHttpResponseLine: return !v_.status_line.empty() && text(v_.status_line);
      case BufferId::kHttpRequestBody: return !v_.request_body.empty() && text(v_.request_body);
      case BufferId::kHttpResponseBody: return !v_.response_body.empty() && text(v_.response_body);
      case BufferId::kFileData: {
        std::string_view body = ts ? v_.request_body : v_.response_body;
        return !body.empty() && text(body);
      }
      case BufferId::kHttpHeaderRaw: {
        std::string_view raw = ts ? v_.request_headers_raw : v_.response_headers_raw;
        return !raw.empty() && text(raw);
      }
      case BufferId::kHttpHeader: {
        // "Name: value\r\n" per header, without the cookie header (Suricata's http.header).
        scratch->clear();
        for (const HeaderView& h : headers) {
          if (HeaderIs(h.name, ts ? "Cookie" : "Set-Cookie")) continue;
          scratch->append(h.name).append(": ").append(h.value).append("\r\n");
        }
        if (scratch->empty()) return false;
        *out = Bytes(*scratch);
        return true;
      }
      case BufferId::kHttpHeaderNames: {
        if (headers.empty()) return false;
        scratch->assign("\r\n");
        for (const HeaderView& h : headers) scratch->append(h.name).append("\r\n");
        scratch->append("\r\n");
        *out = Bytes(*scratch);
        return true;
      }
      case BufferId::kHttpStart: {
        std::string_view line = ts ? v_.request_line : v_.status_line;
        if (line.empty()) return false;
        scratch->assign(line).append("\r\n");
        for (const HeaderView& h : headers) scratch->append(h.name).append(": ").append(h.value).append("\r\n");
        scratch->append("\r\n");
        *out = Bytes(*scratch);
        return true;
      }
      case BufferId::kHttpRequestHeader:
      case BufferId::kHttpResponseHeader: {
        const auto& hs = b == BufferId::kHttpRequestHeader ? v_.request_headers : v_.response_headers;
        if (index >= hs.size()) return false;
        scratch->assign(hs[index].name).append(": ").append(hs[index].value);
        *out = Bytes(*scratch);
        return true;
      }
      default:
        return false;
    }
  }

  const sensor::HttpTxView& view() const { return v_; }

 private:
  const sensor::HttpTxView& v_;
};

// ------------------------------------------------------------------- DNS
class DnsTx final : public TxView {
 public:
  explicit DnsTx(const sensor::DnsMessageView& m) : m_(m) {}
  uint64_t id() const override { return m_.tx_id; }
  AppProto proto() const override { return AppProto::kDns; }
  TxProgress progress(Dir d) const override {
    // A query is the request side, a response the response side.
    return m_.response == (d == Dir::kToClient) ? TxProgress::kComplete : TxProgress::kNone;
  }
  bool GetBuffer(BufferId b, Dir side, uint32_t index, std::string* scratch,
                 std::span<const uint8_t>* out) const override {
    (void)scratch;
    if (b != BufferId::kDnsQuery || side != Dir::kToServer || m_.response) return false;
    if (index >= m_.questions.size()) return false;
    *out = Bytes(m_.questions[index].name);
    return true;
  }
  const sensor::DnsMessageView& view() const { return m_; }

 private:
  const sensor::DnsMessageView& m_;
};

// ------------------------------------------------------------------- TLS
class TlsTx final : public TxView {
 public:
  // `id`: 0 for a TLS flow's one transaction; a QUIC flow's ClientHello
  // takes another, its QUIC transactions being numbered from 0.
  explicit TlsTx(const sensor::TlsView& t, uint64_t id = 0) : t_(t), id_(id) {}
  uint64_t id() const override { return id_; }
  AppProto proto() const override { return AppProto::kTls; }
  TxProgress progress(Dir d) const override {
    const int done = d == Dir::kToServer ? sensor::kTlsClientHello : (sensor::kTlsCertificate | sensor::kTlsHandshakeDone);
    return (t_.progress & done) ? TxProgress::kComplete : TxProgress::kNone;
  }
  bool GetBuffer(BufferId b, Dir side, uint32_t index, std::string* scratch,
                 std::span<const uint8_t>* out) const override {
    (void)scratch;
    if (index > 0) return false;
    auto text = [&](std::string_view s) {
      if (s.empty()) return false;
      *out = Bytes(s);
      return true;
    };
    switch (b) {
      case BufferId::kTlsSni: return text(t_.sni);
      case BufferId::kTlsCertSubject: return text(t_.cert_subject);
      case BufferId::kTlsCertIssuer: return text(t_.cert_issuer);
      case BufferId::kTlsCertSerial: return text(t_.cert_serial);
      case BufferId::kTlsCertFingerprint: return text(t_.cert_fingerprint);
      case BufferId::kTlsCerts:
        if (t_.cert_der.empty()) return false;
        *out = t_.cert_der;
        return true;
      case BufferId::kJa3Hash: return text(t_.ja3_hash);
      case BufferId::kJa3String: return text(t_.ja3_string);
      case BufferId::kJa3sHash: return text(t_.ja3s_hash);
      case BufferId::kJa3sString: return text(t_.ja3s_string);
      case BufferId::kTlsRandom:
      case BufferId::kTlsRandomTime:
      case BufferId::kTlsRandomBytes: {
        // The ClientHello's random to the server, the ServerHello's to the client.
        const std::span<const uint8_t> random = side == Dir::kToServer ? t_.client_random : t_.server_random;
        if (random.size() != 32) return false;
        *out = b == BufferId::kTlsRandom       ? random
               : b == BufferId::kTlsRandomTime ? random.first(4)
                                                : random.subspan(4);
        return true;
      }
      default: return false;
    }
  }
  uint16_t TlsVersion() const override {
    return t_.server_version != 0 ? t_.server_version : t_.client_version;
  }
  bool TlsCertValidity(int64_t* not_before, int64_t* not_after) const override {
    if (t_.cert_der.empty()) return false;
    *not_before = t_.cert_not_before;
    *not_after = t_.cert_not_after;
    return true;
  }
  const sensor::TlsView& view() const { return t_; }

 private:
  const sensor::TlsView& t_;
  uint64_t id_;
};

// ---------------------------------------- SIP, SSH, Kerberos 5, SNMP
// Fields named as their buffers.
// ------------------------------------------------------------------ QUIC
// One long-header packet before its direction's hello; complete at once, on
// its own side only (Suricata's QUIC transactions are one-directional).
class QuicTx final : public TxView {
 public:
  explicit QuicTx(const sensor::QuicTxView& v) : v_(v) {}
  uint64_t id() const override { return v_.tx_id; }
  AppProto proto() const override { return AppProto::kQuic; }
  TxProgress progress(Dir d) const override { return d == Side() ? TxProgress::kComplete : TxProgress::kNone; }
  bool GetBuffer(BufferId b, Dir side, uint32_t index, std::string* scratch,
                 std::span<const uint8_t>* out) const override {
    if (index > 0 || side != Side() || b != BufferId::kQuicVersion) return false;
    scratch->clear();
    for (int shift = 24; shift >= 0; shift -= 8) scratch->push_back(static_cast<char>((v_.version >> shift) & 0xff));
    *out = Bytes(*scratch);
    return true;
  }
  const sensor::QuicTxView& view() const { return v_; }

 private:
  Dir Side() const { return v_.side == sensor::Direction::kToServer ? Dir::kToServer : Dir::kToClient; }
  const sensor::QuicTxView& v_;
};

class FieldsTx final : public TxView {
 public:
  explicit FieldsTx(const sensor::FieldRecordView& r) : r_(r) {}
  uint64_t id() const override { return r_.tx_id; }
  AppProto proto() const override { return MapProto(r_.proto); }
  // The record's progress values are TxProgress's (0, 1-2, 4).
  TxProgress progress(Dir d) const override { return static_cast<TxProgress>(r_.progress[d == Dir::kToServer ? 0 : 1]); }
  bool GetBuffer(BufferId b, Dir side, uint32_t index, std::string* scratch,
                 std::span<const uint8_t>* out) const override {
    (void)scratch;
    const std::string_view name = GetBufferInfo(b).name;
    const sensor::Direction want = side == Dir::kToServer ? sensor::Direction::kToServer : sensor::Direction::kToClient;
    uint32_t seen = 0;
    for (const sensor::FieldView& f : r_.fields) {
      if (f.side != want || f.name != name) continue;
      if (seen++ == index) {
        *out = Bytes(f.value);
        return true;
      }
    }
    return false;
  }
  const sensor::FieldRecordView& view() const { return r_; }

 private:
  const sensor::FieldRecordView& r_;
};

// ------------------------------------------------------------ flow state
struct FlowState final : public sensor::FlowInspectorState {
  std::unique_ptr<FlowDetectState> detect;
  bool has_base[2] = {false, false};
  uint32_t base_seq[2] = {0, 0};
  uint64_t acked[2] = {0, 0};
  bool any_acked[2] = {false, false};
  uint64_t stream_end[2] = {0, 0};  // Bytes delivered per direction.
  bool syn[2] = {false, false};
  bool fin[2] = {false, false};
  bool was_established = false;
  bool app_visible = false;  // The app-layer protocol is visible to packet rules (see FillStream).
};

uint64_t Relative(uint32_t seq, uint32_t base) { return static_cast<uint32_t>(seq - base); }

class RuleInspector final : public sensor::Inspector {
 public:
  RuleInspector(std::unique_ptr<Detector> detector, const RuleInspectorOptions& options,
                std::shared_ptr<const std::vector<std::string>> metadata)
      : det_(std::move(detector)), options_(options), metadata_(std::move(metadata)) {}

  void OnPacket(const sensor::PacketEvent& ev, sensor::AlertSink& sink) override {
    const sensor::PacketView& pv = ev.packet;
    // With checksum checks on, Suricata does not inspect a packet whose
    // checksum is wrong.
    if (pv.ip_checksum == sensor::ChecksumStatus::kInvalid || pv.l4_checksum == sensor::ChecksumStatus::kInvalid) {
      return;
    }
    PacketInput p;
    FillPacket(pv, &p);
    FlowState* fs = nullptr;
    if (ev.flow != nullptr) {
      fs = State(*ev.flow);
      FillFlow(*ev.flow, fs, &p);
      FillStream(pv, ev, fs, &p);
    }
    BuildTxs(ev.app, &p);
    Run(p, sink);
    if (fs != nullptr) ForgetDone(*fs);
  }

  void OnFlowEnd(sensor::FlowView& flow, const sensor::AppLayerView& app, sensor::AlertSink& sink) override {
    FlowState* fs = State(flow);
    // One flush per direction, as Suricata's flow-end pseudo packets.
    for (int d = 0; d < 2; ++d) {
      PacketInput p;
      p.pseudo = true;
      p.timestamp_nanos = flow.last_nanos;
      p.ip_version = flow.client.family;
      p.proto = flow.proto;
      p.has_ports = flow.proto == 6 || flow.proto == 17;
      flow.direction = d == 0 ? sensor::Direction::kToServer : sensor::Direction::kToClient;
      FillFlow(flow, fs, &p);
      p.src = d == 0 ? p.client : p.server;
      p.dst = d == 0 ? p.server : p.client;
      p.sport = d == 0 ? p.client_port : p.server_port;
      p.dport = d == 0 ? p.server_port : p.client_port;
      p.tcp_closing = true;
      if (d == 0) {
        BuildTxs(app, &p);
      } else {
        txs_.clear();  // Transactions were flushed with the first pseudo packet.
      }
      Run(p, sink);
    }
    flow.direction = sensor::Direction::kToServer;
  }

 private:
  static FlowState* State(sensor::FlowView& f) {
    auto& slot = f.inspector_state();
    if (!slot) slot = std::make_unique<FlowState>();
    return static_cast<FlowState*>(slot.get());
  }

  void FillPacket(const sensor::PacketView& pv, PacketInput* p) {
    p->timestamp_nanos = pv.timestamp_nanos;
    p->pcap_cnt = pv.pcap_cnt;
    p->ip_version = pv.ip_version;
    p->src = MapAddr(pv.src);
    p->dst = MapAddr(pv.dst);
    p->proto = pv.proto;
    p->sport = pv.src_port;
    p->dport = pv.dst_port;
    p->has_ports = !pv.fragment && (pv.proto == 6 || pv.proto == 17) && pv.ip_version != 0;
    p->l3_header = pv.l3_header;
    p->l4_header = pv.l4_header;
    p->payload = pv.payload;
    p->ttl = pv.ttl;
    p->tos = pv.tos;
    p->ip_id = pv.ip_id;
    p->ip_options = pv.ip_options;
    p->ip_rf = pv.ip_rf;
    p->ip_df = pv.ip_df;
    p->ip_mf = pv.ip_mf;
    p->frag_offset = static_cast<uint16_t>(pv.frag_offset / 8);
    p->fragment = pv.fragment;
    p->is_arp = pv.ip_version == 0 && pv.frame.size() >= 14 && pv.frame[12] == 0x08 && pv.frame[13] == 0x06;
    p->tcp_flags = pv.tcp_flags;
    p->tcp_seq = pv.tcp_seq;
    p->tcp_ack = pv.tcp_ack;
    p->tcp_window = pv.tcp_window;
    p->has_tcp_mss = (pv.tcp_options & (1u << 2)) != 0;
    p->tcp_mss = pv.tcp_mss;
    const bool icmp = (pv.proto == 1 && pv.ip_version == 4) || (pv.proto == 58 && pv.ip_version == 6);
    p->has_icmp = icmp && !pv.fragment && pv.l4_header.size() >= 4;
    p->icmp_type = pv.icmp_type;
    p->icmp_code = pv.icmp_code;
    if (p->has_icmp) {
      const uint8_t t = pv.icmp_type;
      p->has_icmp_id = pv.proto == 1 ? (t == 0 || t == 8 || (t >= 13 && t <= 18)) : (t == 128 || t == 129);
      p->icmp_id = pv.icmp_id;
      p->icmp_seq = pv.icmp_seq;
      if (pv.proto == 58 && t == 2 && pv.l4_header.size() >= 8) {
        const auto& h = pv.l4_header;
        p->has_icmpv6_mtu = true;
        p->icmpv6_mtu = (uint32_t{h[4]} << 24) | (uint32_t{h[5]} << 16) | (uint32_t{h[6]} << 8) | h[7];
      }
    }
    events_.clear();
    for (const sensor::AnomalyEvent& e : pv.events) {
      std::string_view n = e.event;
      if (n.starts_with("decoder.")) n.remove_prefix(8);
      events_.push_back(n);
    }
    p->events = events_;
  }

  void FillFlow(const sensor::FlowView& f, FlowState* fs, PacketInput* p) {
    if (!fs->detect) fs->detect = det_->NewFlowState();
    p->flow = fs->detect.get();
    p->flow_id = f.flow_id;
    p->dir = f.direction == sensor::Direction::kToServer ? Dir::kToServer : Dir::kToClient;
    if (f.state != sensor::FlowState::kNew) fs->was_established = true;
    p->established = fs->was_established;
    p->app_proto = MapProto(f.app_proto);
    p->app_proto_dir[0] = MapProto(f.app_proto_dir[0]);
    p->app_proto_dir[1] = MapProto(f.app_proto_dir[1]);
    p->proto_detected = f.proto_detected;
    p->flow_pkts[0] = f.pkts_toserver;
    p->flow_pkts[1] = f.pkts_toclient;
    p->flow_bytes[0] = f.bytes_toserver;
    p->flow_bytes[1] = f.bytes_toclient;
    p->flow_start_nanos = f.start_nanos;
    p->client = MapAddr(f.client);
    p->server = MapAddr(f.server);
    p->client_port = f.client_port;
    p->server_port = f.server_port;
    p->tcp_closing = f.state == sensor::FlowState::kClosed;
    for (int d = 0; d < 2; ++d) {
      p->stream_size[d] = fs->stream_end[d] + (fs->syn[d] ? 1 : 0) + (fs->fin[d] ? 1 : 0);
      p->acked[d] = fs->has_base[d] && fs->any_acked[d] ? fs->acked[d] : UINT64_MAX;
      if (fs->has_base[d] && !fs->any_acked[d]) p->acked[d] = 0;
    }
  }

  void FillStream(const sensor::PacketView& pv, const sensor::PacketEvent& ev, FlowState* fs, PacketInput* p) {
    if (pv.proto != 6 || pv.fragment) return;
    const int d = static_cast<int>(p->dir);
    if (pv.tcp_flags & sensor::kTcpSyn) {
      fs->syn[d] = true;
      fs->has_base[d] = true;
      fs->base_seq[d] = pv.tcp_seq + 1;
    }
    if (pv.tcp_flags & sensor::kTcpFin) fs->fin[d] = true;
    chunks_.clear();
    syn_data_ = false;
    if (ev.stream != nullptr) {
      const std::span<const uint8_t> nb = ev.stream->new_bytes();
      const uint64_t off = ev.stream->stream_offset + ev.stream->new_offset;
      if (!fs->has_base[d] && nb.size() == pv.payload.size() && !nb.empty()) {
        // Picked up midstream: this packet's payload starts the new bytes.
        fs->has_base[d] = true;
        fs->base_seq[d] = pv.tcp_seq - static_cast<uint32_t>(off);
      }
      if (!nb.empty()) chunks_.push_back(PacketInput::Chunk{p->dir, nb, off, ev.stream->gap});
      fs->stream_end[d] = std::max(fs->stream_end[d], off + nb.size());
    }
    if ((pv.tcp_flags & sensor::kTcpSyn) && !pv.payload.empty() && fs->stream_end[d] == 0) {
      // Data on a SYN (TCP Fast Open) is stream data from offset 0, taken
      // as acknowledged with the SYN itself, as Suricata's stream does: it
      // is inspected on the SYN, where flags:S can see it. The reassembler
      // hands the same bytes over later; the engine skips what it has.
      chunks_.push_back(PacketInput::Chunk{p->dir, pv.payload, 0, false});
      fs->stream_end[d] = pv.payload.size();
      fs->acked[d] = fs->any_acked[d] ? std::max<uint64_t>(fs->acked[d], pv.payload.size()) : pv.payload.size();
      fs->any_acked[d] = true;
      syn_data_ = true;
    }
    p->chunks = chunks_;
    // The peer's ACK tells how much of the other direction was received.
    const int o = 1 - d;
    if ((pv.tcp_flags & sensor::kTcpAck) && fs->has_base[o]) {
      const uint64_t a = Relative(pv.tcp_ack, fs->base_seq[o]);
      if (a < (1ull << 31)) {
        fs->acked[o] = fs->any_acked[o] ? std::max(fs->acked[o], a) : a;
        fs->any_acked[o] = true;
      }
    }
    for (int k = 0; k < 2; ++k) {
      p->acked[k] = !fs->has_base[k] ? UINT64_MAX : (fs->any_acked[k] ? fs->acked[k] : 0);
    }
    // Suricata's parsers ask for stream inspection after each message they
    // parse. For protocols the sensor does not parse, acknowledged data is
    // inspected as it comes (the nearest generic equivalent).
    // The same for the protocols parsed into fields (SIP, SSH, Kerberos,
    // SNMP, SMB, LLMNR): their records cover a few messages only.
    switch (p->app_proto) {
      case AppProto::kFailed:
      case AppProto::kSip:
      case AppProto::kSsh:
      case AppProto::kKrb5:
      case AppProto::kSnmp:
      case AppProto::kSmb:
      case AppProto::kLlmnr:
        p->raw_trigger[0] = p->raw_trigger[1] = true;
        break;
      default:
        break;
    }
    // Was the payload taken into the stream? Then stream rules see it there
    // and not in the packet (Suricata's PKT_STREAM_ADD).
    bool retransmission = false;
    for (std::string_view e : p->events) {
      if (e == "stream.pkt_retransmission") retransmission = true;
    }
    p->stream_added = syn_data_ || ev.stream != nullptr || (!pv.payload.empty() && fs->was_established && !retransmission);
    // Suricata's app layer (IDS mode) sees a direction's data once the peer
    // acknowledges it, after the handshake: until then packets of the flow
    // have no app-layer protocol, though the sensor may know it already.
    if (!fs->app_visible && !(pv.tcp_flags & sensor::kTcpSyn) && (pv.tcp_flags & sensor::kTcpAck) &&
        fs->any_acked[o] && fs->acked[o] > 0) {
      fs->app_visible = true;
    }
    if (!fs->app_visible && !p->tcp_closing) p->app_proto = AppProto::kUnknown;
  }

  void BuildTxs(const sensor::AppLayerView& app, PacketInput* p) {
    http_.clear();
    dns_.clear();
    tls_.reset();
    txs_.clear();
    for (const sensor::HttpTxView* t : app.http) {
      if (t != nullptr) http_.emplace_back(*t);
    }
    for (const sensor::DnsMessageView* m : app.dns) {
      if (m != nullptr) dns_.emplace_back(*m);
    }
    if (app.tls != nullptr) tls_.emplace(*app.tls, p->app_proto == AppProto::kQuic ? UINT64_MAX : 0);
    quic_.clear();
    for (const sensor::QuicTxView* q : app.quic) {
      if (q != nullptr) quic_.emplace_back(*q);
    }
    fields_.clear();
    for (const sensor::FieldRecordView* r : app.records) {
      if (r != nullptr) fields_.emplace_back(*r);
    }
    for (const FieldsTx& t : fields_) {
      txs_.push_back(&t);
      for (int d = 0; d < 2; ++d) {
        if (t.view().progress[d] != 0) p->raw_trigger[d] = true;
      }
    }
    for (const HttpTx& t : http_) {
      txs_.push_back(&t);
      if (t.view().progressed & sensor::kHttpRequestBody) p->raw_trigger[0] = true;
      if (t.view().progressed & sensor::kHttpResponseBody) p->raw_trigger[1] = true;
    }
    for (const DnsTx& t : dns_) {
      txs_.push_back(&t);
      p->raw_trigger[t.view().response ? 1 : 0] = true;
    }
    for (const QuicTx& t : quic_) txs_.push_back(&t);
    if (tls_) {
      txs_.push_back(&*tls_);
      if (tls_->view().progressed & sensor::kTlsClientHello) p->raw_trigger[0] = true;
      if (tls_->view().progressed & (sensor::kTlsServerHello | sensor::kTlsCertificate)) p->raw_trigger[1] = true;
    }
  }

  void ForgetDone(FlowState& fs) {
    for (const HttpTx& t : http_) {
      if ((t.view().progress & sensor::kHttpRequestBody) && (t.view().progress & sensor::kHttpResponseBody)) {
        det_->ForgetTx(*fs.detect, t.id());
      }
    }
    for (const DnsTx& t : dns_) {
      if (t.view().response) det_->ForgetTx(*fs.detect, t.id());
    }
    for (const QuicTx& t : quic_) det_->ForgetTx(*fs.detect, t.id());
    // One message per record (SSH keeps one record for the flow).
    for (const FieldsTx& t : fields_) {
      if (t.view().proto != sensor::AppProto::kSsh) det_->ForgetTx(*fs.detect, t.id());
    }
  }

  void Run(const PacketInput& p, sensor::AlertSink& sink) {
    alerts_.clear();
    det_->Inspect(p, txs_, &alerts_);
    for (const Alert& a : alerts_) {
      const Rule& r = *a.rule;
      sensor::AlertInfo info;
      const bool blocked = r.action == Action::kReject || (options_.inline_mode && r.action == Action::kDrop);
      info.action = blocked ? "blocked" : "allowed";
      info.gid = r.gid;
      info.signature_id = r.sid;
      info.rev = r.rev;
      info.signature = r.msg;
      info.category = r.category;
      info.severity = r.priority;
      info.metadata_json = (*metadata_)[r.num];
      if (a.has_tx) {
        info.tx_id = a.tx_id;
        if (const auto* h = dynamic_cast<const HttpTx*>(a.tx)) info.http = &h->view();
        if (const auto* d = dynamic_cast<const DnsTx*>(a.tx)) info.dns = &d->view();
        if (const auto* t = dynamic_cast<const TlsTx*>(a.tx)) info.tls = &t->view();
      }
      sink.Alert(info);
    }
  }

  std::unique_ptr<Detector> det_;
  RuleInspectorOptions options_;
  std::shared_ptr<const std::vector<std::string>> metadata_;
  std::vector<std::string_view> events_;
  std::vector<PacketInput::Chunk> chunks_;
  bool syn_data_ = false;  // This packet's SYN payload was handed over as stream data.
  std::vector<HttpTx> http_;
  std::vector<DnsTx> dns_;
  std::vector<FieldsTx> fields_;
  std::vector<QuicTx> quic_;
  std::optional<TlsTx> tls_;
  std::vector<const TxView*> txs_;
  std::vector<Alert> alerts_;
};

std::string MetadataJson(const Rule& r) {
  if (r.metadata.empty()) return {};
  std::vector<std::string> keys;
  std::map<std::string, std::vector<std::string>> values;
  for (const std::string& m : r.metadata) {
    std::string_view t = Trim(m);
    const size_t sp = t.find(' ');
    std::string key(sp == std::string_view::npos ? t : t.substr(0, sp));
    std::string val(sp == std::string_view::npos ? std::string_view() : Trim(t.substr(sp + 1)));
    if (key.empty()) continue;
    if (!values.contains(key)) keys.push_back(key);
    values[key].push_back(val);
  }
  std::string out;
  eve::JsonWriter w(&out);
  w.BeginObject();
  for (const std::string& k : keys) {
    w.BeginArray(k);
    for (const std::string& v : values[k]) w.String(v);
    w.EndArray();
  }
  w.EndObject();
  return out;
}

}  // namespace

RuleInspectorFactory::RuleInspectorFactory(const Engine& engine, const RuleInspectorOptions& options)
    : engine_(engine), options_(options) {
  auto md = std::make_shared<std::vector<std::string>>();
  md->reserve(engine.rule_count());
  for (size_t i = 0; i < engine.rule_count(); ++i) md->push_back(MetadataJson(engine.rule(i)));
  metadata_json_ = std::move(md);
}

sensor::InspectorNeeds RuleInspectorFactory::Needs() const {
  sensor::InspectorNeeds n;
  n.stream_context = 0;  // The engine keeps its own stream windows.
  // HTTP bodies are kept only when a rule reads one (each kept body costs
  // up to the limit per open transaction).
  bool bodies = false;
  for (size_t i = 0; i < engine_.rule_count() && !bodies; ++i) {
    for (const MatchList& l : engine_.rule(i).lists) {
      if (l.buffer == BufferId::kHttpRequestBody || l.buffer == BufferId::kHttpResponseBody ||
          l.buffer == BufferId::kFileData) {
        bodies = true;
        break;
      }
    }
  }
  n.http_body_limit = bodies ? options_.http_body_limit : 0;
  return n;
}

Result<std::unique_ptr<sensor::Inspector>> RuleInspectorFactory::Create(int worker) {
  (void)worker;
  RAMPART_ASSIGN_OR_RETURN(auto det, Detector::Create(engine_));
  return std::unique_ptr<sensor::Inspector>(new RuleInspector(std::move(det), options_, metadata_json_));
}

}  // namespace rampart::detect
