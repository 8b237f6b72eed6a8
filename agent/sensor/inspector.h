#pragma once
// The detection hook: how an inspector (the rule engine, YARA on payloads,
// indicator sets) sees what the network sensor decoded, and how it writes
// alerts into the sensor's EVE output.
//
// Lifecycle and threads
//   The pipeline receives an InspectorFactory in its options (none: no
//   inspector, and nothing below costs anything). Before packets flow, the
//   pipeline calls Needs() once and Create(worker) once per worker, all on
//   the thread that starts the pipeline. Each Inspector is then used by
//   exactly one worker thread and never concurrently, so it may own
//   per-thread scratch without locks. The factory must outlive the pipeline;
//   inspectors are destroyed by the pipeline after the last OnFlowEnd.
//
// Order of calls on a worker, for every decoded packet:
//   decode -> (defragmentation) -> flow lookup -> TCP state + reassembly ->
//   app-layer parsing of the bytes that became in-order -> OnPacket().
//   So OnPacket sees the flow counters including this packet, the stream
//   bytes this packet made available in its own direction, and the
//   transactions that progressed because of it. Data is handed over as soon
//   as it is in order (the sensor does not wait for the peer's ACK).
//   OnFlowEnd() follows the flow's last packet: timeout, eviction under the
//   memory cap, or end of capture / shutdown. The flow's EVE `flow` record
//   is written after OnFlowEnd, so an alert raised there still sets
//   flow.alerted.
//
// Which packets are seen
//   Every frame the decoder accepts, also those without a flow (ARP, IP
//   fragments before reassembly, non-TCP/UDP/ICMP protocols): then `flow` is
//   null. An IPv4/IPv6 fragment is delivered as itself (fragment fields
//   set, no L4); the datagram rebuilt from its fragments follows as one more
//   packet with `reassembled` set and the L4 fields of the whole datagram,
//   and only that one updates the flow. With checksum checks on (the
//   default, as Suricata), a TCP packet whose checksum is wrong still
//   updates the flow's counters and reaches OnPacket with
//   l4_checksum == kInvalid, but it changes no TCP state and carries no
//   stream bytes or app-layer data ("not inspected", as in Suricata).
//
// Lifetime of what is passed
//   Every view (spans, string_views, pointers) is valid only during the
//   call; copy what you keep. The per-flow slot FlowView::state is the one
//   thing the inspector owns across calls: the sensor destroys it with the
//   flow, after OnFlowEnd.
//
// Cost
//   The sensor fills these views only when an inspector exists. Stream
//   context before the new bytes and HTTP bodies are kept only as far as
//   Needs() asks.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "common/status/status.h"

