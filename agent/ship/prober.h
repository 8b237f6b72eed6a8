#pragma once
// Internal to agent/ship: TWAMP-light style UDP probes to the controller's
// reflector (the packet format is common/probe/link_probe.h). Runs on
// its own thread once configured from a Welcome, and keeps probing while
// the stream is down, so the controller can tell a cut link from a dead
// agent and the agent can measure the link when it comes back.

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <thread>

#include "common/util/mutex.h"

namespace rampart::ship::detail {

struct ProbeWindow {
  double rtt_ms = 0;      // Mean round trip (reflector time removed).
  double jitter_ms = 0;   // Mean absolute difference of consecutive RTTs.
  double loss_ratio = 0;  // Probes without a reply among those old enough to have one.
  uint32_t sent = 0;
  uint32_t received = 0;
};

class Prober {
 public:
  explicit Prober(std::string agent_id, std::chrono::milliseconds window = std::chrono::milliseconds(10000));
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  // Where and how to probe; starts the thread on first call. A new key or
  // target replaces the old one.
  void Configure(const std::string& host, int port, const std::string& key, std::chrono::milliseconds interval)
      EXCLUDES(mu_);
  ProbeWindow Window() const EXCLUDES(mu_);

 private:
  void Loop() EXCLUDES(mu_);
  bool OpenSocket() REQUIRES(mu_);
  void Send(int64_t mono) REQUIRES(mu_);
  void Receive() REQUIRES(mu_);

  const std::string agent_id_;
  const int64_t window_nanos_;
  mutable Mutex mu_;
  CondVar cv_;
  std::thread thread_;  // Started by the first Configure (under mu_), joined by the destructor.
  bool stop_ GUARDED_BY(mu_) = false;
  bool configured_ GUARDED_BY(mu_) = false;
  bool reopen_ GUARDED_BY(mu_) = false;
  std::string host_ GUARDED_BY(mu_);
  int port_ GUARDED_BY(mu_) = 0;
  std::string key_ GUARDED_BY(mu_);
  std::chrono::milliseconds interval_ GUARDED_BY(mu_) = std::chrono::milliseconds(200);
  int fd_ GUARDED_BY(mu_) = -1;
  sockaddr_storage target_ GUARDED_BY(mu_) = {};
  socklen_t target_len_ GUARDED_BY(mu_) = 0;
  uint32_t next_seq_ GUARDED_BY(mu_) = 0;
  std::map<uint32_t, int64_t> sent_ GUARDED_BY(mu_);               // seq -> monotonic send time
  std::deque<std::pair<int64_t, bool>> outcomes_ GUARDED_BY(mu_);  // (send time, answered), in send order
  std::deque<std::pair<int64_t, double>> rtts_ GUARDED_BY(mu_);    // (send time, rtt ms), in send order
};

}  // namespace rampart::ship::detail
