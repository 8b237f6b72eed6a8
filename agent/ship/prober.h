#pragma once
// Internal to agent/ship: TWAMP-light style UDP probes to the controller's
// reflector (the packet format is in controller/links/monitor.h). Runs on
// its own thread once configured from a Welcome, and keeps probing while
// the stream is down, so the controller can tell a cut link from a dead
// agent and the agent can measure the link when it comes back.

#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

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
  void Configure(const std::string& host, int port, const std::string& key, std::chrono::milliseconds interval);
  ProbeWindow Window() const;

 private:
  void Loop();
  bool OpenSocket();
  void Send(int64_t mono);
  void Receive();

  std::string agent_id_;
  int64_t window_nanos_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool configured_ = false;
  bool reopen_ = false;
  std::string host_;
  int port_ = 0;
  std::string key_;
  std::chrono::milliseconds interval_{200};
  std::thread thread_;
  // Guarded by mu_.
  int fd_ = -1;
  sockaddr_storage target_{};
  socklen_t target_len_ = 0;
  uint32_t next_seq_ = 0;
  std::map<uint32_t, int64_t> sent_;                 // seq -> monotonic send time
  std::deque<std::pair<int64_t, bool>> outcomes_;    // (send time, answered), in send order
  std::deque<std::pair<int64_t, double>> rtts_;      // (send time, rtt ms), in send order
};

}  // namespace rampart::ship::detail