namespace rampart::sensor {

// ---------------------------------------------------------------- packet ---

enum class Direction : uint8_t { kToServer = 0, kToClient = 1 };

enum class ChecksumStatus : uint8_t {
  kNotChecked = 0,  // Checks off, not applicable, or the packet was cut by the snap length.
  kValid = 1,
  kInvalid = 2,
};

struct IpAddress {
  uint8_t family = 0;      // 4 or 6; 0 when there is no IP layer.
  uint8_t bytes[16] = {};  // Network order; IPv4 uses bytes[0..3], the rest are 0.
  std::span<const uint8_t> view() const { return {bytes, family == 6 ? 16u : (family == 4 ? 4u : 0u)}; }
};

// TCP flag bits, as in the header.
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr uint8_t kTcpUrg = 0x20;
inline constexpr uint8_t kTcpEce = 0x40;
inline constexpr uint8_t kTcpCwr = 0x80;

// IPv4 options present in the header (Suricata's `ipopts` names).
inline constexpr uint16_t kIpOptEol = 1 << 0;    // eol: end of list
inline constexpr uint16_t kIpOptNop = 1 << 1;    // nop
inline constexpr uint16_t kIpOptRr = 1 << 2;     // rr: record route
inline constexpr uint16_t kIpOptTs = 1 << 3;     // ts: timestamp
inline constexpr uint16_t kIpOptSec = 1 << 4;    // sec: security
inline constexpr uint16_t kIpOptEsec = 1 << 5;   // esec: extended security
inline constexpr uint16_t kIpOptLsrr = 1 << 6;   // lsrr: loose source route
inline constexpr uint16_t kIpOptSsrr = 1 << 7;   // ssrr: strict source route
inline constexpr uint16_t kIpOptSatid = 1 << 8;  // satid: stream identifier
inline constexpr uint16_t kIpOptOther = 1 << 9;  // any other option type

// One anomaly raised while handling this packet, named as Suricata's EVE
// `anomaly` record and event rules name it: type "decode" with event
// "decoder.ipv4.trunc_pkt" (rule keyword decode-event:ipv4.trunc_pkt), type
// "stream" with "stream.pkt_invalid_ack" (stream-event:pkt_invalid_ack),
// type "applayer" with e.g. "http.request_header_invalid"
// (app-layer-event:http.request_header_invalid).
struct AnomalyEvent {
  std::string_view type;   // "decode", "stream" or "applayer".
  std::string_view event;  // Full name as above; static storage.
};

struct PacketView {
  int64_t timestamp_nanos = 0;  // Capture time, Unix epoch.
  uint64_t pcap_cnt = 0;        // 1-based number of the packet in the capture (file or live).
  std::span<const uint8_t> frame;  // The whole captured frame, link layer included.
  uint32_t wire_length = 0;        // Length on the wire (frame may be shorter: snap length).
  uint16_t vlan[2] = {};           // Outer, inner 802.1Q ids.
  uint8_t vlan_count = 0;

  // Network layer. For a reassembled datagram these describe the rebuilt
  // packet (first fragment's header, total length of the whole).
  uint8_t ip_version = 0;  // 4, 6 or 0.
  IpAddress src;
  IpAddress dst;
  uint8_t proto = 0;       // IPv4 protocol / IPv6 final next header (after extension headers).
  uint8_t ttl = 0;         // TTL or hop limit.
  uint8_t tos = 0;         // IPv4 TOS / IPv6 traffic class.
  uint32_t ip_id = 0;      // IPv4 identification, or the IPv6 fragment header's identification.
  uint16_t ip_options = 0; // kIpOpt* bits (IPv4).
  bool ip_rf = false;      // IPv4 reserved flag.
  bool ip_df = false;      // IPv4 don't-fragment.
  bool ip_mf = false;      // More fragments (IPv4 flag or IPv6 fragment header M bit).
  uint16_t frag_offset = 0;  // In bytes.
  bool fragment = false;     // This packet is one fragment (no L4 fields).
  bool reassembled = false;  // This packet was rebuilt from fragments.
  uint16_t ipv6_exthdrs = 0; // IPv6 extension headers seen: bit n for the n-th of
                             // hop-by-hop(0) routing(1) fragment(2) dstopts(3) ah(4) esp(5).
  std::span<const uint8_t> l3_header;  // IPv4 header with options / IPv6 header + extension headers.

  // Transport layer (zero when absent).
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t tcp_flags = 0;      // kTcp* bits.
  uint32_t tcp_seq = 0;
  uint32_t tcp_ack = 0;
  uint16_t tcp_window = 0;    // As in the header (unscaled).
  uint16_t tcp_urgent = 0;
  uint32_t tcp_options = 0;   // Bit k set: option kind k (k < 32) present; 1u<<31 for kinds >= 31.
  uint16_t tcp_mss = 0;       // MSS option value, 0 when absent.
  uint8_t tcp_wscale = 0;     // Window scale option value (valid when bit 3 of tcp_options).
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  uint16_t icmp_id = 0;       // Echo identifier / sequence (echo request and reply only).
  uint16_t icmp_seq = 0;
  std::span<const uint8_t> l4_header;  // TCP header with options, UDP header, ICMP header (8 bytes).
  std::span<const uint8_t> payload;    // L4 payload (or the L3 payload for other protocols).

