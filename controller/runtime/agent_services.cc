#include "controller/runtime/agent_services.h"

#include "common/config/config.h"
#include "common/log/log.h"
#include "controller/fleet/admin.h"

namespace rampart::controller {

void ReadAgentServicesConfig(config::Section c, const std::string& data_dir, AgentServicesConfig* out) {
  out->fleet.pki_dir = data_dir + "/pki";
  out->links.secret_path = data_dir + "/links.key";
  out->admin_socket = fleet::DefaultAdminSocket(data_dir);
  out->agents_enabled = c.Has("agents");
  config::Section a = c.Child("agents");
  a.String("listen", &out->server.listen);
  a.String("pki_dir", &out->fleet.pki_dir);
  std::chrono::milliseconds hb = out->server.heartbeat_interval;
  a.Duration("heartbeat_interval", &hb, std::chrono::seconds(1), std::chrono::minutes(10));
  out->server.heartbeat_interval = std::chrono::duration_cast<std::chrono::seconds>(hb);
  a.Int("max_batches_in_flight", &out->server.max_batches_in_flight, 1, 1024);
  std::chrono::milliseconds ttl = out->fleet.token_ttl;
  a.Duration("token_ttl", &ttl, std::chrono::seconds(1), std::chrono::hours(24 * 366));
  out->fleet.token_ttl = std::chrono::duration_cast<std::chrono::seconds>(ttl);
  std::chrono::milliseconds validity = out->fleet.agent_certificate_validity;
  a.Duration("certificate_validity", &validity, std::chrono::minutes(7), std::chrono::hours(24 * 3650));
  out->fleet.agent_certificate_validity = std::chrono::duration_cast<std::chrono::seconds>(validity);

  config::Section l = c.Child("links");
  links::Options& lo = out->links;
  l.String("reflector", &lo.reflector_listen);
  l.Duration("probe_interval", &lo.probe_interval, std::chrono::milliseconds(20), std::chrono::seconds(60));
  l.Duration("dead_after", &lo.dead_after, std::chrono::milliseconds(500), std::chrono::minutes(10));
  l.Duration("clear_after", &lo.clear_after, std::chrono::milliseconds(0), std::chrono::minutes(10));
  l.Duration("window", &lo.window, std::chrono::seconds(1), std::chrono::minutes(10));
  l.Double("degraded_loss", &lo.degraded_loss_raise, 0, 1);
  l.Double("degraded_loss_clear", &lo.degraded_loss_clear, 0, 1);
  l.Double("degraded_rtt_ms", &lo.degraded_rtt_ms_raise, 0, 1e6);
  l.Double("degraded_rtt_ms_clear", &lo.degraded_rtt_ms_clear, 0, 1e6);
  l.Double("degraded_jitter_ms", &lo.degraded_jitter_ms_raise, 0, 1e6);
  l.Double("degraded_jitter_ms_clear", &lo.degraded_jitter_ms_clear, 0, 1e6);
  l.Duration("degraded_clear_for", &lo.degraded_clear_for, std::chrono::milliseconds(0), std::chrono::hours(24));
  if (lo.degraded_loss_clear > lo.degraded_loss_raise) {
    l.Problem("degraded_loss_clear", "must not be above degraded_loss");
  }
  if (lo.degraded_rtt_ms_raise > 0 && lo.degraded_rtt_ms_clear > lo.degraded_rtt_ms_raise) {
    l.Problem("degraded_rtt_ms_clear", "must not be above degraded_rtt_ms");
  }
  if (lo.degraded_jitter_ms_raise > 0 && lo.degraded_jitter_ms_clear > lo.degraded_jitter_ms_raise) {
    l.Problem("degraded_jitter_ms_clear", "must not be above degraded_jitter_ms");
  }

  c.String("admin_socket", &out->admin_socket);
}

namespace {

class AgentServicesImpl final : public AgentServices {
 public:
  ~AgentServicesImpl() override { Stop(std::chrono::seconds(5)); }

  Status Init(const AgentServicesConfig& c, controller_store::Store& store) {
    registry::Registry& registry = store.registry();
    if (c.agents_enabled) {
      RAMPART_ASSIGN_OR_RETURN(fleet_, fleet::Fleet::Open(c.fleet, registry));
      RAMPART_ASSIGN_OR_RETURN(links_, links::Monitor::Start(c.links, registry, store));
      RAMPART_ASSIGN_OR_RETURN(server_, ingest::Server::Start(c.server, registry, store, *fleet_, links_.get()));
      log::Info("controller", "agent port ready",
                {{"port", server_->port()}, {"ca_sha256", fleet_->ca_sha256()}, {"reflector", links_->reflector_port()}});
    }
    RAMPART_ASSIGN_OR_RETURN(admin_, fleet::AdminServer::Start(c.admin_socket, fleet_.get(), registry, store));
    return Status::Ok();
  }

  void Stop(std::chrono::milliseconds deadline) override {
    if (stopped_) return;
    stopped_ = true;
    if (server_) server_->Shutdown(deadline);
    if (admin_) admin_->Shutdown(std::chrono::seconds(1));
    if (links_) links_->Stop();
    server_.reset();
    admin_.reset();
    links_.reset();
    fleet_.reset();
  }

 private:
  std::unique_ptr<fleet::Fleet> fleet_;
  std::unique_ptr<links::Monitor> links_;
  std::unique_ptr<ingest::Server> server_;
  std::unique_ptr<fleet::AdminServer> admin_;
  bool stopped_ = false;
};

}  // namespace

Result<std::unique_ptr<AgentServices>> AgentServices::Start(const AgentServicesConfig& config,
                                                            controller_store::Store& store) {
  auto services = std::make_unique<AgentServicesImpl>();
  RAMPART_RETURN_IF_ERROR(services->Init(config, store));
  return std::unique_ptr<AgentServices>(std::move(services));
}

}  // namespace rampart::controller
