#include "agent/sensor/stats.h"

#include <map>
#include <string_view>

#include "common/eve/eve.h"

namespace rampart::sensor {
namespace {

// Decoder event counters under stats.decoder.event.<layer>.<name>, for the
// names Suricata's schema knows (others are in anomaly records only).
bool InSchema(std::string_view layer, std::string_view name) {
  if (layer == "udp") return name == "pkt_too_small" || name == "hlen_too_small" || name == "hlen_invalid";
  return true;
}

}  // namespace

void WriteStatsRecord(std::string* out, int64_t ts, int64_t uptime, const WorkerStats& s,
                      const capture::SourceStats* capture) {
  eve::JsonWriter w(out);
  eve::EveHeader h;
  h.timestamp_nanos = ts;
  h.event_type = "stats";
  eve::BeginEveRecord(w, h);
  w.BeginObject("stats");
  w.Int("uptime", uptime);
  if (capture != nullptr) {
    w.BeginObject("capture");
    w.Uint("kernel_packets", capture->kernel_packets);
    w.Uint("kernel_drops", capture->kernel_drops);
    w.Uint("kernel_ifdrops", capture->interface_drops);
    w.EndObject();
  }
  const decode::DecodeCounters& d = s.decode;
  w.BeginObject("decoder");
  w.Uint("pkts", d.pkts);
  w.Uint("bytes", d.bytes);
  w.Uint("invalid", d.invalid);
  w.Uint("ipv4", d.ipv4);
  w.Uint("ipv6", d.ipv6);
  w.Uint("ethernet", d.ethernet);
  w.Uint("sll", d.sll);
  w.Uint("raw", d.raw);
  w.Uint("null", d.null);
  w.Uint("tcp", d.tcp);
  w.Uint("udp", d.udp);
  w.Uint("icmpv4", d.icmpv4);
  w.Uint("icmpv6", d.icmpv6);
  w.Uint("vlan", d.vlan);
  w.Uint("vlan_qinq", d.vlan_qinq);
  w.Uint("pppoe", d.pppoe);
  w.Uint("mpls", d.mpls);
  w.Uint("avg_pkt_size", d.pkts > 0 ? d.bytes / d.pkts : 0);
  w.Uint("max_pkt_size", d.max_pkt_size);
  // Events grouped by layer ("decoder.ipv4.trunc_pkt" -> event.ipv4.trunc_pkt).
  std::map<std::string_view, std::map<std::string_view, uint64_t>> events;
  for (int i = 0; i < decode::kEventCount; ++i) {
    if (d.events[i] == 0) continue;
    std::string_view name = decode::EventName(static_cast<decode::Event>(i));
    name.remove_prefix(name.find('.') + 1);
    const size_t dot = name.find('.');
    const std::string_view layer = name.substr(0, dot), ev = name.substr(dot + 1);
    if (InSchema(layer, ev)) events[layer][ev] += d.events[i];
  }
  w.BeginObject("event");
  for (const auto& [layer, evs] : events) {
    w.BeginObject(layer);
    for (const auto& [ev, n] : evs) w.Uint(ev, n);
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();

  const flow::FlowCounters& f = s.flow;
  w.BeginObject("flow");
  w.Uint("memuse", s.flow_memuse);
  w.Uint("tcp", f.tcp);
  w.Uint("udp", f.udp);
  w.Uint("icmpv4", f.icmpv4);
  w.Uint("icmpv6", f.icmpv6);
  w.Uint("tcp_reuse", f.tcp_reuse);
  w.Uint("get_used", f.evicted);
  w.BeginObject("mgr");
  w.Uint("flows_timeout", f.timeouts);
  w.Uint("flows_evicted", f.evicted);
  w.EndObject();
  w.EndObject();

  const flow::ReassemblyCounters& r = s.reassembly;
  w.BeginObject("tcp");
  w.Uint("sessions", f.tcp);
  w.Uint("syn", f.syn);
  w.Uint("synack", f.synack);
  w.Uint("rst", f.rst);
  w.Uint("invalid_checksum", s.invalid_checksum_skipped);
  w.Uint("midstream_pickups", f.midstream_pickups);
  w.Uint("reassembly_gap", r.gaps);
  w.Uint("overlap", r.overlaps);
  w.Uint("overlap_diff_data", r.overlap_diff_data);
  w.Uint("segment_memcap_drop", r.memcap_drops);
  w.Uint("stream_depth_reached", r.depth_reached);
  w.Uint("reassembly_memuse", s.reassembly_memuse);
  w.EndObject();

  const decode::DefragCounters& g = s.defrag;
  w.BeginObject("defrag");
  w.BeginObject("ipv4");
  w.Uint("fragments", g.ipv4_fragments);
  w.Uint("reassembled", g.ipv4_reassembled);
  w.Uint("timeouts", g.ipv4_timeouts);
  w.EndObject();
  w.BeginObject("ipv6");
  w.Uint("fragments", g.ipv6_fragments);
  w.Uint("reassembled", g.ipv6_reassembled);
  w.Uint("timeouts", g.ipv6_timeouts);
  w.EndObject();
  w.Uint("max_frag_hits", g.max_frag_hits);
  w.EndObject();

  const applayer::AppCounters& a = s.app;
  w.BeginObject("app_layer");
  w.BeginObject("flow");
  w.Uint("http", a.flow_http);
  w.Uint("tls", a.flow_tls);
  w.Uint("dns_udp", a.flow_dns_udp);
  w.Uint("dns_tcp", a.flow_dns_tcp);
  w.Uint("failed_tcp", a.flow_failed_tcp);
  w.Uint("failed_udp", a.flow_failed_udp);
  w.Uint("quic", a.flow_quic);
  w.EndObject();
  w.BeginObject("tx");
  w.Uint("http", a.tx_http);
  w.Uint("tls", a.tx_tls);
  w.Uint("dns_udp", a.tx_dns_udp);
  w.Uint("dns_tcp", a.tx_dns_tcp);
  w.Uint("quic", a.tx_quic);
  w.EndObject();
  w.BeginObject("error");
  auto err = [&](std::string_view name, uint64_t n) {
    w.BeginObject(name);
    w.Uint("parser", n);
    w.EndObject();
  };
  err("http", a.errors_http);
  err("tls", a.errors_tls);
  err("dns_udp", a.errors_dns_udp);
  err("dns_tcp", a.errors_dns_tcp);
  w.EndObject();
  w.EndObject();

  w.BeginObject("detect");
  w.Uint("alert", s.alerts);
  w.EndObject();
  w.EndObject();  // stats
  w.EndObject();
}

}  // namespace rampart::sensor