  ChecksumStatus ip_checksum = ChecksumStatus::kNotChecked;  // IPv4 header checksum.
  ChecksumStatus l4_checksum = ChecksumStatus::kNotChecked;  // TCP/UDP/ICMP/ICMPv6 checksum.

  std::span<const AnomalyEvent> events;  // Anomalies this packet raised (decoder, stream, app layer).
};

// ------------------------------------------------------------------ flow ---

enum class FlowState : uint8_t {
  kNew = 0,          // One side seen, or TCP handshake not complete.
  kEstablished = 1,  // TCP: handshake completed (or picked up midstream); others: both directions seen.
  kClosed = 2,       // TCP: FIN both ways or RST.
};

enum class AppProto : uint8_t {
  kUnknown = 0,  // Not detected yet (no payload, or not enough of it).
  kHttp = 1,
  kTls = 2,
  kDns = 3,
  kFailed = 4,   // Payload seen both ways but no parser recognised it.
  kQuic = 5,     // QUIC; its ClientHello is shown as AppLayerView::tls.
  kSip = 6,      // SIP, SSH, Kerberos 5, SNMP, SMB: shown as AppLayerView::records.
  kSsh = 7,
  kKrb5 = 8,
  kSnmp = 9,
  kSmb = 10,     // Tree connects only (smb.share, smb.named_pipe).
  kLlmnr = 11,
};

// Inspector-owned per-flow state: derive from it and store it in FlowView::state.
class FlowInspectorState {
 public:
  virtual ~FlowInspectorState() = default;
};

struct FlowView {
  uint64_t flow_id = 0;      // As in the flow's EVE records.
  Direction direction = Direction::kToServer;  // Of the current packet (OnFlowEnd: kToServer).
  FlowState state = FlowState::kNew;
  AppProto app_proto = AppProto::kUnknown;
  // What each direction's own data was detected as ([0] to server, [1] to
  // client; a client speaking HTTP to an SSH server has kHttp and kSsh),
  // and the directions whose detection completed with the current packet
  // (bit 0 to server, bit 1 to client).
  AppProto app_proto_dir[2] = {AppProto::kUnknown, AppProto::kUnknown};
  uint8_t proto_detected = 0;
  uint8_t proto = 0;         // IP protocol.
  // The flow's orientation: client = the side that sent the first packet
  // (for TCP, the SYN sender when the handshake was seen).
  IpAddress client;
  IpAddress server;
  uint16_t client_port = 0;
  uint16_t server_port = 0;
  uint64_t pkts_toserver = 0;   // Including the current packet.
  uint64_t pkts_toclient = 0;
  uint64_t bytes_toserver = 0;  // Bytes of whole IP packets.
  uint64_t bytes_toclient = 0;
  int64_t start_nanos = 0;      // First packet.
  int64_t last_nanos = 0;       // Latest packet.
  bool alerted = false;         // An alert was written for this flow.
  // Yours: created, replaced or read as you like; destroyed with the flow.
  std::unique_ptr<FlowInspectorState>* state_slot = nullptr;

