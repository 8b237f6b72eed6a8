#include "controller/fleet/admin.h"

#include <grpcpp/grpcpp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/log/log.h"
#include "common/rpc/status.h"
#include "common/util/clock.h"
#include "rampart/v1/admin.grpc.pb.h"

namespace rampart::fleet {
namespace {

using nlohmann::json;
namespace cs = controller_store;
namespace reg = registry;
namespace v1 = rampart::v1;

json LinkMetricsJson(const reg::LinkMetrics& m) {
  return {{"rtt_ms", m.rtt_ms}, {"jitter_ms", m.jitter_ms}, {"loss_ratio", m.loss_ratio}};
}

json SiteJson(const reg::Site& s) {
  return {{"id", s.id},
          {"description", s.description},
          {"created", FormatRfc3339(s.created_unix_nanos)},
          {"link",
           {{"state", reg::LinkStateName(s.link.state)},
            {"since", s.link.since_unix_nanos ? FormatRfc3339(s.link.since_unix_nanos) : ""},
            {"since_unix_nanos", s.link.since_unix_nanos},
            {"reason", s.link.reason},
            {"metrics", LinkMetricsJson(s.link.metrics)},
            {"availability_24h", s.link.availability_24h}}},
          {"agents", s.agents},
          {"agents_up", s.agents_up}};
}

json AgentJson(const reg::Agent& a, const cs::AgentIngest& ingest) {
  const reg::AgentHealth& h = a.health;
  return {{"id", a.id},
          {"name", a.name},
          {"site", a.site},
          {"version", a.version},
          {"state", reg::AgentStateName(a.state)},
          {"state_since_unix_nanos", a.state_since_unix_nanos},
          {"connected", a.connected},
          {"revoked", a.revoked},
          {"address", a.address},
          {"enrolled", FormatRfc3339(a.enrolled_unix_nanos)},
          {"last_seen", a.last_seen_unix_nanos ? FormatRfc3339(a.last_seen_unix_nanos) : ""},
          {"last_seen_unix_nanos", a.last_seen_unix_nanos},
          {"certificate_serial", a.certificate_serial},
          {"certificate_not_after_unix_seconds", a.certificate_not_after_unix_seconds},
          {"stored_through", ingest.stored_through},
          {"events_stored", ingest.events_stored},
          {"events_lost", ingest.events_lost},
          {"health",
           {{"reported_unix_nanos", h.reported_unix_nanos},
            {"cpu_percent", h.cpu_percent},
            {"rss_bytes", h.rss_bytes},
            {"host_cpu_percent", h.host_cpu_percent},
            {"host_memory_used_bytes", h.host_memory_used_bytes},
            {"host_memory_total_bytes", h.host_memory_total_bytes},
            {"load_average_1m", h.load_average_1m},
            {"disk_free_bytes", h.disk_free_bytes},
            {"queue_depth", h.queue_depth},
            {"queue_bytes", h.queue_bytes},
            {"dropped_events", h.dropped_events},
            {"capture_drops", h.capture_drops},
            {"last_sequence", h.last_sequence},
            {"link", LinkMetricsJson(h.link)}}}};
}

json SummaryJson(const cs::EventSummary& s) {
  json j = {{"id", s.id.ToString()},
            {"agent_id", s.id.agent_id},
            {"sequence", s.id.sequence},
            {"kind", cs::EventKindName(s.kind)},
            {"severity", cs::SeverityName(s.severity)},
            {"observed_unix_nanos", s.observed_unix_nanos},
            {"stored_unix_nanos", s.stored_unix_nanos},
            {"site", s.site},
            {"agent_name", s.agent_name}};
  if (!s.src_ip.empty()) {
    j["src_ip"] = s.src_ip;
    j["src_port"] = s.src_port;
  }
  if (!s.dest_ip.empty()) {
    j["dest_ip"] = s.dest_ip;
    j["dest_port"] = s.dest_port;
  }
  if (!s.proto.empty()) j["proto"] = s.proto;
  if (s.kind == cs::EventKind::kAlert) {
    j["signature_id"] = s.signature_id;
    j["signature"] = s.signature;
    j["category"] = s.category;
  }
  return j;
}

grpc::Status NotOk(const Status& s) { return rpc::ToGrpc(s); }

class AdminService final : public v1::AdminService::CallbackService {
 public:
  AdminService(Fleet* fleet, reg::Registry& registry, cs::Store& store)
      : fleet_(fleet), registry_(registry), store_(store) {}

