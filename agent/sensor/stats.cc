#include "agent/sensor/stats.h"

#include <map>
#include <string>
#include <string_view>

#include "common/eve/eve.h"
#include "common/metrics/counters.h"

namespace rampart::sensor {
namespace {

// The stats object as a tree of dotted paths, so each module's counter
// table places its rows where Suricata's record has them.
struct StatsNode {
  std::map<std::string, StatsNode, std::less<>> children;
  bool is_value = false;
  uint64_t value = 0;

  StatsNode& At(std::string_view path) {
    StatsNode* node = this;
    while (true) {
      const size_t dot = path.find('.');
      const std::string_view part = path.substr(0, dot);
      auto it = node->children.find(part);
      if (it == node->children.end()) it = node->children.emplace(std::string(part), StatsNode{}).first;
      node = &it->second;
      if (dot == std::string_view::npos) return *node;
      path.remove_prefix(dot + 1);
    }
  }
  void Set(std::string_view path, uint64_t v) {
    StatsNode& n = At(path);
    n.is_value = true;
    n.value = v;
  }
  void Write(eve::JsonWriter& w) const {
    for (const auto& [name, child] : children) {
      if (child.is_value) {
        w.Uint(name, child.value);
      } else {
        w.BeginObject(name);
        child.Write(w);
        w.EndObject();
      }
    }
  }
};

// Every row of a counter table that Suricata's record has, at its path(s).
template <class Counters>
void AddRows(const Counters& c, StatsNode* tree) {
  metrics::ForEachCounter(c, [&](const metrics::CounterInfo& info, uint64_t value) {
    metrics::ForEachEvePath(info.eve, [&](std::string_view path) { tree->Set(path, value); });
  });
}

// Decoder event counters under stats.decoder.event.<layer>.<name>, for the
// names Suricata's schema knows (others are in anomaly records only).
bool InSchema(std::string_view layer, std::string_view name) {
  if (layer == "udp") return name == "pkt_too_small" || name == "hlen_too_small" || name == "hlen_invalid";
  return true;
}

void AddDecoderEvents(const decode::DecodeCounters& d, StatsNode* tree) {
  StatsNode& events = tree->At("decoder.event");  // Present even when empty, as Suricata writes it.
  for (int i = 0; i < decode::kEventCount; ++i) {
    if (d.events[i] == 0) continue;
    // "decoder.ipv4.trunc_pkt" -> event.ipv4.trunc_pkt
    std::string_view name = decode::EventName(static_cast<decode::Event>(i));
    name.remove_prefix(name.find('.') + 1);
    const size_t dot = name.find('.');
    const std::string_view layer = name.substr(0, dot), ev = name.substr(dot + 1);
    if (!InSchema(layer, ev)) continue;
    StatsNode& n = events.At(layer).At(ev);
    n.is_value = true;
    n.value += d.events[i];
  }
}

}  // namespace

void WriteStatsRecord(std::string* out, int64_t ts, int64_t uptime, const WorkerStats& s,
                      const capture::SourceStats* capture) {
  StatsNode tree;
  if (capture != nullptr) AddRows(*capture, &tree);
  AddRows(s.decode, &tree);
  tree.Set("decoder.avg_pkt_size", s.decode.pkts > 0 ? s.decode.bytes / s.decode.pkts : 0);
  AddDecoderEvents(s.decode, &tree);
  AddRows(s.flow, &tree);
  AddRows(s.reassembly, &tree);
  AddRows(s.defrag, &tree);
  AddRows(s.app, &tree);
  AddRows(s, &tree);

  eve::JsonWriter w(out);
  eve::EveHeader h;
  h.timestamp_nanos = ts;
  h.event_type = "stats";
  eve::BeginEveRecord(w, h);
  w.BeginObject("stats");
  w.Int("uptime", uptime);
  tree.Write(w);
  w.EndObject();  // stats
  w.EndObject();
}

}  // namespace rampart::sensor