  std::unique_ptr<FlowInspectorState>& inspector_state() const { return *state_slot; }
};

// ---------------------------------------------------------------- stream ---

// TCP stream bytes that became in-order (contiguous from the start of the
// stream in this direction) because of the current packet: its own payload,
// and any buffered out-of-order data it connected. Overlaps keep the bytes
// that arrived first; a retransmission of bytes already delivered delivers
// nothing. After a gap that will not fill (the peer ACKed past it, or the
// flow ended) delivery resumes after the gap with `gap` set.
struct StreamView {
  // data = [context][new bytes]. context is up to Needs().stream_context
  // bytes that were delivered before (in an earlier call), so a match can
  // span segments; it is empty after a gap.
  std::span<const uint8_t> data;
  size_t new_offset = 0;        // Index in `data` where the new bytes start.
  uint64_t stream_offset = 0;   // Stream offset of data[0] (0 = first byte after the SYN).
  bool gap = false;             // Bytes are missing right before the new bytes.
  bool depth_reached = false;   // The per-flow depth ended reassembly in this direction;
                                // no stream bytes will follow.
  std::span<const uint8_t> new_bytes() const { return data.subspan(new_offset); }
};

// ------------------------------------------------------------- app layer ---

struct HeaderView {
  std::string_view name;   // As sent (case kept).
  std::string_view value;  // Leading and trailing blanks removed; folded lines joined with a space.
};

// HTTP/1.x transaction progress bits.
inline constexpr uint8_t kHttpRequestLine = 1 << 0;
inline constexpr uint8_t kHttpRequestHeaders = 1 << 1;   // Header block complete.
inline constexpr uint8_t kHttpRequestBody = 1 << 2;      // Request complete (body done or none).
inline constexpr uint8_t kHttpResponseLine = 1 << 3;
inline constexpr uint8_t kHttpResponseHeaders = 1 << 4;
inline constexpr uint8_t kHttpResponseBody = 1 << 5;     // Response complete.

struct HttpTxView {
  uint64_t tx_id = 0;       // 0-based, per flow, in request order.
  uint8_t progress = 0;     // kHttp* bits reached so far.
  uint8_t progressed = 0;   // kHttp* bits reached with this packet.

  // Request.
  std::string_view request_line;    // "GET /a?b HTTP/1.1", without CRLF.
  std::string_view method;
  std::string_view uri_raw;         // As sent.
  std::string_view uri_normalized;  // Suricata's http.uri: percent-decoded path, "/./" and "/../"
                                    // resolved, "//" kept; the query URL-decoded ("+" a space).
  std::string_view protocol;        // "HTTP/1.1"; empty for HTTP/0.9.
  std::string_view host;            // Host header (or host of an absolute URI), lower-cased, port removed.
  std::string_view user_agent;
  std::span<const HeaderView> request_headers;
  std::string_view request_headers_raw;  // The header block as sent, lines with their CRLFs.
  // Body after de-chunking and decompression (gzip/deflate), up to
  // Needs().http_body_limit bytes; *_body_new is the index of the bytes added
  // with this packet.
  std::string_view request_body;
  size_t request_body_new = 0;

  // Response.
  uint16_t status_code = 0;        // 0 until the status line is seen.
  std::string_view status_line;    // "HTTP/1.1 200 OK".
  std::string_view status_message; // "OK".
  std::string_view response_protocol;
  std::span<const HeaderView> response_headers;
  std::string_view response_headers_raw;
  std::string_view response_body;  // Suricata's file_data for HTTP.
  size_t response_body_new = 0;
  uint64_t request_body_length = 0;   // Decoded body bytes seen, also beyond the limit.
  uint64_t response_body_length = 0;
  // App-layer events raised for this transaction so far, by Suricata's
  // names ("http.too_many_encoding_layers"): Suricata keeps them on the
  // transaction, so a rule for either direction can see them.
  static constexpr size_t kMaxEvents = 8;
  std::array<const char*, kMaxEvents> events{};
  uint8_t event_count = 0;

  // The first header with this name (ASCII case-insensitive), or nullopt.
  std::optional<std::string_view> RequestHeader(std::string_view name) const {
    return Find(request_headers, name);
  }
  std::optional<std::string_view> ResponseHeader(std::string_view name) const {
    return Find(response_headers, name);
  }