  grpc::ServerUnaryReactor* CreateSite(grpc::CallbackServerContext* ctx, const v1::CreateSiteRequest* req,
                                       v1::AdminEmpty*) override {
    auto* r = ctx->DefaultReactor();
    reg::Site site;
    site.id = req->site();
    site.description = req->description();
    r->Finish(rpc::ToGrpc(registry_.CreateSite(site)));
    return r;
  }

  grpc::ServerUnaryReactor* CreateToken(grpc::CallbackServerContext* ctx, const v1::CreateTokenRequest* req,
                                        v1::CreateTokenResponse* resp) override {
    auto* r = ctx->DefaultReactor();
    if (!fleet_) {
      r->Finish(NotOk(NoAgentPort()));
      return r;
    }
    TokenRequest t;
    t.site = req->site();
    t.ttl = std::chrono::seconds(req->ttl_seconds());
    t.create_site = req->create_site();
    t.created_by = req->created_by().empty() ? "rampartctl" : req->created_by();
    auto created = fleet_->CreateToken(t);
    if (!created.has_value()) {
      r->Finish(NotOk(created.error()));
      return r;
    }
    resp->set_token(created->token);
    resp->set_site(created->site);
    resp->set_expires_unix_nanos(created->expires_unix_nanos);
    resp->set_ca_sha256(fleet_->ca_sha256());
    r->Finish(grpc::Status::OK);
    return r;
  }

  grpc::ServerUnaryReactor* RevokeAgent(grpc::CallbackServerContext* ctx, const v1::RevokeAgentRequest* req,
                                        v1::AdminEmpty*) override {
    auto* r = ctx->DefaultReactor();
    r->Finish(rpc::ToGrpc(fleet_ ? fleet_->Revoke(req->agent_id(), req->reason()) : NoAgentPort()));
    return r;
  }

  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* ctx, const v1::ListRequest* req,
                                 v1::JsonReply* resp) override {
    auto* r = ctx->DefaultReactor();
    auto doc = Render(*req);
    if (!doc.has_value()) {
      r->Finish(NotOk(doc.error()));
      return r;
    }
    resp->set_json(doc->dump());
    r->Finish(grpc::Status::OK);
    return r;
  }

  grpc::ServerWriteReactor<v1::ExportChunk>* Export(grpc::CallbackServerContext*,
                                                    const v1::ExportRequest* req) override {
    return new ExportReactor(store_, req->agent_id(), std::max<uint64_t>(1, req->from_sequence()));
  }

