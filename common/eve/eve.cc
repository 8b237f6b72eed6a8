#include "common/eve/eve.h"

#include "common/util/clock.h"

namespace rampart::eve {

void BeginEveRecord(JsonWriter& w, const EveHeader& h) {
  w.BeginObject();
  char ts[kEveTimestampMax];
  w.String("timestamp", std::string_view(ts, FormatEveTimestamp(h.timestamp_nanos, ts)));
  if (h.flow_id) w.Uint("flow_id", *h.flow_id);
  if (h.pcap_cnt) w.Uint("pcap_cnt", *h.pcap_cnt);
  if (!h.in_iface.empty()) w.String("in_iface", h.in_iface);
  if (h.vlan) w.BeginArray("vlan").Uint(*h.vlan).EndArray();
  w.String("event_type", h.event_type);
  if (!h.src_ip.empty()) {
    w.String("src_ip", h.src_ip);
    if (h.has_ports) w.Uint("src_port", h.src_port);
    w.String("dest_ip", h.dest_ip);
    if (h.has_ports) w.Uint("dest_port", h.dest_port);
    w.String("proto", h.proto);
  }
  if (h.icmp_type) w.Uint("icmp_type", *h.icmp_type);
  if (h.icmp_code) w.Uint("icmp_code", *h.icmp_code);
  if (!h.app_proto.empty()) w.String("app_proto", h.app_proto);
  if (!h.community_id.empty()) w.String("community_id", h.community_id);
  if (!h.host.empty()) w.String("host", h.host);
}

std::string_view ProtoName(uint8_t ip_proto) {
  switch (ip_proto) {
    case 1: return "ICMP";
    case 2: return "IGMP";
    case 6: return "TCP";
    case 17: return "UDP";
    case 47: return "GRE";
    case 50: return "ESP";
    case 51: return "AH";
    case 58: return "IPv6-ICMP";
    case 132: return "SCTP";
    default: break;
  }
  static const std::string* const kNumbers = [] {
    auto* names = new std::string[256];
    for (int i = 0; i < 256; ++i) names[i] = std::to_string(i);
    return names;
  }();
  return kNumbers[ip_proto];
}

}  // namespace rampart::eve