 private:
  static std::optional<std::string_view> Find(std::span<const HeaderView> headers, std::string_view name) {
    for (const HeaderView& h : headers) {
      if (h.name.size() != name.size()) continue;
      bool same = true;
      for (size_t i = 0; i < name.size() && same; ++i) {
        char a = h.name[i], b = name[i];
        if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z') b = static_cast<char>(b - 'A' + 'a');
        same = a == b;
      }
      if (same) return h.value;
    }
    return std::nullopt;
  }
};

struct DnsQuestionView {
  std::string_view name;  // Dotted, without the final dot; "" for the root. Non-printable
                          // bytes and '.' inside a label are written as \xNN, as Suricata does.
  uint16_t type = 0;      // 1 = A, 28 = AAAA, ...
  uint16_t qclass = 0;
};

struct DnsRecordView {
  std::string_view name;
  uint16_t type = 0;
  uint16_t rclass = 0;
  uint32_t ttl = 0;
  std::span<const uint8_t> rdata;  // As on the wire (names inside it still compressed).
  std::string_view rdata_text;     // As in EVE: an address, a decompressed name, TXT text; "" otherwise.
};

// One DNS message (a query or a response) over UDP or TCP.
struct DnsMessageView {
  uint64_t tx_id = 0;     // Per flow; a response carries the tx_id of the query it answers.
  uint16_t id = 0;
  bool response = false;  // QR bit.
  uint8_t opcode = 0;
  uint8_t rcode = 0;
  uint16_t flags = 0;     // The 16-bit flags word.
  std::span<const DnsQuestionView> questions;
  std::span<const DnsRecordView> answers;
  std::span<const DnsRecordView> authorities;
};

// TLS handshake progress bits.
inline constexpr uint8_t kTlsClientHello = 1 << 0;
inline constexpr uint8_t kTlsServerHello = 1 << 1;
inline constexpr uint8_t kTlsCertificate = 1 << 2;  // The server's certificate (TLS <= 1.2).
inline constexpr uint8_t kTlsHandshakeDone = 1 << 3;  // Encrypted data seen both ways / ChangeCipherSpec.

// The TLS state of a flow (one per flow; fields fill in as the handshake goes).
struct TlsView {
  uint8_t progress = 0;      // kTls* bits reached so far.
  uint8_t progressed = 0;    // kTls* bits reached with this packet.
  uint16_t record_version = 0;  // Version of the first record seen (0x0301 ...).
  uint16_t client_version = 0;  // ClientHello legacy_version.
  uint16_t server_version = 0;  // Negotiated: ServerHello's supported_versions, else its legacy_version.
  std::string_view version;     // Negotiated version as EVE writes it ("TLS 1.2", "TLS 1.3", "SSLv3").
  std::string_view sni;         // server_name from the ClientHello.
  std::string_view ja3_string;  // "771,4865-4866,0-23-65281,29-23-24,0" (GREASE removed).
  std::string_view ja3_hash;    // MD5 of ja3_string, lower-case hex.
  std::string_view ja3s_string;
  std::string_view ja3s_hash;
  std::span<const uint8_t> client_random;  // 32 bytes when seen.
  std::span<const uint8_t> server_random;  // The ServerHello's, 32 bytes when seen.
  std::span<const uint8_t> session_id;     // ClientHello's.
  // The server's first certificate (leaf), when sent in clear.
  std::span<const uint8_t> cert_der;
  std::string_view cert_subject;      // "C=US, O=Example, CN=www.example.com" (Suricata's form).
  std::string_view cert_issuer;
  std::string_view cert_serial;       // "0A:1B:..." upper-case hex.
  std::string_view cert_fingerprint;  // SHA-1 of the DER, "aa:bb:..." lower-case hex.
  int64_t cert_not_before = 0;        // Unix seconds.
  int64_t cert_not_after = 0;
  uint32_t cert_count = 0;            // Certificates in the server's chain.
};

// A message (SIP, Kerberos 5, SNMP) or a flow's growing record (SSH) as
// named values; names are Suricata's sticky buffers ("sip.from",
// "ssh.hassh", "snmp.community"), integers are decimal text ("krb5.msg_type").
struct FieldView {
  Direction side = Direction::kToServer;  // The side the value belongs to.
  std::string_view name;
  std::string_view value;
};

struct FieldRecordView {
  AppProto proto = AppProto::kUnknown;
  uint64_t tx_id = 0;
  // Per direction (kToServer, kToClient): 0 nothing yet, 1-2 partly seen, 4 complete.
  uint8_t progress[2] = {0, 0};
  std::span<const FieldView> fields;
};

// A QUIC transaction, as Suricata's QUIC parser makes them: one per
// long-header packet of a direction until that direction's hello.
struct QuicTxView {
  uint64_t tx_id = 0;
  Direction side = Direction::kToServer;  // The direction of its packet.
  uint32_t version = 0;                   // quic.version (0x6b3343cf for QUIC v2).
};

// App-layer data that progressed with the current packet.
struct AppLayerView {
  std::span<const FieldRecordView* const> records;  // SIP, SSH, Kerberos 5, SNMP.
  std::span<const HttpTxView* const> http;   // Transactions that progressed (oldest first).
  std::span<const DnsMessageView* const> dns;
  const TlsView* tls = nullptr;              // Non-null when the TLS state progressed.
  std::span<const QuicTxView* const> quic;   // QUIC transactions made by this packet.
};

// ---------------------------------------------------------------- alerts ---

struct AlertInfo {
  std::string_view action = "allowed";  // "allowed" (IDS) or "blocked".
  uint32_t gid = 1;
  uint32_t signature_id = 0;
  uint32_t rev = 0;
  std::string_view signature;  // The rule's msg.
  std::string_view category;   // Classification text; empty omits it.
  int severity = 3;            // Classification priority.
  // Written as alert.metadata: a JSON object of string arrays, as Suricata
  // prints rule metadata ({"created_at":["2024_01_01"]}); empty omits it.
  std::string_view metadata_json;
  // One more member of the alert object: its key and valid JSON text, for
  // what Suricata's alert has no field for (YARA on payloads writes "yara":
  // {"rule":..., "meta":...}, declared in common/eve/rampart-eve-extension.json).
  // An empty key adds nothing.
  std::string_view extra_key;
  std::string_view extra_json;
  // App-layer context added to the record as Suricata does ("http": {...},
  // "dns": {...}, "tls": {...}) and tx_id; null adds none.
  const HttpTxView* http = nullptr;
  const DnsMessageView* dns = nullptr;
  const TlsView* tls = nullptr;
  std::optional<uint64_t> tx_id;
};

// Writes EVE `alert` records into the sensor's output. The record carries
// the current packet's header (timestamp, flow_id, pcap_cnt, addresses and
// ports in the packet's direction, proto, app_proto, community_id), a
// `flow` object with the counters so far, and the alert object. In
// OnFlowEnd there is no packet: the header uses the flow's orientation and
// last timestamp, without pcap_cnt. Each alert marks the flow as alerted.
class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual void Alert(const AlertInfo& alert) = 0;
};

