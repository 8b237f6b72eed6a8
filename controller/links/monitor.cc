#include "controller/links/monitor.h"

#include <pthread.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "common/log/log.h"
#include "common/probe/link_probe.h"
#include "common/tls/files.h"
#include "common/util/ids.h"
#include "common/util/mutex.h"
#include "controller/links/evaluator.h"

namespace rampart::links {
namespace {

namespace cs = controller_store;
namespace reg = registry;

// "0.0.0.0:4318", "[::]:4318", ":4318".
Result<sockaddr_storage> ParseListen(const std::string& text, socklen_t* len) {
  sockaddr_storage ss{};
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) return InvalidArgumentError("reflector address '" + text + "' needs a port");
  std::string host = text.substr(0, colon);
  const int port = std::atoi(text.c_str() + colon + 1);
  if (port < 0 || port > 65535) return InvalidArgumentError("bad reflector port in '" + text + "'");
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    *len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    *len = sizeof(sockaddr_in6);
  } else {
    return InvalidArgumentError("reflector address '" + text + "' is not an IP address and port");
  }
  return ss;
}

class MonitorImpl final : public Monitor {
 public:
  MonitorImpl(const Options& options, reg::Registry& registry, cs::Store& store)
      : options_(options), registry_(registry), store_(store), eval_(options) {}
  ~MonitorImpl() override { Stop(); }

  Status Init() EXCLUDES(mu_) {
    if (options_.degraded_loss_clear > options_.degraded_loss_raise ||
        (options_.degraded_rtt_ms_raise > 0 && options_.degraded_rtt_ms_clear > options_.degraded_rtt_ms_raise) ||
        (options_.degraded_jitter_ms_raise > 0 &&
         options_.degraded_jitter_ms_clear > options_.degraded_jitter_ms_raise)) {
      return InvalidArgumentError("a degraded clear threshold is above its raise threshold");
    }
    RAMPART_RETURN_IF_ERROR(LoadSecret());
    // What the registry knows: sites, agents and their last states.
    RAMPART_ASSIGN_OR_RETURN(auto sites, registry_.ListSites());
    RAMPART_ASSIGN_OR_RETURN(auto agents, registry_.ListAgents());
    {
      MutexLock lock(&mu_);  // No thread runs yet; the analysis wants it all the same.
      for (const reg::Site& s : sites) {
        detail::SiteView& v = eval_.sites()[s.id];
        v.state = s.link.state;
        v.since_wall = s.link.since_unix_nanos;
        v.reason = s.link.reason;
        // The last day of availability, to carry the 24 h figure over a restart.
        auto history = registry_.LinkHistory(s.id, options_.clock->NowNanos() - 86400LL * 1'000'000'000,
                                               options_.clock->NowNanos(), 8640);
        if (history.has_value()) {
          for (const reg::LinkSample& h : *history) v.availability.push_back(h.availability);
        }
      }
      for (const reg::Agent& a : agents) AddAgentLocked(a);
    }
    return StartThreads();
  }

