#pragma once
// The app layer of a worker: detects each flow's protocol from its first
// payload bytes (HTTP request methods and status lines, TLS/SSL record and
// hello headers, DNS messages; ports only pick DNS candidates, the content
// decides), then feeds the flow's in-order bytes to that protocol's parser.
//
// Detection (TCP): each direction's first bytes are tried; one direction
// recognised is enough (a connection picked up midstream may show only
// responses). When both directions were tried and neither matched, the
// flow is "failed", as Suricata names it. A failed flow (or an HTTP CONNECT
// tunnel) is tried again at the start of each of its next 16 segments per
// direction, so TLS after STARTTLS (SMTP, FTP, LDAP, PostgreSQL), HTTP or
// TLS behind a SOCKS handshake and TLS inside CONNECT are still seen. UDP:
// DNS on port 53 when the datagram parses as DNS; QUIC when a client
// Initial packet decrypts; HTTP over UDP (SSDP) when a datagram is an HTTP
// message; else failed.
//
// One AppLayer per worker thread. What a call produced is returned in an
// AppOutput that stays valid until the next call on this AppLayer.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/applayer/dns.h"
#include "agent/applayer/fields.h"
#include "agent/applayer/http.h"
#include "agent/applayer/quic.h"
#include "agent/applayer/tls.h"
#include "agent/flow/flow.h"
#include "agent/flow/tcp_stream.h"
#include "common/metrics/counters.h"

namespace rampart::applayer {

// Values equal sensor::AppProto.
enum class Proto : uint8_t {
  kUnknown = 0, kHttp = 1, kTls = 2, kDns = 3, kFailed = 4, kQuic = 5,
  kSip = 6, kSsh = 7, kKrb5 = 8, kSnmp = 9, kSmb = 10, kLlmnr = 11,  // Parsed into named fields (fields.h).
};
std::string_view ProtoName(Proto p);  // "http", "tls", "dns", "quic", "sip", "ssh", "krb5", "snmp", "smb", "llmnr", "failed"; "" for unknown.

struct AppOptions {
  HttpOptions http;
};

#define RAMPART_APP_COUNTERS(X)                                                                    \
  X(kCounter, flow_http, "app_layer.flow.http", "flows detected as HTTP")                          \
  X(kCounter, flow_tls, "app_layer.flow.tls", "flows detected as TLS")                             \
  X(kCounter, flow_dns_udp, "app_layer.flow.dns_udp", "UDP flows detected as DNS")                 \
  X(kCounter, flow_dns_tcp, "app_layer.flow.dns_tcp", "TCP flows detected as DNS")                 \
  X(kCounter, flow_failed_tcp, "app_layer.flow.failed_tcp", "TCP flows whose protocol was not recognised") \
  X(kCounter, flow_failed_udp, "app_layer.flow.failed_udp", "UDP flows whose protocol was not recognised") \
  X(kCounter, flow_quic, "app_layer.flow.quic", "flows detected as QUIC")                          \
  X(kCounter, flow_fields, "", "SIP, SSH, Kerberos 5 and SNMP flows")                              \
  X(kCounter, tx_fields, "", "SIP, SSH, Kerberos 5 and SNMP messages")                             \
  X(kCounter, errors_fields, "", "SIP, SSH, Kerberos 5 and SNMP parse errors")                     \
  X(kCounter, tx_quic, "app_layer.tx.quic", "QUIC transactions")                                   \
  X(kCounter, tx_http, "app_layer.tx.http", "HTTP transactions")                                   \
  X(kCounter, tx_dns_udp, "app_layer.tx.dns_udp", "DNS messages over UDP")                         \
  X(kCounter, tx_dns_tcp, "app_layer.tx.dns_tcp", "DNS messages over TCP")                         \
  X(kCounter, tx_tls, "app_layer.tx.tls", "TLS handshakes parsed")                                 \
  X(kCounter, errors_http, "app_layer.error.http.parser", "HTTP parse errors")                     \
  X(kCounter, errors_tls, "app_layer.error.tls.parser", "TLS parse errors")                        \
  X(kCounter, errors_dns_udp, "app_layer.error.dns_udp.parser", "DNS-over-UDP parse errors")       \
  X(kCounter, errors_dns_tcp, "app_layer.error.dns_tcp.parser", "DNS-over-TCP parse errors")

struct AppCounters {
  RAMPART_COUNTERS(AppCounters, "app_layer", RAMPART_APP_COUNTERS)
};

// What one call produced.
struct AppOutput {
  std::vector<HttpTx*> http;         // Transactions that progressed.
  std::vector<DnsMessage*> dns;      // Messages parsed (tx_id set).
  TlsInfo* tls = nullptr;            // Set when the TLS state progressed.
  QuicInfo* quic = nullptr;          // Set when a QUIC ClientHello was parsed.
  const std::vector<QuicTxRecord>* quic_txs = nullptr;  // QUIC transactions made by this datagram.
  uint8_t proto_detected = 0;        // Bit per direction whose detection completed (FlowApp::dir_proto).
  std::vector<const char*> events;   // App-layer anomalies ("http.request_line_invalid").
  std::vector<FieldRecord*> fields;  // SIP/SSH/Kerberos/SNMP records that progressed.
  void Clear() {
    fields.clear();
    http.clear();
    dns.clear();
    tls = nullptr;
    quic = nullptr;
    quic_txs = nullptr;
    proto_detected = 0;
    events.clear();
  }
};

// Per-flow app-layer state (stored in Flow::app).
class FlowApp final : public flow::FlowUserData {
 public:
  Proto proto = Proto::kUnknown;
  uint8_t tried[2] = {0, 0};      // 0 not yet, 1 waiting for more bytes, 2 did not match.
  std::string prefix[2];          // First bytes kept while detection needs more.
  bool http_reversed = false;     // Requests travel server -> client in this flow's orientation.
  bool tls_reversed = false;      // The ClientHello travels server -> client.
  bool gave_up[2] = {false, false};
  // What each direction's own first data was detected as (0 to server); a
  // direction that looks like nothing known takes the flow's protocol.
  Proto dir_proto[2] = {Proto::kUnknown, Proto::kUnknown};
  uint8_t dir_probes[2] = {0, 0};
  uint8_t late_tries[2] = {0, 0};  // Chunk starts tried after the first detection failed.
  std::unique_ptr<HttpParser> http;
  std::unique_ptr<TlsParser> tls;
  std::unique_ptr<QuicParser> quic;
  std::unique_ptr<FieldParser> fields;  // SIP, SSH, Kerberos 5, SNMP.
  std::string dns_buf[2];         // DNS over TCP: partial message.
  uint64_t dns_next_tx = 0;
  std::vector<std::pair<uint16_t, uint64_t>> dns_pending;  // Query id -> tx id, awaiting a response.

