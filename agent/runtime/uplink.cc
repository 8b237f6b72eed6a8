#include "agent/ship/transport.h"

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/ship/identity.h"
#include "agent/ship/shipper.h"
#include "agent/store/eve_file.h"
#include "common/config/config.h"
#include "common/log/log.h"
#include "common/tls/files.h"
#include "common/util/clock.h"

namespace rampart::ship {

void ReadTransportConfig(config::Section agent, TransportConfig* out) {
  config::Section spool = agent.Child("spool");
  spool.ByteSize("max_bytes", &out->spool.max_bytes, 1u << 20, 1ull << 42);
  std::chrono::milliseconds age = std::chrono::duration_cast<std::chrono::milliseconds>(out->spool.max_age);
  spool.Duration("max_age", &age, std::chrono::milliseconds(0), std::chrono::hours(24 * 3650));
  out->spool.max_age = std::chrono::duration_cast<std::chrono::seconds>(age);
  spool.Bool("sync", &out->spool.sync);

  config::Section c = agent.Child("controller");
  c.String("address", &out->controller);
  if (!out->controller.empty() && !SplitHostPort(out->controller).has_value()) {
    c.Problem("address", "must be HOST:PORT ([v6]:PORT for IPv6), got '" + out->controller + "'");
  }
  c.String("server_name", &out->server_name);
  c.Duration("reconnect_initial", &out->reconnect_initial, std::chrono::milliseconds(10), std::chrono::minutes(10));
  c.Duration("reconnect_max", &out->reconnect_max, std::chrono::milliseconds(10), std::chrono::hours(1));
  if (out->reconnect_max < out->reconnect_initial) {
    c.Problem("reconnect_max", "must not be below reconnect_initial");
  }
  c.Int("backlog_rate", &out->backlog_rate, 0, 10'000'000);
  c.Int("batch_events", &out->batch_events, 1, 100'000);
  c.Bool("probes", &out->probes);

  config::Section inputs = agent.Child("inputs");
  inputs.StringList("eve_files", &out->eve_files);
}

namespace {

class TransportImpl final : public AgentTransport {
 public:
  TransportImpl(const TransportConfig& c, std::string data_dir, agent_store::Spool& spool, std::string version,
                std::string hostname)
      : c_(c), data_dir_(std::move(data_dir)), spool_(spool), version_(std::move(version)),
        hostname_(std::move(hostname)) {}
  ~TransportImpl() override { Stop(std::chrono::milliseconds(0)); }

  Status Init() {
    for (const std::string& path : c_.eve_files) {
      agent_store::EveFileOptions o;
      o.path = path;
      RAMPART_ASSIGN_OR_RETURN(auto f, agent_store::EveFileFollower::Start(o, spool_));
      inputs_.push_back({path, std::move(f)});
      log::Info("agent", "following EVE file", {{"path", path}});
    }
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "ship-status");
      Loop();
    });
    return Status::Ok();
  }