  // Binds the reflector's socket and starts both threads.
  Status StartThreads() {
    socklen_t len = 0;
    RAMPART_ASSIGN_OR_RETURN(sockaddr_storage addr, ParseListen(options_.reflector_listen, &len));
    fd_ = ::socket(addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return ErrnoError(errno, "reflector socket");
    if (addr.ss_family == AF_INET6) {
      int off = 0;
      ::setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    }
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
      const int e = errno;
      ::close(fd_);
      fd_ = -1;
      return UnavailableError("cannot bind the probe reflector to " + options_.reflector_listen + ": " +
                              std::strerror(e));
    }
    sockaddr_storage bound{};
    socklen_t blen = sizeof(bound);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &blen);
    port_ = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                             : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    reflector_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "links-reflect");
      ReflectorLoop();
    });
    evaluator_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "links-eval");
      EvaluatorLoop();
    });
    log::Info("links", "probe reflector listening", {{"address", options_.reflector_listen}, {"port", port_}});
    return Status::Ok();
  }

  int reflector_port() const override { return port_; }
  std::chrono::milliseconds probe_interval() const override { return options_.probe_interval; }

  std::string StreamOpened(const std::string& agent_id) override EXCLUDES(mu_) {
    auto a = registry_.GetAgent(agent_id);
    MutexLock lock(&mu_);
    if (a.has_value()) AddAgentLocked(*a);
    auto it = eval_.agents().find(agent_id);
    if (it != eval_.agents().end()) {
      it->second.stream_open = true;
      eval_.Heard(agent_id, options_.clock->MonotonicNanos());
    }
    return KeyFor(agent_id);
  }

  void StreamClosed(const std::string& agent_id, bool goodbye) override EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    auto it = eval_.agents().find(agent_id);
    if (it == eval_.agents().end()) return;
    it->second.stream_open = false;
    if (goodbye) it->second.goodbye = true;
  }

  void Heard(const std::string& agent_id) override EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    eval_.Heard(agent_id, options_.clock->MonotonicNanos());
  }

  void Measured(const std::string& agent_id, const reg::LinkMetrics& metrics) override EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    eval_.Measured(agent_id, metrics, options_.clock->MonotonicNanos());
  }

  void Stop() override EXCLUDES(stop_mu_) {
    {
      MutexLock lock(&stop_mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    stop_cv_.SignalAll();
    if (reflector_.joinable()) reflector_.join();
    if (evaluator_.joinable()) evaluator_.join();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  Status LoadSecret() {
    if (options_.secret_path.empty()) {
      secret_.resize(32);
      return RandomBytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(secret_.data()), secret_.size()));
    }
    auto s = tls::ReadSecretFile(options_.secret_path);
    if (s.has_value() && s->size() == 32) {
      secret_ = *s;
      return Status::Ok();
    }
    if (s.has_value() || s.error().code() != StatusCode::kNotFound) {
      return s.has_value() ? DataLossError(options_.secret_path + " is not a 32-byte key") : s.error();
    }
    secret_.resize(32);
    RAMPART_RETURN_IF_ERROR(
        RandomBytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(secret_.data()), secret_.size())));
    return tls::WriteSecretFile(options_.secret_path, secret_);
  }

  std::string KeyFor(const std::string& agent_id) const { return link_probe::DeriveKey(secret_, agent_id); }

  void AddAgentLocked(const reg::Agent& a) REQUIRES(mu_) {
    detail::AgentView& v = eval_.agents()[a.id];
    if (v.id.empty()) {
      v.id = a.id;
      v.state = a.state;
      keys_[a.id] = KeyFor(a.id);
    }
    v.site = a.site;
    v.revoked = a.revoked;
  }

  void ReflectorLoop() EXCLUDES(stop_mu_) {
    uint8_t buf[512];
    while (true) {
      {
        MutexLock lock(&stop_mu_);
        if (stopping_) return;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      sockaddr_storage from{};
      socklen_t flen = sizeof(from);
      const ssize_t n = ::recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &flen);
      if (n < 0) continue;
      HandleProbe(buf, static_cast<size_t>(n), from, flen);
    }
  }

  // Hostile input: anything that does not verify is counted and dropped.
  void HandleProbe(uint8_t* buf, size_t n, const sockaddr_storage& from, socklen_t flen) EXCLUDES(mu_) {
    const int64_t received = options_.clock->NowNanos();
    const auto req = link_probe::ParseRequest(buf, n);
    if (!req) {
      ++malformed_;
      return;
    }
    std::string key;
    {
      MutexLock lock(&mu_);
      auto k = keys_.find(req->agent_id);
      if (k == keys_.end()) {
        ++unknown_;
        return;
      }
      key = k->second;
    }
    if (!link_probe::MacValid(key, buf, req->body_size)) {
      ++forged_;
      return;
    }
    {
      MutexLock lock(&mu_);
      auto it = eval_.agents().find(req->agent_id);
      if (it == eval_.agents().end() || it->second.revoked) return;
      if (!eval_.Probe(req->agent_id, req->sequence, req->sender_stamp, options_.clock->MonotonicNanos())) {
        ++replayed_;
        return;
      }
    }
    link_probe::MakeReply(key, buf, req->body_size, received, options_.clock->NowNanos());
    ::sendto(fd_, buf, n, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&from), flen);
    ++answered_;
  }

  // Sleeps one evaluate_every; false when stopping.
  bool WaitForTick() EXCLUDES(stop_mu_) {
    MutexLock lock(&stop_mu_);
    const auto deadline = std::chrono::steady_clock::now() + options_.evaluate_every;
    while (!stopping_ && stop_cv_.WaitUntil(&stop_mu_, deadline)) {
    }
    return !stopping_;
  }

  void EvaluatorLoop() EXCLUDES(mu_, stop_mu_) {
    uint64_t ticks = 0;
    while (true) {
      if (!WaitForTick()) return;
      if (ticks % 10 == 0) {
        // Agents enrolled or revoked since the last look.
        auto agents = registry_.ListAgents();
        if (agents.has_value()) {
          MutexLock lock(&mu_);
          for (const reg::Agent& a : *agents) AddAgentLocked(a);
        }
      }
      detail::Changes changes;
      {
        MutexLock lock(&mu_);
        changes = eval_.Tick(options_.clock->MonotonicNanos(), options_.clock->NowNanos());
      }
      for (const auto& [agent, at] : changes.touched) registry_.TouchAgent(agent, at);
      for (cs::LinkChange& c : changes.changes) {
        Status s = c.agent_id.empty() ? Status::Ok() : registry_.SetAgentState(c.agent_id, c.to_agent, c.at_unix_nanos);
        if (s.ok()) s = store_.RecordLinkChange(c);
        if (!s.ok()) log::Warn("links", "cannot record a link change", {{"error", s}});
        if (c.agent_id.empty()) {
          log::Info("links", "site link changed", {{"site", c.site}, {"from", reg::LinkStateName(c.from_link)},
                                                  {"to", reg::LinkStateName(c.to_link)}, {"reason", c.reason}});
        } else {
          log::Info("links", "agent state changed", {{"agent", c.agent_id}, {"site", c.site},
                                                    {"from", reg::AgentStateName(c.from_agent)},
                                                    {"to", reg::AgentStateName(c.to_agent)}, {"reason", c.reason}});
        }
      }
      for (const auto& [site, link] : changes.sites) {
        Status s = registry_.SetSiteLink(site, link);
        if (!s.ok() && s.code() != StatusCode::kNotFound) log::Warn("links", "cannot save site link", {{"error", s}});
      }
      for (const auto& [site, sample] : changes.samples) {
        Status s = registry_.AppendLinkSample(site, sample);
        if (!s.ok() && s.code() != StatusCode::kNotFound) log::Warn("links", "cannot save link sample", {{"error", s}});
      }
      if (++ticks % 300 == 0) {
        log::Info("links", "reflector counters", {{"answered", answered_.load()}, {"malformed", malformed_.load()},
                                                  {"unknown_agent", unknown_.load()}, {"forged", forged_.load()},
                                                  {"replayed", replayed_.load()}});
      }
    }
  }

  Options options_;
  reg::Registry& registry_;
  cs::Store& store_;
  std::string secret_;
  int fd_ = -1;
  int port_ = 0;
  Mutex mu_;
  detail::Evaluator eval_ GUARDED_BY(mu_);
  std::map<std::string, std::string> keys_ GUARDED_BY(mu_);
  std::thread reflector_, evaluator_;
  Mutex stop_mu_;
  CondVar stop_cv_;
  bool stopping_ GUARDED_BY(stop_mu_) = false;
  std::atomic<uint64_t> answered_{0}, malformed_{0}, unknown_{0}, forged_{0}, replayed_{0};
};

}  // namespace

Result<std::unique_ptr<Monitor>> Monitor::Start(const Options& options, reg::Registry& registry,
                                                cs::Store& store) {
  auto m = std::make_unique<MonitorImpl>(options, registry, store);
  RAMPART_RETURN_IF_ERROR(m->Init());
  return std::unique_ptr<Monitor>(std::move(m));
}

}  // namespace rampart::links
