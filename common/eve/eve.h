#pragma once
// EVE records: the envelope Suricata writes at the start of every record
// (timestamp, flow_id, in_iface, event_type, addresses, ports, proto), with
// Suricata's field names and types, so records validate against Suricata's
// own EVE schema and feed the tools analysts already use.
//
//   std::string line;
//   JsonWriter w(&line);
//   EveHeader h{.timestamp_nanos = ts, .event_type = "flow", .src_ip = "10.0.0.1", ...};
//   BeginEveRecord(w, h);
//   w.BeginObject("flow"); ...; w.EndObject();
//   w.EndObject();   // line is one EVE record, without the newline

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/eve/json_writer.h"

namespace rampart::eve {

struct EveHeader {
  int64_t timestamp_nanos = 0;       // Unix epoch; printed as 2026-11-21T23:49:44.123456+0000.
  std::string_view event_type;       // "alert", "flow", "dns", "http", "tls", "anomaly", "stats", ...
  std::optional<uint64_t> flow_id;   // Absent for records not tied to a flow.
  std::optional<uint64_t> pcap_cnt;  // Packet number in a capture file (replay only).
  std::string_view in_iface;         // Capture interface; empty omits it.
  std::optional<uint16_t> vlan;      // Outer VLAN id, when tagged.
  std::string_view src_ip;           // Empty omits addresses, ports and proto.
  uint16_t src_port = 0;
  std::string_view dest_ip;
  uint16_t dest_port = 0;
  bool has_ports = false;            // TCP/UDP/SCTP: ports are written.
  std::string_view proto;            // "TCP", "UDP", "ICMP", "IPv6-ICMP", or a number.
  std::optional<uint8_t> icmp_type;
  std::optional<uint8_t> icmp_code;
  std::string_view app_proto;        // "http", "dns", "tls", "failed"; empty omits.
  std::string_view community_id;     // "1:..." (Community ID v1); empty omits.
  std::string_view host;             // Rampart: the agent's name; written as "host" only in
                                     // records for the controller, never in replay output.
};

// Opens the record object and writes the envelope. The caller writes the
// type's own object and closes the record with EndObject().
void BeginEveRecord(JsonWriter& w, const EveHeader& header);

// The protocol name as Suricata prints it for an IP protocol number.
std::string_view ProtoName(uint8_t ip_proto);

}  // namespace rampart::eve