  void Stop(std::chrono::milliseconds drain) override {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      drain_ = drain;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    int64_t next_enrol_check = 0;
    while (true) {
      {
        std::unique_lock lock(mu_);
        if (cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopped_; })) break;
      }
      const int64_t now = MonotonicNanos();
      if (!shipper_ && now >= next_enrol_check) {
        TryStartShipper();
        next_enrol_check = now + 5'000'000'000;
      }
      WriteStatus();
    }
    // Producers first, then the stream (it drains acks), then a last status.
    for (auto& in : inputs_) in.follower->Stop();
    if (shipper_) shipper_->Stop(drain_);
    WriteStatus();
  }

  void TryStartShipper() {
    auto id = LoadIdentity(data_dir_);
    if (!id.has_value()) {
      if (!warned_) {
        log::Warn("agent", "not shipping yet: events stay in the spool", {{"reason", id.error()}});
        warned_ = true;
      }
      return;
    }
    ShipperOptions o;
    o.identity = *id;
    if (!c_.server_name.empty()) o.identity.server_name = c_.server_name;
    o.controller = c_.controller;
    o.data_dir = data_dir_;
    o.version = version_;
    o.hostname = hostname_;
    o.reconnect_initial = c_.reconnect_initial;
    o.reconnect_max = c_.reconnect_max;
    o.backlog_events_per_second = c_.backlog_rate;
    o.batch_max_events = c_.batch_events;
    o.probes = c_.probes;
    auto s = Shipper::Start(o, spool_);
    if (!s.has_value()) {
      log::Error("agent", "cannot start shipping", {{"error", s.error()}});
      return;
    }
    shipper_ = std::move(*s);
    log::Info("agent", "shipping to the controller",
              {{"agent_id", id->agent_id}, {"controller", c_.controller.empty() ? id->controller : c_.controller}});
  }

  void WriteStatus() {
    const agent_store::OutboxStats q = spool_.Stats();
    nlohmann::json j;
    j["time"] = FormatRfc3339(WallNanos());
    j["spool"] = {{"last_sequence", q.last_sequence}, {"depth", q.depth},       {"bytes", q.bytes},
                  {"alerts", q.alerts},               {"appended", q.appended}, {"acknowledged", q.acknowledged},
                  {"dropped", q.dropped},             {"rejected", q.rejected}};
    nlohmann::json inputs = nlohmann::json::array();
    for (const auto& in : inputs_) {
      const agent_store::EveFileStats s = in.follower->Stats();
      inputs.push_back({{"path", in.path}, {"lines", s.lines}, {"offset", s.offset}, {"inode", s.inode},
                        {"oversized", s.oversized}, {"rotations", s.rotations}});
    }
    j["inputs"] = inputs;
    if (shipper_) {
      const ShipperStats s = shipper_->Stats();
      j["stream"] = {{"connected", s.connected},         {"connects", s.connects},
                     {"failures", s.failures},           {"events_sent", s.events_sent},
                     {"events_acked", s.events_acked},   {"alerts_ahead", s.alerts_ahead},
                     {"stored_through", s.stored_through}, {"last_error", s.last_error},
                     {"rtt_ms", s.rtt_ms},               {"jitter_ms", s.jitter_ms},
                     {"loss_ratio", s.loss_ratio},       {"probes_sent", s.probes_sent},
                     {"probes_received", s.probes_received}};
    } else {
      j["stream"] = {{"connected", false}, {"enrolled", false}};
    }
    // Not fsynced: every figure in it is durable in the spool already, and
    // it is rewritten within a second.
    Status s = tls::WriteFileAtomically(data_dir_ + "/status.json", j.dump(2) + "\n", 0644, tls::FileSync::kAtomicOnly);
    if (!s.ok() && !status_warned_) {
      log::Warn("agent", "cannot write status file", {{"error", s}});
      status_warned_ = true;
    }
  }

  struct Input {
    std::string path;
    std::unique_ptr<agent_store::EveFileFollower> follower;
  };

  TransportConfig c_;
  std::string data_dir_;
  agent_store::Spool& spool_;
  std::string version_;
  std::string hostname_;
  std::vector<Input> inputs_;
  std::unique_ptr<Shipper> shipper_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::chrono::milliseconds drain_{0};
  bool warned_ = false;
  bool status_warned_ = false;
};

}  // namespace

Result<std::unique_ptr<AgentTransport>> AgentTransport::Start(const TransportConfig& config,
                                                              const std::string& data_dir, agent_store::Spool& spool,
                                                              const std::string& version,
                                                              const std::string& hostname) {
  auto t = std::make_unique<TransportImpl>(config, data_dir, spool, version, hostname);
  RAMPART_RETURN_IF_ERROR(t->Init());
  return std::unique_ptr<AgentTransport>(std::move(t));
}

}  // namespace rampart::ship