 private:
  // Streams an agent's events in chunks; one write in flight.
  class ExportReactor final : public grpc::ServerWriteReactor<v1::ExportChunk> {
   public:
    ExportReactor(cs::Store& store, std::string agent, uint64_t from)
        : store_(store), agent_(std::move(agent)), next_(from) {
      NextChunk();
    }
    void OnWriteDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "client went away"));
        return;
      }
      NextChunk();
    }
    void OnDone() override { delete this; }

   private:
    void NextChunk() {
      auto events = store_.AgentEvents(agent_, next_, 2000);
      if (!events.has_value()) {
        Finish(rpc::ToGrpc(events.error()));
        return;
      }
      if (events->empty()) {
        Finish(grpc::Status::OK);
        return;
      }
      std::string lines;
      for (const cs::EventRecord& e : *events) {
        json j = SummaryJson(e.summary);
        json eve = json::parse(e.eve_json, nullptr, false);
        if (eve.is_discarded()) {
          j["eve_raw"] = e.eve_json;
        } else {
          j["eve"] = std::move(eve);
        }
        lines += j.dump();
        lines += '\n';
        next_ = e.summary.id.sequence + 1;
      }
      chunk_.set_lines(std::move(lines));
      StartWrite(&chunk_);
    }

    cs::Store& store_;
    std::string agent_;
    uint64_t next_;
    v1::ExportChunk chunk_;
  };

  Result<json> Render(const v1::ListRequest& req) {
    switch (req.what()) {
      case v1::ListRequest::WHAT_SITES: {
        RAMPART_ASSIGN_OR_RETURN(auto sites, registry_.ListSites());
        json out = json::array();
        for (const reg::Site& s : sites) out.push_back(SiteJson(s));
        return out;
      }
      case v1::ListRequest::WHAT_AGENTS: {
        RAMPART_ASSIGN_OR_RETURN(auto agents, registry_.ListAgents(req.site()));
        json out = json::array();
        for (const reg::Agent& a : agents) {
          if (!req.agent_id().empty() && a.id != req.agent_id()) continue;
          out.push_back(AgentJson(a, store_.IngestOf(a.id)));
        }
        return out;
      }
      case v1::ListRequest::WHAT_TOKENS: {
        RAMPART_ASSIGN_OR_RETURN(auto tokens, registry_.ListTokens());
        json out = json::array();
        for (const reg::Token& t : tokens) {
          out.push_back({{"sha256_prefix", t.sha256.substr(0, 12)},
                         {"site", t.site},
                         {"created", FormatRfc3339(t.created_unix_nanos)},
                         {"expires", FormatRfc3339(t.expires_unix_nanos)},
                         {"used", t.used},
                         {"used_by", t.used_by_agent},
                         {"created_by", t.created_by}});
        }
        return out;
      }
      case v1::ListRequest::WHAT_LINK_HISTORY: {
        if (req.site().empty()) return InvalidArgumentError("link history needs a site");
        RAMPART_ASSIGN_OR_RETURN(auto samples, registry_.LinkHistory(req.site(), req.from_unix_nanos(),
                                                                  req.to_unix_nanos(),
                                                                  req.limit() ? req.limit() : 500));
        json out = json::array();
        for (const reg::LinkSample& s : samples) {
          out.push_back({{"start", FormatRfc3339(s.start_unix_nanos)},
                         {"start_unix_nanos", s.start_unix_nanos},
                         {"duration_seconds", static_cast<double>(s.duration_nanos) / 1e9},
                         {"rtt_ms_avg", s.rtt_ms_avg},
                         {"rtt_ms_max", s.rtt_ms_max},
                         {"jitter_ms", s.jitter_ms},
                         {"loss_ratio", s.loss_ratio},
                         {"availability", s.availability},
                         {"worst", reg::LinkStateName(s.worst)}});
        }
        return out;
      }
      case v1::ListRequest::WHAT_ALERTS: {
        cs::Query q;
        if (!req.site().empty()) q.sites = {req.site()};
        if (!req.agent_id().empty()) q.agents = {req.agent_id()};
        q.from_unix_nanos = req.from_unix_nanos();
        q.to_unix_nanos = req.to_unix_nanos();
        q.limit = req.limit() == 0 ? 50 : std::min<uint32_t>(req.limit(), 1000);
        RAMPART_ASSIGN_OR_RETURN(auto page, store_.QueryAlerts(q));
        json rows = json::array();
        for (const cs::EventSummary& s : page.rows) rows.push_back(SummaryJson(s));
        return json{{"rows", rows}, {"next_cursor", page.next_cursor}};
      }
      default:
        return InvalidArgumentError("unknown listing");
    }
  }

  static Status NoAgentPort() {
    return FailedPreconditionError("the controller has no agent port (add a controller.agents section)");
  }

  Fleet* fleet_;
  reg::Registry& registry_;
  cs::Store& store_;
};

class AdminServerImpl final : public AdminServer {
 public:
  AdminServerImpl(std::string path, Fleet* fleet, reg::Registry& registry, cs::Store& store)
      : path_(std::move(path)), service_(fleet, registry, store) {}
  ~AdminServerImpl() override { Shutdown(std::chrono::seconds(2)); }

  Status Start() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);  // A stale socket from a crash.
    rpc::ConfigureRuntime();
    grpc::ServerBuilder b;
    b.AddListeningPort("unix:" + path_, grpc::InsecureServerCredentials());
    b.RegisterService(&service_);
    server_ = b.BuildAndStart();
    if (!server_) return UnavailableError("cannot listen on admin socket " + path_);
    ::chmod(path_.c_str(), 0600);
    log::Info("admin", "listening", {{"socket", path_}});
    return Status::Ok();
  }

  void Shutdown(std::chrono::milliseconds deadline) override {
    if (!server_ || stopped_.exchange(true)) return;
    server_->Shutdown(std::chrono::system_clock::now() + deadline);
    server_->Wait();
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }

 private:
  std::string path_;
  AdminService service_;
  std::unique_ptr<grpc::Server> server_;
  std::atomic<bool> stopped_{false};
};

