#include "agent/ship/prober.h"

#include <pthread.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <random>

#include "common/probe/link_probe.h"
#include "common/util/clock.h"
#include "common/util/mutex.h"

namespace rampart::ship::detail {

Prober::Prober(std::string agent_id, std::chrono::milliseconds window)
    : agent_id_(std::move(agent_id)), window_nanos_(window.count() * 1'000'000) {
  // A random start, so a restarted agent's sequence is not mistaken for a replay.
  std::random_device rd;
  next_seq_ = rd() & 0x7fffffff;
}

Prober::~Prober() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.SignalAll();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void Prober::Configure(const std::string& host, int port, const std::string& key,
                       std::chrono::milliseconds interval) {
  MutexLock lock(&mu_);
  if (host != host_ || port != port_) reopen_ = true;
  host_ = host;
  port_ = port;
  key_ = key;
  interval_ = std::max(interval, std::chrono::milliseconds(20));
  configured_ = port > 0 && !key.empty() && agent_id_.size() <= 64;
  if (configured_ && !thread_.joinable()) thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "ship-probe");
      Loop();
    });
  cv_.SignalAll();
}

bool Prober::OpenSocket() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(port_);
  if (getaddrinfo(host_.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) return false;
  // Not connected: a multi-homed controller may answer from another of its
  // addresses than the one probed. Replies are authenticated by their MAC.
  fd_ = ::socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ >= 0) {
    std::memcpy(&target_, res->ai_addr, res->ai_addrlen);
    target_len_ = res->ai_addrlen;
  }
  freeaddrinfo(res);
  return fd_ >= 0;
}

void Prober::Send(int64_t mono) {
  uint8_t buf[link_probe::kMaxPacketSize];
  const uint32_t seq = next_seq_++;
  const size_t size = link_probe::EncodeRequest(key_, agent_id_, seq, WallNanos(), buf);
  if (size == 0) return;
  // A send error (no route while the link is cut) is a lost probe like any other.
  (void)::sendto(fd_, buf, size, MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&target_),
                 target_len_);
  sent_[seq] = mono;
  outcomes_.emplace_back(mono, false);
}

void Prober::Receive() {
  uint8_t buf[512];
  while (true) {
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    if (n <= 0) return;
    const int64_t now = MonotonicNanos();
    const auto reply = link_probe::ParseReply(key_, agent_id_, buf, static_cast<size_t>(n));
    if (!reply) continue;
    auto it = sent_.find(reply->sequence);
    if (it == sent_.end()) continue;  // Too old, or answered already.
    const int64_t sent_at = it->second;
    sent_.erase(it);
    const int64_t reflector = reply->reflector_sent - reply->reflector_received;
    int64_t rtt = now - sent_at - std::max<int64_t>(0, reflector);
    if (rtt < 0) rtt = now - sent_at;
    for (auto& o : outcomes_) {
      if (o.first == sent_at) {
        o.second = true;
        break;
      }
    }
    rtts_.emplace_back(sent_at, static_cast<double>(rtt) / 1e6);
  }
}

void Prober::Loop() {
  MutexLock lock(&mu_);
  int64_t next_send = 0;
  while (!stop_) {
    if (!configured_) {
      cv_.WaitFor(&mu_, std::chrono::seconds(1));
      continue;
    }
    if (reopen_ || fd_ < 0) {
      reopen_ = false;
      if (!OpenSocket()) {
        cv_.WaitFor(&mu_, std::chrono::seconds(2));
        reopen_ = true;
        continue;
      }
    }
    const int64_t now = MonotonicNanos();
    if (now >= next_send) {
      Send(now);
      next_send = now + interval_.count() * 1'000'000;
    }
    // Forget what is older than the window (plus a second for late replies).
    const int64_t horizon = now - window_nanos_ - 1'000'000'000;
    while (!outcomes_.empty() && outcomes_.front().first < horizon) outcomes_.pop_front();
    while (!rtts_.empty() && rtts_.front().first < horizon) rtts_.pop_front();
    for (auto it = sent_.begin(); it != sent_.end();) {
      it = it->second < horizon ? sent_.erase(it) : std::next(it);
    }
    const int fd = fd_;
    const int64_t wait = std::max<int64_t>(1, (next_send - MonotonicNanos()) / 1'000'000);
    // Not holding the lock while waiting for a reply: Window() and
    // Configure() come from other threads.
    mu_.Unlock();
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(std::min<int64_t>(wait, 1000)));
    mu_.Lock();
    if (fd_ == fd && (p.revents & POLLIN)) Receive();
  }
}

ProbeWindow Prober::Window() const {
  MutexLock lock(&mu_);
  ProbeWindow w;
  const int64_t now = MonotonicNanos();
  // Probes sent in the window, except the last second's (replies may be on the way).
  const int64_t from = now - window_nanos_ - 1'000'000'000, to = now - 1'000'000'000;
  for (const auto& [at, answered] : outcomes_) {
    if (at < from || at >= to) continue;
    ++w.sent;
    if (answered) ++w.received;
  }
  if (w.sent > 0) w.loss_ratio = 1.0 - static_cast<double>(w.received) / w.sent;
  double sum = 0, jitter = 0, prev = -1;
  uint32_t n = 0, jn = 0;
  for (const auto& [at, rtt] : rtts_) {
    if (at < from) continue;
    sum += rtt;
    ++n;
    if (prev >= 0) {
      jitter += std::fabs(rtt - prev);
      ++jn;
    }
    prev = rtt;
  }
  if (n > 0) w.rtt_ms = sum / n;
  if (jn > 0) w.jitter_ms = jitter / jn;
  return w;
}

}  // namespace rampart::ship::detail
