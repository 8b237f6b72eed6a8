#pragma once
// What the engine inspects: one packet with its flow context, the TCP
// stream data that arrived with it, and the app-layer transactions that
// progressed. Plain views filled by the caller (the sensor's inspector, or
// a test); nothing here owns packet bytes, and every span must stay valid
// for the duration of the Inspect() call.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/detect/address.h"
#include "agent/detect/buffers.h"
#include "agent/detect/types.h"

namespace rampart::detect {

class FlowDetectState;

// App-layer transaction fields. Implementations expose what their parser
// produced; the engine asks for a buffer when a rule needs it.
class TxView {
 public:
  virtual ~TxView() = default;
  virtual uint64_t id() const = 0;
  virtual AppProto proto() const = 0;
  // How far the transaction got in a direction (types.h); protocols
  // without the HTTP-style stages report kNone or kComplete.
  virtual TxProgress progress(Dir d) const = 0;
  // Instance `index` of `buffer` (0 for single buffers) on side `side`
  // (buffers such as http.header exist on both sides). `scratch` may be
  // used to build the bytes; the span must stay valid until the next call
  // with the same scratch. False when the instance does not exist.
  virtual bool GetBuffer(BufferId buffer, Dir side, uint32_t index, std::string* scratch,
                         std::span<const uint8_t>* out) const = 0;
  // Whether the transaction raised an app-layer event ("http.request_header_invalid").
  virtual bool HasEvent(std::string_view name) const {
    (void)name;
    return false;
  }
  // How many app-layer events the transaction raised so far. A count that
  // grew makes rules with app-layer-event look at a side already inspected
  // (a response event seen by a to_server rule, as in Suricata).
  virtual uint32_t EventCount() const { return 0; }
  // The size of the file (message body, decoded) carried on side `side`:
  // false when there is none; *complete once its message ended.
  virtual bool FileSize(Dir side, uint64_t* size, bool* complete) const {
    (void)side;
    (void)size;
    (void)complete;
    return false;
  }
  // TLS version of the handshake (0x0303...), 0 when unknown.
  virtual uint16_t TlsVersion() const { return 0; }
  // The server certificate's validity (Unix seconds); false when no certificate was seen.
  virtual bool TlsCertValidity(int64_t* not_before, int64_t* not_after) const {
    (void)not_before;
    (void)not_after;
    return false;
  }
};

// One packet and its context.
struct PacketInput {
  int64_t timestamp_nanos = 0;
  uint64_t pcap_cnt = 0;

  // Network layer; ip_version 0 for packets without IP (ARP, decoder errors).
  uint8_t ip_version = 0;
  bool is_arp = false;
  IpAddr src;
  IpAddr dst;
  uint8_t proto = 0;
  uint16_t sport = 0;
  uint16_t dport = 0;
  bool has_ports = false;
  std::span<const uint8_t> l3_header;  // IPv4 header with options / IPv6 header with extension headers.
  std::span<const uint8_t> l4_header;
  std::span<const uint8_t> payload;
  uint8_t ttl = 0;
  uint8_t tos = 0;
  uint32_t ip_id = 0;
  uint16_t ip_options = 0;  // Bit per option: eol nop rr ts sec esec lsrr ssrr satid (bit 0 up).
  bool ip_rf = false, ip_df = false, ip_mf = false;
  uint16_t frag_offset = 0;  // In 8-byte units, as the header carries it.
  bool fragment = false;

  uint8_t tcp_flags = 0;
  uint32_t tcp_seq = 0;
  uint32_t tcp_ack = 0;
  uint16_t tcp_window = 0;
  bool has_tcp_mss = false;
  uint16_t tcp_mss = 0;

  bool has_icmp = false;
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  bool has_icmp_id = false;  // Echo and similar: id and seq are meaningful.
  uint16_t icmp_id = 0;
  uint16_t icmp_seq = 0;
  bool has_icmpv6_mtu = false;
  uint32_t icmpv6_mtu = 0;

  // Decoder and stream anomalies of this packet, by Suricata's names
  // without the "decoder." prefix ("ipv4.trunc_pkt", "stream.pkt_invalid_ack").
  std::span<const std::string_view> events;

  // Flow context. `flow` is null for packets without a flow.
  FlowDetectState* flow = nullptr;
  uint64_t flow_id = 0;
  Dir dir = Dir::kToServer;
  bool established = false;      // TCP: after the handshake; UDP: both sides seen.
  AppProto app_proto = AppProto::kUnknown;
  AppProto app_proto_orig = AppProto::kUnknown;  // Before a protocol change (doh2 -> dns is "dns").
  // What each direction's data was detected as (index: 0 to server, 1 to
  // client), and the directions whose detection completed with this packet
  // (bit 0 to server, bit 1 to client).
  AppProto app_proto_dir[2] = {AppProto::kUnknown, AppProto::kUnknown};
  uint8_t proto_detected = 0;
  uint64_t flow_pkts[2] = {0, 0};   // Per direction, this packet included.
  uint64_t flow_bytes[2] = {0, 0};
  int64_t flow_start_nanos = 0;
  // TCP stream sizes per direction (bytes of sequence space seen), for stream_size.
  uint64_t stream_size[2] = {0, 0};
  IpAddr client;
  IpAddr server;
  uint16_t client_port = 0;
  uint16_t server_port = 0;

  // TCP stream context.
  bool stream_added = false;   // The payload went into reassembly; stream rules see it there.
  bool tcp_closing = false;    // Session past TIME_WAIT (both sides closing): inspect all stream data.
  // In-order stream bytes that became available with this packet, per
  // direction (0 client->server, 1 server->client), with their offsets.
  struct Chunk {
    Dir dir;
    std::span<const uint8_t> data;
    uint64_t offset;
    bool gap_before;
  };
  std::span<const Chunk> chunks;
  // Stream offset acknowledged by the peer, per direction; UINT64_MAX when
  // unknown (then data is inspected as soon as it is in order).
  uint64_t acked[2] = {UINT64_MAX, UINT64_MAX};
  // The app layer finished a unit of data in a direction (a request, a
  // record): inspect that direction's stream now, as Suricata does.
  bool raw_trigger[2] = {false, false};
  // A flow-end pseudo packet: no packet keywords, flush stream and transactions.
  bool pseudo = false;
};

}  // namespace rampart::detect
