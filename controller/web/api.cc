#include "controller/web/api.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "common/log/log.h"
#include "common/tls/files.h"
#include "common/util/mutex.h"
#include "controller/auth/access.h"
#include "controller/notify/notify.h"
#include "controller/store/store.h"
#include "controller/web/triage.h"

// In handlers: the value of a Result, or the HTTP error for its Status.
#define RAMPART_ASSIGN_OR_RETURN_RESPONSE(lhs, expr) \
  RAMPART_AORR_IMPL(RAMPART_STATUS_CONCAT(api_result_, __LINE__), lhs, expr)
#define RAMPART_AORR_IMPL(tmp, lhs, expr)             \
  auto tmp = (expr);                                  \
  if (!tmp.has_value()) return FromStatus(tmp.error()); \
  lhs = std::move(tmp).value()
#define RAMPART_RETURN_RESPONSE_IF_ERROR(expr)  \
  do {                                          \
    auto api_status_ = (expr);                  \
    if (!api_status_.ok()) return FromStatus(api_status_); \
  } while (0)

namespace rampart::web {
namespace {

using nlohmann::json;
namespace cs = controller_store;
namespace reg = registry;

constexpr std::string_view kSessionCookie = "__Host-rampart_session";

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

HttpResponse Ok(const json& j) { return HttpResponse::Json(200, Dump(j)); }

HttpResponse FromStatus(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return HttpResponse::Error(400, s.message());
    case StatusCode::kUnauthenticated:
      return HttpResponse::Error(401, s.message());
    case StatusCode::kPermissionDenied:
      return HttpResponse::Error(403, s.message());
    case StatusCode::kNotFound:
      return HttpResponse::Error(404, s.message());
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return HttpResponse::Error(409, s.message());
    case StatusCode::kResourceExhausted:
      return HttpResponse::Error(429, s.message());
    case StatusCode::kUnavailable:
      return HttpResponse::Error(503, s.message());
    default:
      log::Error("web", "request failed", {{"error", s}});
      return HttpResponse::Error(500, "internal error");
  }
}

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Unix milliseconds as nanoseconds; nullopt unless a number in 0..year 2262.
std::optional<int64_t> MillisToNanos(std::string_view s) {
  auto v = ParseInt(s);
  if (!v || *v < 0 || *v > INT64_MAX / 1'000'000) return std::nullopt;
  return *v * 1'000'000;
}

json SummaryJson(const cs::EventSummary& s) {
  return {{"id", s.id.ToString()},
          {"time", FormatRfc3339(s.observed_unix_nanos)},
          {"time_ms", s.observed_unix_nanos / 1'000'000},
          {"kind", cs::EventKindName(s.kind)},
          {"severity", static_cast<int>(s.severity)},
          {"site", s.site},
          {"agent", s.id.agent_id},
          {"agent_name", s.agent_name},
          {"src_ip", s.src_ip},
          {"src_port", s.src_port},
          {"dest_ip", s.dest_ip},
          {"dest_port", s.dest_port},
          {"proto", s.proto},
          {"gid", s.gid},
          {"sid", s.signature_id},
          {"rev", s.rev},
          {"signature", s.signature},
          {"category", s.category}};
}

json TriageJson(const Triage& t) {
  json comments = json::array();
  for (const auto& c : t.comments) {
    comments.push_back({{"user", c.user}, {"time", FormatRfc3339(c.time_nanos)}, {"text", c.text}});
  }
  return {{"status", t.status}, {"assignee", t.assignee}, {"reason", t.close_reason}, {"comments", comments},
          {"updated_by", t.updated_by}, {"updated", t.updated_nanos ? FormatRfc3339(t.updated_nanos) : ""}};
}

std::string ContentType(std::string_view path) {
  if (path.ends_with(".html")) return "text/html; charset=utf-8";
  if (path.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (path.ends_with(".css")) return "text/css; charset=utf-8";
  if (path.ends_with(".svg")) return "image/svg+xml";
  if (path.ends_with(".png")) return "image/png";
  if (path.ends_with(".json")) return "application/json";
  return "application/octet-stream";
}

bool SafeAssetName(std::string_view name) {
  if (name.empty() || name.size() > 100 || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

}  // namespace

struct Api::Impl {
  ApiOptions options;
  ApiDeps deps;
  Mutex cache_mu;
  struct Cached {
    int64_t at = 0;
    std::string body;
  };
  std::map<std::string, Cached> dashboard_cache GUARDED_BY(cache_mu);
  Mutex static_mu;
  std::map<std::string, std::string> static_cache GUARDED_BY(static_mu);

  // --- helpers ---

  // The fleet registry, in the store's database.
  reg::Registry& Registry() { return deps.store->registry(); }

  Result<auth::Principal> Authenticate(const HttpRequest& r) {
    const std::string id = r.Cookie(kSessionCookie);
    if (id.empty()) return UnauthenticatedError("log in first");
    return deps.access->Authenticate(id);
  }

  // Origin, when sent, must be this server (defence in depth beside CSRF tokens).
  static bool SameOrigin(const HttpRequest& r) {
    std::string_view origin = r.Header("origin");
    if (origin.empty()) return true;
    return origin == "https://" + std::string(r.Header("host"));
  }

  Status CheckChange(const HttpRequest& r, const auth::Principal& p) {
    if (!SameOrigin(r)) return PermissionDeniedError("cross-origin request refused");
    if (!auth::AccessControl::CheckCsrf(p, r.Header("x-csrf-token"))) {
      return PermissionDeniedError("missing or wrong CSRF token (X-CSRF-Token)");
    }
    return Status::Ok();
  }

  void Audit(const auth::Principal& p, const HttpRequest& r, std::string action, std::string target,
             std::string detail) {
    auto s = deps.access->Audit({.actor = p.user, .action = std::move(action), .target = std::move(target),
                                 .detail = std::move(detail), .remote = r.remote});
    if (!s.ok()) log::Error("web", "audit write failed", {{"error", s}});
  }

  // Restricts a query's sites to the principal's; false when nothing is left.
  static bool Scope(const auth::Principal& p, std::vector<std::string>* sites) {
    if (p.sites.empty()) return true;
    if (sites->empty()) {
      *sites = p.sites;
      return true;
    }
    std::erase_if(*sites, [&](const std::string& s) { return !p.SeesSite(s); });
    return !sites->empty();
  }

  Result<json> ReadBody(const HttpRequest& r) {
    json j = json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return InvalidArgumentError("the body must be a JSON object");
    return j;
  }

  // --- static ---

  HttpResponse Static(const std::string& file, const std::string& type) EXCLUDES(static_mu) {
    {
      MutexLock lock(&static_mu);
      auto it = static_cache.find(file);
      if (it != static_cache.end()) {
        HttpResponse r{200, type, it->second, {{"Cache-Control", "no-cache"}}};
        return r;
      }
    }
    auto content = tls::ReadFile(file);
    if (!content) return HttpResponse::Error(404, "not found");
    MutexLock lock(&static_mu);
    static_cache[file] = *content;
    return HttpResponse{200, type, *content, {{"Cache-Control", "no-cache"}}};
  }

  // --- session ---

  HttpResponse Login(const HttpRequest& r) {
    if (!SameOrigin(r)) return HttpResponse::Error(403, "cross-origin request refused");
    RAMPART_ASSIGN_OR_RETURN_RESPONSE(json body, ReadBody(r));
    const std::string user = body.value("user", "");
    const std::string password = body.value("password", "");
    auto session = deps.access->Login(user, password, r.remote);
    if (!session) {
      (void)deps.access->Audit({.actor = user.substr(0, 64), .action = "login.fail", .target = user.substr(0, 64),
                                .detail = session.error().message(), .remote = r.remote});
      return FromStatus(session.error());
    }
    Audit(session->principal, r, "login", user, "");
    HttpResponse resp = Ok(PrincipalJson(session->principal));
    resp.headers.emplace_back("Set-Cookie", std::string(kSessionCookie) + "=" + session->id +
                                                "; Path=/; Secure; HttpOnly; SameSite=Strict");
    return resp;
  }

  static json PrincipalJson(const auth::Principal& p) {
    return {{"authenticated", true}, {"user", p.user}, {"role", auth::RoleName(p.role)}, {"sites", p.sites},
            {"csrf_token", p.csrf_token}};
  }

  HttpResponse Logout(const HttpRequest& r, const auth::Principal& p) {
    (void)deps.access->Logout(r.Cookie(kSessionCookie));
    Audit(p, r, "logout", p.user, "");
    HttpResponse resp = Ok({{"ok", true}});
    resp.headers.emplace_back("Set-Cookie",
                              std::string(kSessionCookie) + "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
    return resp;
  }

  // --- alerts ---

  Result<cs::Query> AlertQuery(const HttpRequest& r, const auth::Principal& p, bool* empty) {
    cs::Query q;
    *empty = false;
    if (r.HasQuery("from")) {
      auto v = MillisToNanos(r.Query("from"));
      if (!v) return InvalidArgumentError("from: unix milliseconds expected");
      q.from_unix_nanos = *v;
    }
    if (r.HasQuery("to")) {
      auto v = MillisToNanos(r.Query("to"));
      if (!v) return InvalidArgumentError("to: unix milliseconds expected");
      q.to_unix_nanos = *v;
    }
    for (auto s : r.QueryAll("severity")) {
      auto v = ParseInt(s);
      if (v && *v >= 1 && *v <= 5) {
        q.severities.push_back(static_cast<cs::Severity>(*v));
      } else {
        RAMPART_ASSIGN_OR_RETURN(auto sev, cs::ParseSeverity(s));
        q.severities.push_back(sev);
      }
    }
    for (auto s : r.QueryAll("site")) {
      if (!s.empty()) q.sites.emplace_back(s);
    }
    for (auto s : r.QueryAll("agent")) {
      if (!s.empty()) q.agents.emplace_back(s);
    }
    if (r.HasQuery("sid") && !r.Query("sid").empty()) {
      auto v = ParseInt(r.Query("sid"));
      if (!v || *v < 0) return InvalidArgumentError("sid: a number expected");
      q.signature_id = static_cast<uint64_t>(*v);
    }
    q.signature_text = std::string(r.Query("q"));
    q.address = std::string(r.Query("address"));
    if (r.HasQuery("limit")) {
      auto v = ParseInt(r.Query("limit"));
      if (!v || *v < 1 || *v > 1000) return InvalidArgumentError("limit: 1..1000");
      q.limit = static_cast<size_t>(*v);
    }
    q.cursor = std::string(r.Query("cursor"));
    q.oldest_first = r.Query("order") == "oldest";
    if (!Scope(p, &q.sites)) *empty = true;
    return q;
  }

  HttpResponse Alerts(const HttpRequest& r, const auth::Principal& p) {
    bool empty = false;
    RAMPART_ASSIGN_OR_RETURN_RESPONSE(cs::Query q, AlertQuery(r, p, &empty));
    json rows = json::array();
    if (empty) return Ok({{"rows", rows}, {"next_cursor", ""}});
    RAMPART_ASSIGN_OR_RETURN_RESPONSE(cs::Page page, deps.store->QueryAlerts(q));
    std::vector<std::string> ids;
    for (const auto& s : page.rows) ids.push_back(s.id.ToString());
    RAMPART_ASSIGN_OR_RETURN_RESPONSE(auto triage, deps.triage->GetMany(ids));
    const std::string status = std::string(r.Query("status"));
    for (size_t i = 0; i < page.rows.size(); ++i) {
      if (!status.empty() && triage[i].status != status) continue;
      json row = SummaryJson(page.rows[i]);
      row["status"] = triage[i].status;
      row["assignee"] = triage[i].assignee;
      rows.push_back(std::move(row));
    }
    return Ok({{"rows", rows}, {"next_cursor", page.next_cursor}, {"examined", page.examined}});
  }

  HttpResponse AlertDetail(const std::string& id_text, const auth::Principal& p) {
    RAMPART_ASSIGN_OR_RETURN_RESPONSE(cs::EventId id, cs::EventId::Parse(id_text));
    auto record = deps.store->GetEvent(id);
    if (!record || !p.SeesSite(record->summary.site)) return HttpResponse::Error(404, "no such alert");
    RAMPART_ASSIGN_OR_RETURN_RESPONSE(Triage t, deps.triage->Get(id.ToString()));
    json eve = json::parse(record->eve_json, nullptr, false);
    json out{{"alert", SummaryJson(record->summary)},
             {"eve", eve.is_discarded() ? json(record->eve_json) : eve},
             {"triage", TriageJson(t)},
             {"context", Context(record->summary, eve)}};
    return Ok(out);
  }

  // The flow, DNS, HTTP and TLS records of the alert's flow (same agent,
  // same flow_id, within ten minutes), found through the address index.
  json Context(const cs::EventSummary& s, const json& eve) {
    json ctx{{"flow", json::array()}, {"dns", json::array()}, {"http", json::array()}, {"tls", json::array()}};
    if (eve.is_discarded() || !eve.contains("flow_id") || s.src_ip.empty()) return ctx;
    const auto flow_id = eve["flow_id"];
    cs::Query q;
    q.agents = {s.id.agent_id};
    q.address = s.src_ip;
    q.kinds = {cs::EventKind::kFlow, cs::EventKind::kDns, cs::EventKind::kHttp, cs::EventKind::kTls};
    // Saturating: the observed time comes from an agent and may be anything.
    constexpr int64_t kWindow = 600'000'000'000LL;
    const int64_t t = s.observed_unix_nanos;
    q.from_unix_nanos = t > kWindow ? t - kWindow : 0;
    q.to_unix_nanos = t < INT64_MAX - kWindow ? t + kWindow : INT64_MAX;
    q.limit = 100;
    auto page = deps.store->QueryEvents(q);
    if (!page) return ctx;
    for (const auto& row : page->rows) {
      auto rec = deps.store->GetEvent(row.id);
      if (!rec) continue;
      json e = json::parse(rec->eve_json, nullptr, false);
      if (e.is_discarded() || !e.contains("flow_id") || e["flow_id"] != flow_id) continue;
      const std::string kind(cs::EventKindName(row.kind));
      if (ctx.contains(kind)) ctx[kind].push_back(std::move(e));
    }
    return ctx;
  }

  HttpResponse TriageChangeReq(const HttpRequest& r, const auth::Principal& p) {
    if (!p.CanTriage()) return HttpResponse::Error(403, "your role (viewer) cannot change alerts");
    RAMPART_ASSIGN_OR_RETURN_RESPONSE(json body, ReadBody(r));
    if (!body.contains("ids") || !body["ids"].is_array()) return HttpResponse::Error(400, "ids: a list of alert ids");
    std::vector<std::string> ids;
    for (const auto& v : body["ids"]) {
      if (!v.is_string()) return HttpResponse::Error(400, "ids: strings expected");
      RAMPART_ASSIGN_OR_RETURN_RESPONSE(cs::EventId id, cs::EventId::Parse(v.get<std::string>()));
      // A scoped analyst may only touch alerts of their sites.
      auto rec = deps.store->GetEvent(id);
      if (!rec || rec->summary.kind != cs::EventKind::kAlert || !p.SeesSite(rec->summary.site)) {
        return HttpResponse::Error(404, "no such alert: " + id.ToString());
      }
      ids.push_back(id.ToString());
    }
    TriageChange c{body.value("action", ""), body.value("assignee", ""), body.value("reason", ""),
                   body.value("comment", "")};
    RAMPART_RETURN_RESPONSE_IF_ERROR(deps.triage->Apply(ids, c, p.user, deps.clock->NowNanos()));
    std::string target;
    for (size_t i = 0; i < ids.size() && i < 20; ++i) target += (i ? "," : "") + ids[i];
    if (ids.size() > 20) target += ",... (" + std::to_string(ids.size()) + " alerts)";
    Audit(p, r, "alert." + c.action, target,
          Dump({{"assignee", c.assignee}, {"reason", c.reason}, {"comment", c.comment}}));
    return Ok({{"updated", ids.size()}});
  }

  // --- dashboard, fleet, links ---

  HttpResponse Dashboard(const auth::Principal& p) EXCLUDES(cache_mu) {
    std::string scope_key;
    for (const auto& s : p.sites) scope_key += s + ",";
    const int64_t now = deps.clock->NowNanos();
    {
      MutexLock lock(&cache_mu);
      auto it = dashboard_cache.find(scope_key);
      if (it != dashboard_cache.end() && now - it->second.at < 5'000'000'000LL) {
        return HttpResponse::Json(200, it->second.body);
      }
    }
    constexpr int kHours = 24;
    const int64_t hour = 3600LL * 1'000'000'000;
    const int64_t start = (now / hour - (kHours - 1)) * hour;
    cs::Query q;
    q.from_unix_nanos = start;
    q.limit = 1000;
    q.sites = p.sites;
    std::vector<std::array<uint64_t, 5>> buckets(kHours, std::array<uint64_t, 5>{});
    std::unordered_map<std::string, uint64_t> sigs, sources;
    uint64_t total = 0;
    bool truncated = false;
    for (;;) {
      auto page = deps.store->QueryAlerts(q);
      if (!page) return FromStatus(page.error());
      for (const auto& s : page->rows) {
        const int64_t b = (s.observed_unix_nanos - start) / hour;
        const int sev = std::clamp(static_cast<int>(s.severity), 1, 5) - 1;
        if (b >= 0 && b < kHours) buckets[static_cast<size_t>(b)][static_cast<size_t>(sev)]++;
        sigs[s.signature]++;
        if (!s.src_ip.empty()) sources[s.src_ip]++;
        ++total;
      }
      if (page->next_cursor.empty()) break;
      if (total >= options.dashboard_max_alerts) {
        truncated = true;
        break;
      }
      q.cursor = page->next_cursor;
    }
    auto top = [](const std::unordered_map<std::string, uint64_t>& m, const char* key) {
      std::vector<std::pair<std::string, uint64_t>> v(m.begin(), m.end());
      std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); });
      if (v.size() > 10) v.resize(10);
      json out = json::array();
      for (const auto& [k, n] : v) out.push_back({{key, k}, {"count", n}});
      return out;
    };
    json hours = json::array();
    for (int i = 0; i < kHours; ++i) {
      const auto& b = buckets[static_cast<size_t>(i)];
      hours.push_back({{"start_ms", (start + i * hour) / 1'000'000}, {"by_severity", {b[0], b[1], b[2], b[3], b[4]}}});
    }
    json agents{{"up", 0}, {"down", 0}, {"total", 0}};
    if (auto list = Registry().ListAgents()) {
      for (const auto& a : *list) {
        if (!p.SeesSite(a.site) || a.revoked) continue;
        agents["total"] = agents["total"].get<int>() + 1;
        if (a.state == reg::AgentState::kUp) {
          agents["up"] = agents["up"].get<int>() + 1;
        } else {
          agents["down"] = agents["down"].get<int>() + 1;
        }
      }
    }
    json sites = json::array();
    if (auto list = Registry().ListSites()) {
      for (const auto& s : *list) {
        if (p.SeesSite(s.id)) sites.push_back(SiteJson(s));
      }
    }
    json out{{"hours", hours},       {"total", total},     {"truncated", truncated},
             {"top_signatures", top(sigs, "signature")}, {"top_sources", top(sources, "ip")},
             {"agents", agents},     {"sites", sites}};
    std::string body = Dump(out);
    MutexLock lock(&cache_mu);
    dashboard_cache[scope_key] = {now, body};
    return HttpResponse::Json(200, std::move(body));
  }

  static json SiteJson(const reg::Site& s) {
    return {{"id", s.id},
            {"description", s.description},
            {"state", reg::LinkStateName(s.link.state)},
            {"since", s.link.since_unix_nanos ? FormatRfc3339(s.link.since_unix_nanos) : ""},
            {"reason", s.link.reason},
            {"rtt_ms", s.link.metrics.rtt_ms},
            {"jitter_ms", s.link.metrics.jitter_ms},
            {"loss", s.link.metrics.loss_ratio},
            {"availability_24h", s.link.availability_24h},
            {"agents", s.agents},
            {"agents_up", s.agents_up}};
  }

  HttpResponse Agents(const auth::Principal& p) {
    RAMPART_ASSIGN_OR_RETURN_RESPONSE(auto list, Registry().ListAgents());
    json rows = json::array();
    for (const auto& a : list) {
      if (!p.SeesSite(a.site)) continue;
      const cs::AgentIngest ingest = deps.store->IngestOf(a.id);
      rows.push_back({{"id", a.id},
                      {"name", a.name},
                      {"site", a.site},
                      {"version", a.version},
                      {"state", reg::AgentStateName(a.state)},
                      {"connected", a.connected},
                      {"revoked", a.revoked},
                      {"last_seen", a.last_seen_unix_nanos ? FormatRfc3339(a.last_seen_unix_nanos) : ""},
                      {"last_seen_ms", a.last_seen_unix_nanos / 1'000'000},
                      {"address", a.address},
                      {"events_stored", ingest.events_stored},
                      {"events_lost", ingest.events_lost},
                      {"cpu_percent", a.health.cpu_percent},
                      {"rss_bytes", a.health.rss_bytes},
                      {"queue_depth", a.health.queue_depth},
                      {"capture_drops", a.health.capture_drops},
                      {"rules_version", a.health.rules_version}});
    }
    return Ok({{"rows", rows}});
  }

  HttpResponse Sites(const auth::Principal& p) {
    RAMPART_ASSIGN_OR_RETURN_RESPONSE(auto list, Registry().ListSites());
    json rows = json::array();
    for (const auto& s : list) {
      if (p.SeesSite(s.id)) rows.push_back(SiteJson(s));
    }
    return Ok({{"rows", rows}});
  }

  HttpResponse SiteHistory(const HttpRequest& r, const std::string& site, const auth::Principal& p) {
    if (!p.SeesSite(site)) return HttpResponse::Error(404, "no such site");
    const int64_t now = deps.clock->NowNanos();
    int64_t from = now - 24LL * 3600 * 1'000'000'000, to = now;
    if (r.HasQuery("from")) {
      auto v = MillisToNanos(r.Query("from"));
      if (!v) return HttpResponse::Error(400, "from: unix milliseconds expected");
      from = *v;
    }
    if (r.HasQuery("to")) {
      auto v = MillisToNanos(r.Query("to"));
      if (!v) return HttpResponse::Error(400, "to: unix milliseconds expected");
      to = *v;
    }
    RAMPART_ASSIGN_OR_RETURN_RESPONSE(auto samples, Registry().LinkHistory(site, from, to, 500));
    json rows = json::array();
    for (const auto& s : samples) {
      rows.push_back({{"start_ms", s.start_unix_nanos / 1'000'000},
                      {"duration_ms", s.duration_nanos / 1'000'000},
                      {"rtt_ms_avg", s.rtt_ms_avg},
                      {"rtt_ms_max", s.rtt_ms_max},
                      {"jitter_ms", s.jitter_ms},
                      {"loss", s.loss_ratio},
                      {"availability", s.availability},
                      {"worst", reg::LinkStateName(s.worst)}});
    }
    return Ok({{"site", site}, {"samples", rows}});
  }

  HttpResponse Signatures(const HttpRequest& r) {
    RAMPART_ASSIGN_OR_RETURN_RESPONSE(auto list, deps.store->Signatures(r.Query("q"), 20));
    json rows = json::array();
    for (const auto& s : list) rows.push_back({{"sid", s.signature_id}, {"signature", s.signature}, {"alerts", s.alerts}});
    return Ok({{"rows", rows}});
  }

  // --- settings ---

  HttpResponse Notify() {
    json targets = json::array(), routes = json::array(), failures = json::array();
    if (deps.notifier) {
      for (const auto& t : deps.notifier->Stats()) {
        targets.push_back({{"name", t.name},
                           {"kind", t.kind},
                           {"pending", t.pending},
                           {"held_for_digest", t.held_for_digest},
                           {"delivered", t.delivered},
                           {"failures", t.failures},
                           {"last_error", t.last_error},
                           {"last_error_time", t.last_error_nanos ? FormatRfc3339(t.last_error_nanos) : ""},
                           {"last_delivered", t.last_delivered_nanos ? FormatRfc3339(t.last_delivered_nanos) : ""}});
      }
      for (const auto& r : deps.notifier->routes()) {
        routes.push_back({{"name", r.name},
                          {"alerts", r.alerts},
                          {"links", r.links},
                          {"max_severity", r.max_severity},
                          {"sites", r.sites},
                          {"signature_contains", r.signature_contains},
                          {"link_states", r.link_states},
                          {"targets", r.targets}});
      }
      for (const auto& f : deps.notifier->Failures(50)) {
        failures.push_back({{"target", f.target},
                            {"id", f.message_id},
                            {"time", FormatRfc3339(f.time_nanos)},
                            {"attempt", f.attempt},
                            {"error", f.error}});
      }
    }
    return Ok({{"targets", targets}, {"routes", routes}, {"failures", failures}});
  }

  static json UserJson(const auth::User& u) {
    return {{"name", u.name},
            {"role", auth::RoleName(u.role)},
            {"sites", u.sites},
            {"disabled", u.disabled},
            {"locked", u.locked_until_nanos > WallNanos()},
            {"created", u.created_nanos ? FormatRfc3339(u.created_nanos) : ""}};
  }

  HttpResponse Users(const HttpRequest& r, const auth::Principal& p, const std::string& name) {
    if (!p.IsAdmin()) return HttpResponse::Error(403, "only an admin manages users");
    if (r.method == "GET" && name.empty()) {
      RAMPART_ASSIGN_OR_RETURN_RESPONSE(auto users, deps.access->ListUsers());
      json rows = json::array();
      for (const auto& u : users) rows.push_back(UserJson(u));
      return Ok({{"rows", rows}});
    }
    if (r.method != "POST") return HttpResponse::Error(405, "method not allowed");
    RAMPART_RETURN_RESPONSE_IF_ERROR(CheckChange(r, p));
    RAMPART_ASSIGN_OR_RETURN_RESPONSE(json body, ReadBody(r));
    std::vector<std::string> sites;
    if (body.contains("sites") && body["sites"].is_array()) {
      for (const auto& s : body["sites"]) {
        if (s.is_string()) sites.push_back(s.get<std::string>());
      }
    }
    if (name.empty()) {
      RAMPART_ASSIGN_OR_RETURN_RESPONSE(auth::Role role, auth::ParseRole(body.value("role", "viewer")));
      auth::User u{.name = body.value("name", ""), .role = role, .sites = sites};
      RAMPART_RETURN_RESPONSE_IF_ERROR(deps.access->AddUser(u, body.value("password", "")));
      Audit(p, r, "user.add", u.name, Dump({{"role", auth::RoleName(role)}, {"sites", sites}}));
      return Ok({{"ok", true}});
    }
    if (body.contains("role")) {
      RAMPART_ASSIGN_OR_RETURN_RESPONSE(auth::Role role, auth::ParseRole(body.value("role", "")));
      RAMPART_RETURN_RESPONSE_IF_ERROR(deps.access->SetRole(name, role, sites));
      Audit(p, r, "user.role", name, Dump({{"role", auth::RoleName(role)}, {"sites", sites}}));
    }
    if (body.contains("disabled") && body["disabled"].is_boolean()) {
      if (name == p.user) return HttpResponse::Error(409, "you cannot disable yourself");
      RAMPART_RETURN_RESPONSE_IF_ERROR(deps.access->SetDisabled(name, body["disabled"].get<bool>()));
      Audit(p, r, body["disabled"].get<bool>() ? "user.disable" : "user.enable", name, "");
    }
    if (body.contains("password")) {
      RAMPART_RETURN_RESPONSE_IF_ERROR(deps.access->SetPassword(name, body.value("password", "")));
      Audit(p, r, "user.passwd", name, "");
    }
    return Ok({{"ok", true}});
  }

  HttpResponse AuditLog(const HttpRequest& r, const auth::Principal& p) {
    if (!p.IsAdmin()) return HttpResponse::Error(403, "only an admin reads the audit log");
    int64_t before = 0;
    if (auto v = ParseInt(r.Query("before"))) before = *v;
    RAMPART_ASSIGN_OR_RETURN_RESPONSE(auto entries, deps.access->ListAudit(100, before));
    json rows = json::array();
    for (const auto& e : entries) {
      rows.push_back({{"time", FormatRfc3339(e.time_nanos)}, {"time_ns", e.time_nanos}, {"actor", e.actor},
                      {"action", e.action}, {"target", e.target}, {"detail", e.detail}, {"remote", e.remote}});
    }
    return Ok({{"rows", rows}});
  }

  // --- routing ---

  HttpResponse Route(const HttpRequest& r) {
    const std::string& path = r.path;
    const bool read = r.method == "GET" || r.method == "HEAD";
    if (read && (path == "/" || path == "/index.html")) {
      return Static(options.ui_dir + "/index.html", "text/html; charset=utf-8");
    }
    if (read && path == "/vendor/chart.js") return Static(options.chart_js, "text/javascript; charset=utf-8");
    if (read && path == "/pki/ca.crl" && !options.crl_file.empty()) {
      auto crl = tls::ReadFile(options.crl_file);  // Read each time: rampartctl may renew it.
      if (!crl) return HttpResponse::Error(404, "no CRL");
      return HttpResponse{200, "application/x-pem-file", *crl, {{"Cache-Control", "max-age=3600"}}};
    }
    if (read && path.starts_with("/assets/")) {
      const std::string name = path.substr(8);
      if (!SafeAssetName(name)) return HttpResponse::Error(404, "not found");
      return Static(options.ui_dir + "/" + name, ContentType(name));
    }
    if (!path.starts_with("/api/v1/")) return HttpResponse::Error(404, "not found");
    const std::string api = path.substr(8);
    if (api == "login") {
      if (r.method != "POST") return HttpResponse::Error(405, "use POST");
      return Login(r);
    }
    auto principal = Authenticate(r);
    // The UI asks once at start whether it has a session: not an error.
    if (!principal && api == "session" && read) return Ok({{"authenticated", false}});
    if (!principal) return FromStatus(principal.error());
    const auth::Principal& p = *principal;
    if (!read) {
      // Every change: same origin and the session's CSRF token.
      if (auto s = CheckChange(r, p); !s.ok()) return FromStatus(s);
    }
    if (api == "session" && read) return Ok(PrincipalJson(p));
    if (api == "logout" && r.method == "POST") return Logout(r, p);
    if (api == "alerts" && read) return Alerts(r, p);
    if (api == "alerts/triage" && r.method == "POST") return TriageChangeReq(r, p);
    if (api.starts_with("alerts/") && read) return AlertDetail(api.substr(7), p);
    if (api == "dashboard" && read) return Dashboard(p);
    if (api == "agents" && read) return Agents(p);
    if (api == "sites" && read) return Sites(p);
    if (api.starts_with("sites/") && api.ends_with("/history") && read) {
      return SiteHistory(r, api.substr(6, api.size() - 6 - 8), p);
    }
    if (api == "signatures" && read) return Signatures(r);
    if (api == "notify" && read) return Notify();
    if (api == "users") return Users(r, p, "");
    if (api.starts_with("users/")) return Users(r, p, api.substr(6));
    if (api == "audit" && read) return AuditLog(r, p);
    return HttpResponse::Error(read ? 404 : 405, read ? "not found" : "method not allowed");
  }
};

Api::Api(ApiOptions options, ApiDeps deps) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->deps = deps;
}

