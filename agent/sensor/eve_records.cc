#include "agent/sensor/eve_records.h"

#include <utility>

#include "agent/applayer/eve_app.h"
#include "agent/flow/community_id.h"
#include "common/eve/eve.h"
#include "common/util/clock.h"

namespace rampart::sensor {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

const char* FlagsHex(uint8_t f, char* buf) {
  static const char kHex[] = "0123456789abcdef";
  buf[0] = kHex[f >> 4];
  buf[1] = kHex[f & 15];
  buf[2] = 0;
  return buf;
}

std::string_view ProtoText(uint8_t proto) { return eve::ProtoName(proto); }

// The packet's own addresses, ports and protocol (the addresses' text in
// `src` and `dst`, 64 bytes each).
void PacketAddresses(const decode::Packet& p, char* src, char* dst, eve::EveHeader* h) {
  p.src.Format(src);
  p.dst.Format(dst);
  h->src_ip = src;
  h->dest_ip = dst;
  h->has_ports = p.has_ports();
  h->src_port = p.sport;
  h->dest_port = p.dport;
  h->proto = ProtoText(p.proto);
}

}  // namespace

void EveRecords::Begin(eve::JsonWriter& w, std::string_view type, int64_t ts, flow::Flow* f, bool reversed,
                       const decode::Packet* p) {
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
    PacketAddresses(*p, src, dst, &h);
  }
  if (p != nullptr && pcap_cnt_) h.pcap_cnt = p->number;
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

void EveRecords::End() {
  out_.push_back('\n');
  ++records_;
}

void EveRecords::Flow(flow::Flow& f, flow::EndReason reason) {
  eve::JsonWriter w(&out_);
  Begin(w, "flow", f.start_nanos, &f, false, nullptr);
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
  End();
}

void EveRecords::Dns(flow::Flow& f, const decode::Packet& p, int dir, const applayer::DnsMessage& m) {
  if (!m.response) {
    for (const applayer::DnsQuestion& q : m.questions) {
      eve::JsonWriter w(&out_);
      Begin(w, "dns", p.timestamp_nanos, &f, dir == 1, &p);
      applayer::WriteDnsQueryObject(w, m, q);
      w.EndObject();
      End();
    }
    return;
  }
  eve::JsonWriter w(&out_);
  Begin(w, "dns", p.timestamp_nanos, &f, dir == 1, &p);
  applayer::WriteDnsAnswerObject(w, m);
  w.EndObject();
  End();
}

void EveRecords::Http(flow::Flow& f, const applayer::FlowApp& app, applayer::HttpTx& tx, int64_t ts,
                      const decode::Packet* p) {
  eve::JsonWriter w(&out_);
  Begin(w, "http", ts, &f, app.http_reversed, p);
  w.Uint("tx_id", tx.id);
  applayer::WriteHttpObject(w, tx);
  w.EndObject();
  End();
  tx.logged = true;
}

void EveRecords::Tls(flow::Flow& f, const applayer::FlowApp& app, applayer::TlsInfo& tls, int64_t ts,
                     const decode::Packet* p) {
  eve::JsonWriter w(&out_);
  Begin(w, "tls", ts, &f, app.tls_reversed, p);
  applayer::WriteTlsObject(w, tls);
  w.EndObject();
  End();
  tls.logged = true;
}

void EveRecords::Quic(flow::Flow& f, applayer::QuicInfo& q, int64_t ts, const decode::Packet* p) {
  eve::JsonWriter w(&out_);
  Begin(w, "quic", ts, &f, false, p);
  applayer::WriteQuicObject(w, q);
  w.EndObject();
  End();
  q.logged = true;
}

void EveRecords::Anomaly(const decode::Packet& p, flow::Flow* f, int dir, std::string_view type,
                         std::string_view event, std::string_view app_proto) {
  eve::JsonWriter w(&out_);
  Begin(w, "anomaly", p.timestamp_nanos, f, dir == 1, &p);
  w.BeginObject("anomaly");
  w.String("type", type);
  w.String("event", event);
  if (!app_proto.empty()) {
    w.String("app_proto", app_proto);
    w.String("layer", "proto_parser");
  }
  w.EndObject();
  w.EndObject();
  End();
}

void EveRecords::Alert(const AlertInfo& a, const AlertContext& ctx) {
  eve::JsonWriter w(&out_);
  flow::Flow* f = ctx.flow;
  const decode::Packet* p = ctx.packet;
  if (p != nullptr) {
    // The packet's own direction.
    char src[64] = {0}, dst[64] = {0};
    eve::EveHeader h;
    h.timestamp_nanos = p->timestamp_nanos;
    h.event_type = "alert";
    if (pcap_cnt_) h.pcap_cnt = p->number;
    if (p->vlan_count > 0) h.vlan = p->vlan[0];
    if (p->ip_version != 0) {
      PacketAddresses(*p, src, dst, &h);
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
    Begin(w, "alert", f != nullptr ? f->last_nanos : ctx.last_packet_nanos, f, false, nullptr);
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
  if (ctx.http != nullptr) applayer::WriteHttpObject(w, *ctx.http);
  if (ctx.dns != nullptr) applayer::WriteDnsAlertObject(w, *ctx.dns);
  if (ctx.tls != nullptr) applayer::WriteTlsObject(w, *ctx.tls);
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
  End();
}

}  // namespace rampart::sensor