  HttpParser* Http() { return http.get(); }
  TlsInfo* Tls() { return tls ? &tls->info() : nullptr; }
};

class AppLayer {
 public:
  explicit AppLayer(const AppOptions& options) : options_(options) {}

  // In-order TCP bytes of direction `dir` (0 = to server) of flow `f`.
  void OnTcp(flow::Flow& f, int dir, std::span<const flow::StreamChunk> chunks, AppOutput* out);
  // One UDP datagram's payload.
  void OnUdp(flow::Flow& f, int dir, const uint8_t* data, size_t len, AppOutput* out);
  // The flow is ending: bodies that run until close are complete.
  void OnFlowEnd(flow::Flow& f, AppOutput* out);

  static FlowApp* Get(flow::Flow& f) { return static_cast<FlowApp*>(f.app.get()); }
  static Proto ProtoOf(const flow::Flow& f) {
    return f.app ? static_cast<const FlowApp*>(f.app.get())->proto : Proto::kUnknown;
  }
  const AppCounters& counters() const { return counters_; }
  const AppOptions& options() const { return options_; }

 private:
  FlowApp* State(flow::Flow& f);
  void Detect(flow::Flow& f, FlowApp* app, int dir, const uint8_t* data, size_t len, bool gap, AppOutput* out);
  // Records what a direction's own first data looks like, once the flow's protocol is known.
  void ProbeDirection(flow::Flow& f, FlowApp* app, int dir, const uint8_t* data, size_t len, AppOutput* out);
  bool LateDetect(flow::Flow& f, FlowApp* app, int dir, const uint8_t* data, size_t len, AppOutput* out);
  void Deliver(flow::Flow& f, FlowApp* app, int dir, const uint8_t* data, size_t len, bool gap, AppOutput* out);
  void StartFields(FlowApp* app, Proto p);
  void FeedFields(FlowApp* app, int dir, const uint8_t* data, size_t len, bool gap, bool datagram, AppOutput* out);
  void DnsMessageBytes(FlowApp* app, bool tcp, const uint8_t* data, size_t len, AppOutput* out);
  DnsMessage* NextDns();

  AppOptions options_;
  AppCounters counters_;
  std::vector<std::unique_ptr<DnsMessage>> dns_pool_;
  size_t dns_used_ = 0;
  std::vector<HttpEvent> http_events_;
  std::vector<TlsEvent> tls_events_;
};

}  // namespace rampart::applayer