class AdminClientImpl final : public AdminClient {
 public:
  explicit AdminClientImpl(const std::string& path)
      : path_(path), stub_(v1::AdminService::NewStub(grpc::CreateChannel("unix:" + path, grpc::InsecureChannelCredentials()))) {}

  Status CreateSite(const std::string& site, const std::string& description) override {
    v1::CreateSiteRequest req;
    req.set_site(site);
    req.set_description(description);
    v1::AdminEmpty resp;
    auto ctx = Context();
    return Convert(stub_->CreateSite(ctx.get(), req, &resp));
  }

  Result<TokenInfo> CreateToken(const std::string& site, std::chrono::seconds ttl, bool create_site) override {
    v1::CreateTokenRequest req;
    req.set_site(site);
    req.set_ttl_seconds(static_cast<uint64_t>(ttl.count()));
    req.set_create_site(create_site);
    req.set_created_by("rampartctl");
    v1::CreateTokenResponse resp;
    auto ctx = Context();
    RAMPART_RETURN_IF_ERROR(Convert(stub_->CreateToken(ctx.get(), req, &resp)));
    return TokenInfo{resp.token(), resp.site(), resp.expires_unix_nanos(), resp.ca_sha256()};
  }

  Status RevokeAgent(const std::string& agent_id, const std::string& reason) override {
    v1::RevokeAgentRequest req;
    req.set_agent_id(agent_id);
    req.set_reason(reason);
    v1::AdminEmpty resp;
    auto ctx = Context();
    return Convert(stub_->RevokeAgent(ctx.get(), req, &resp));
  }

  Result<std::string> List(ListWhat what, const std::string& site, const std::string& agent_id, int64_t from,
                           int64_t to, uint32_t limit) override {
    v1::ListRequest req;
    switch (what) {
      case ListWhat::kSites: req.set_what(v1::ListRequest::WHAT_SITES); break;
      case ListWhat::kAgents: req.set_what(v1::ListRequest::WHAT_AGENTS); break;
      case ListWhat::kTokens: req.set_what(v1::ListRequest::WHAT_TOKENS); break;
      case ListWhat::kLinkHistory: req.set_what(v1::ListRequest::WHAT_LINK_HISTORY); break;
      case ListWhat::kAlerts: req.set_what(v1::ListRequest::WHAT_ALERTS); break;
    }
    req.set_site(site);
    req.set_agent_id(agent_id);
    req.set_from_unix_nanos(from);
    req.set_to_unix_nanos(to);
    req.set_limit(limit);
    v1::JsonReply resp;
    auto ctx = Context();
    RAMPART_RETURN_IF_ERROR(Convert(stub_->List(ctx.get(), req, &resp)));
    return resp.json();
  }

  Status Export(const std::string& agent_id, uint64_t from,
                const std::function<void(std::string_view)>& sink) override {
    v1::ExportRequest req;
    req.set_agent_id(agent_id);
    req.set_from_sequence(from);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(30));
    auto reader = stub_->Export(&ctx, req);
    v1::ExportChunk chunk;
    while (reader->Read(&chunk)) sink(chunk.lines());
    return Convert(reader->Finish());
  }

 private:
  std::unique_ptr<grpc::ClientContext> Context() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return ctx;
  }
  Status Convert(const grpc::Status& s) {
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
      return UnavailableError("cannot reach the controller at " + path_ + " (is it running? " + s.error_message() +
                              ")");
    }
    return rpc::FromGrpc(s);
  }

  std::string path_;
  std::unique_ptr<v1::AdminService::Stub> stub_;
};

}  // namespace

Result<std::unique_ptr<AdminServer>> AdminServer::Start(const std::string& socket_path, Fleet* fleet,
                                                        reg::Registry& registry, cs::Store& store) {
  auto s = std::make_unique<AdminServerImpl>(socket_path, fleet, registry, store);
  RAMPART_RETURN_IF_ERROR(s->Start());
  return std::unique_ptr<AdminServer>(std::move(s));
}

std::unique_ptr<AdminClient> AdminClient::Create(const std::string& socket_path) {
  return std::make_unique<AdminClientImpl>(socket_path);
}

std::string DefaultAdminSocket(const std::string& data_dir) { return data_dir + "/admin.sock"; }

}  // namespace rampart::fleet