Api::~Api() = default;

HttpResponse Api::Handle(const HttpRequest& request) { return impl_->Route(request); }

std::expected<FeedFilter, HttpResponse> Api::AuthorizeFeed(const HttpRequest& request) {
  if (request.path != "/api/v1/feed") return std::unexpected(HttpResponse::Error(404, "not found"));
  if (!Impl::SameOrigin(request)) return std::unexpected(HttpResponse::Error(403, "cross-origin feed refused"));
  auto p = impl_->Authenticate(request);
  if (!p) return std::unexpected(FromStatus(p.error()));
  auto sites = p->sites;
  return FeedFilter([sites](const FeedMessage& m) {
    return sites.empty() || std::find(sites.begin(), sites.end(), m.site) != sites.end();
  });
}

FeedMessage Api::AlertMessage(const cs::EventSummary& alert) {
  return {alert.site, Dump({{"type", "alert"}, {"alert", SummaryJson(alert)}})};
}

FeedMessage Api::LinkMessage(const cs::LinkChange& c) {
  json j{{"type", "link"},
         {"site", c.site},
         {"agent", c.agent_id},
         {"state", c.agent_id.empty() ? reg::LinkStateName(c.to_link) : reg::AgentStateName(c.to_agent)},
         {"from", c.agent_id.empty() ? reg::LinkStateName(c.from_link) : reg::AgentStateName(c.from_agent)},
         {"time", FormatRfc3339(c.at_unix_nanos)},
         {"reason", c.reason}};
  return {c.site, Dump(j)};
}

}  // namespace rampart::web
