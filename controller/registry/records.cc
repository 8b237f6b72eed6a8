// controller/registry: the JSON records of agents, sites and tokens (the
// same fields and names as the stores written before the registry was its
// own module).

#include <nlohmann/json.hpp>

#include "controller/registry/registry_impl.h"

namespace rampart::registry::detail {
namespace {

using nlohmann::json;

json LinkMetricsJson(const LinkMetrics& m) {
  return {{"rtt_ms", m.rtt_ms}, {"jitter_ms", m.jitter_ms}, {"loss_ratio", m.loss_ratio},
          {"window_end", m.window_end_unix_nanos}};
}

LinkMetrics LinkMetricsFrom(const json& j) {
  LinkMetrics m;
  m.rtt_ms = j.value("rtt_ms", 0.0);
  m.jitter_ms = j.value("jitter_ms", 0.0);
  m.loss_ratio = j.value("loss_ratio", 0.0);
  m.window_end_unix_nanos = j.value("window_end", int64_t{0});
  return m;
}

json HealthJson(const AgentHealth& h) {
  return {{"reported", h.reported_unix_nanos},
          {"cpu", h.cpu_percent},
          {"rss", h.rss_bytes},
          {"host_cpu", h.host_cpu_percent},
          {"mem_used", h.host_memory_used_bytes},
          {"mem_total", h.host_memory_total_bytes},
          {"load1", h.load_average_1m},
          {"disk_free", h.disk_free_bytes},
          {"queue_depth", h.queue_depth},
          {"queue_bytes", h.queue_bytes},
          {"dropped", h.dropped_events},
          {"capture_drops", h.capture_drops},
          {"last_sequence", h.last_sequence},
          {"link", LinkMetricsJson(h.link)},
          {"policy", h.policy_version},
          {"rules", h.rules_version}};
}

AgentHealth HealthFrom(const json& h) {
  AgentHealth o;
  o.reported_unix_nanos = h.value("reported", int64_t{0});
  o.cpu_percent = h.value("cpu", 0.0);
  o.rss_bytes = h.value("rss", uint64_t{0});
  o.host_cpu_percent = h.value("host_cpu", 0.0);
  o.host_memory_used_bytes = h.value("mem_used", uint64_t{0});
  o.host_memory_total_bytes = h.value("mem_total", uint64_t{0});
  o.load_average_1m = h.value("load1", 0.0);
  o.disk_free_bytes = h.value("disk_free", uint64_t{0});
  o.queue_depth = h.value("queue_depth", uint64_t{0});
  o.queue_bytes = h.value("queue_bytes", uint64_t{0});
  o.dropped_events = h.value("dropped", uint64_t{0});
  o.capture_drops = h.value("capture_drops", uint64_t{0});
  o.last_sequence = h.value("last_sequence", uint64_t{0});
  if (h.contains("link")) o.link = LinkMetricsFrom(h["link"]);
  o.policy_version = h.value("policy", "");
  o.rules_version = h.value("rules", "");
  return o;
}

}  // namespace

std::string AgentRecord(const Agent& a) {
  return json{{"id", a.id},
              {"name", a.name},
              {"site", a.site},
              {"version", a.version},
              {"enrolled", a.enrolled_unix_nanos},
              {"last_seen", a.last_seen_unix_nanos},
              {"address", a.address},
              {"state", static_cast<int>(a.state)},
              {"state_since", a.state_since_unix_nanos},
              {"revoked", a.revoked},
              {"revoked_at", a.revoked_unix_nanos},
              {"serial", a.certificate_serial},
              {"not_after", a.certificate_not_after_unix_seconds},
              {"health", HealthJson(a.health)}}
      .dump();
}

std::optional<Agent> AgentFromRecord(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  Agent a;
  a.id = j.value("id", "");
  a.name = j.value("name", "");
  a.site = j.value("site", "");
  a.version = j.value("version", "");
  a.enrolled_unix_nanos = j.value("enrolled", int64_t{0});
  a.last_seen_unix_nanos = j.value("last_seen", int64_t{0});
  a.address = j.value("address", "");
  a.state = static_cast<AgentState>(j.value("state", 0));
  a.state_since_unix_nanos = j.value("state_since", int64_t{0});
  a.revoked = j.value("revoked", false);
  a.revoked_unix_nanos = j.value("revoked_at", int64_t{0});
  a.certificate_serial = j.value("serial", "");
  a.certificate_not_after_unix_seconds = j.value("not_after", int64_t{0});
  if (j.contains("health")) a.health = HealthFrom(j["health"]);
  return a;
}

std::string SiteRecord(const Site& s) {
  return json{{"id", s.id},
              {"description", s.description},
              {"created", s.created_unix_nanos},
              {"link",
               {{"state", static_cast<int>(s.link.state)},
                {"since", s.link.since_unix_nanos},
                {"reason", s.link.reason},
                {"metrics", LinkMetricsJson(s.link.metrics)},
                {"availability_24h", s.link.availability_24h}}}}
      .dump();
}

std::optional<Site> SiteFromRecord(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  Site s;
  s.id = j.value("id", "");
  s.description = j.value("description", "");
  s.created_unix_nanos = j.value("created", int64_t{0});
  if (j.contains("link")) {
    const json& l = j["link"];
    s.link.state = static_cast<LinkState>(l.value("state", 0));
    s.link.since_unix_nanos = l.value("since", int64_t{0});
    s.link.reason = l.value("reason", "");
    if (l.contains("metrics")) s.link.metrics = LinkMetricsFrom(l["metrics"]);
    s.link.availability_24h = l.value("availability_24h", 0.0);
  }
  return s;
}

std::string TokenRecord(const Token& t) {
  return json{{"sha256", t.sha256},  {"site", t.site},           {"created", t.created_unix_nanos},
              {"expires", t.expires_unix_nanos}, {"used", t.used}, {"used_at", t.used_unix_nanos},
              {"used_by", t.used_by_agent},      {"created_by", t.created_by}}
      .dump();
}

std::optional<Token> TokenFromRecord(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  Token t;
  t.sha256 = j.value("sha256", "");
  t.site = j.value("site", "");
  t.created_unix_nanos = j.value("created", int64_t{0});
  t.expires_unix_nanos = j.value("expires", int64_t{0});
  t.used = j.value("used", false);
  t.used_unix_nanos = j.value("used_at", int64_t{0});
  t.used_by_agent = j.value("used_by", "");
  t.created_by = j.value("created_by", "");
  return t;
}

}  // namespace rampart::registry::detail
