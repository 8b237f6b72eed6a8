#include "agent/runtime/uplink.h"

#include <pthread.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/ship/identity.h"
#include "agent/ship/shipper.h"
#include "agent/store/eve_file.h"
#include "common/config/config.h"
#include "common/log/log.h"
#include "common/metrics/counters.h"
#include "common/tls/files.h"
#include "common/util/clock.h"
#include "common/util/mutex.h"

namespace rampart::agent {

void ReadUplinkConfig(config::Section agent, UplinkConfig* out) {
  config::Section spool = agent.Child("spool");
  spool.ByteSize("max_bytes", &out->spool.max_bytes, 1u << 20, 1ull << 42);
  std::chrono::milliseconds age = std::chrono::duration_cast<std::chrono::milliseconds>(out->spool.max_age);
  spool.Duration("max_age", &age, std::chrono::milliseconds(0), std::chrono::hours(24 * 3650));
  out->spool.max_age = std::chrono::duration_cast<std::chrono::seconds>(age);
  spool.Bool("sync", &out->spool.sync);

  config::Section c = agent.Child("controller");
  c.String("address", &out->controller);
  if (!out->controller.empty() && !ship::SplitHostPort(out->controller).has_value()) {
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

class UplinkImpl final : public Uplink {
 public:
  UplinkImpl(const UplinkConfig& c, std::string data_dir, agent_store::Spool& spool, std::string version,
                std::string hostname)
      : c_(c), data_dir_(std::move(data_dir)), spool_(spool), version_(std::move(version)),
        hostname_(std::move(hostname)) {}
  ~UplinkImpl() override { Stop(std::chrono::milliseconds(0)); }

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
      MutexLock lock(&mu_);
      if (stopped_) return;
      stopped_ = true;
      drain_ = drain;
    }
    cv_.SignalAll();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    int64_t next_enrol_check = 0;
    std::chrono::milliseconds drain{0};
    while (true) {
      {
        const auto tick = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        MutexLock lock(&mu_);
        while (!stopped_ && cv_.WaitUntil(&mu_, tick)) {
        }
        if (stopped_) {
          drain = drain_;
          break;
        }
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
    if (shipper_) shipper_->Stop(drain);
    WriteStatus();
  }

  void TryStartShipper() {
    auto id = ship::LoadIdentity(data_dir_);
    if (!id.has_value()) {
      if (!warned_) {
        log::Warn("agent", "not shipping yet: events stay in the spool", {{"reason", id.error()}});
        warned_ = true;
      }
      return;
    }
    ship::ShipperOptions o;
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
    auto s = ship::Shipper::Start(o, spool_);
    if (!s.has_value()) {
      log::Error("agent", "cannot start shipping", {{"error", s.error()}});
      return;
    }
    shipper_ = std::move(*s);
    log::Info("agent", "shipping to the controller",
              {{"agent_id", id->agent_id}, {"controller", c_.controller.empty() ? id->controller : c_.controller}});
  }

  // The rows of a counter table as a JSON object, under their own names.
  template <class Counters>
  static nlohmann::json CountersJson(const Counters& c) {
    nlohmann::json j = nlohmann::json::object();
    metrics::ForEachCounter(c, [&](const metrics::CounterInfo& info, uint64_t v) { j[std::string(info.name)] = v; });
    return j;
  }

  void WriteStatus() {
    nlohmann::json j;
    j["time"] = FormatRfc3339(WallNanos());
    j["spool"] = CountersJson(spool_.Stats());
    nlohmann::json inputs = nlohmann::json::array();
    for (const auto& in : inputs_) {
      nlohmann::json i = CountersJson(in.follower->Stats());
      i["path"] = in.path;
      inputs.push_back(std::move(i));
    }
    j["inputs"] = inputs;
    if (shipper_) {
      const ship::ShipperStats s = shipper_->Stats();
      nlohmann::json stream = CountersJson(s);
      stream["connected"] = s.connected;
      stream["last_error"] = s.last_error;
      stream["rtt_ms"] = s.rtt_ms;
      stream["jitter_ms"] = s.jitter_ms;
      stream["loss_ratio"] = s.loss_ratio;
      stream["probes_sent"] = s.probes_sent;
      stream["probes_received"] = s.probes_received;
      j["stream"] = std::move(stream);
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

  UplinkConfig c_;
  std::string data_dir_;
  agent_store::Spool& spool_;
  std::string version_;
  std::string hostname_;
  std::vector<Input> inputs_;
  std::unique_ptr<ship::Shipper> shipper_;
  std::thread thread_;
  Mutex mu_;
  CondVar cv_;
  bool stopped_ GUARDED_BY(mu_) = false;
  std::chrono::milliseconds drain_ GUARDED_BY(mu_) = std::chrono::milliseconds(0);
  bool warned_ = false;
  bool status_warned_ = false;
};

}  // namespace

Result<std::unique_ptr<Uplink>> Uplink::Start(const UplinkConfig& config,
                                                              const std::string& data_dir, agent_store::Spool& spool,
                                                              const std::string& version,
                                                              const std::string& hostname) {
  auto t = std::make_unique<UplinkImpl>(config, data_dir, spool, version, hostname);
  RAMPART_RETURN_IF_ERROR(t->Init());
  return std::unique_ptr<Uplink>(std::move(t));
}

}  // namespace rampart::agent