// ------------------------------------------------------------- inspector ---

struct PacketEvent {
  const PacketView& packet;
  FlowView* flow = nullptr;              // Null when the packet has no flow.
  const StreamView* stream = nullptr;    // TCP with new in-order bytes only.
  const AppLayerView& app;               // Empty spans when nothing progressed.
};

class Inspector {
 public:
  virtual ~Inspector() = default;
  // Called once per decoded packet, on this inspector's worker thread.
  virtual void OnPacket(const PacketEvent& event, AlertSink& alerts) = 0;
  // Called once when a flow ends; `flow.direction` is meaningless here.
  // `app` holds the flow's last app-layer state (TLS, and HTTP transactions
  // not yet complete), so rules may still evaluate on it.
  virtual void OnFlowEnd(FlowView& flow, const AppLayerView& app, AlertSink& alerts) = 0;
};

// What an inspector needs the sensor to keep; each costs memory per flow.
struct InspectorNeeds {
  // Bytes of already-delivered stream data to put before the new bytes in
  // StreamView::data (per flow and direction). 0 keeps none.
  uint32_t stream_context = 0;
  // Decoded HTTP body bytes kept per transaction and direction
  // (HttpTxView::request_body / response_body). 0 keeps none.
  uint32_t http_body_limit = 0;
};

class InspectorFactory {
 public:
  virtual ~InspectorFactory() = default;
  virtual InspectorNeeds Needs() const { return {}; }
  // One inspector for worker `worker` (0-based). A failure stops the
  // pipeline before any packet is read, with this Status.
  virtual Result<std::unique_ptr<Inspector>> Create(int worker) = 0;
};

}  // namespace rampart::sensor
