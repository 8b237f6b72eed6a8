#include "common/util/shutdown.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace rampart {
namespace {

std::mutex g_mu;
std::condition_variable g_cv;
std::atomic<bool> g_requested{false};
std::function<void()> g_reload;  // Guarded by g_mu.

void Watch(sigset_t set) {
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      std::function<void()> reload;
      {
        std::lock_guard lock(g_mu);
        reload = g_reload;
      }
      if (reload) reload();
      continue;
    }
    const bool second = g_requested.load();
    RequestShutdown();
    // A second Ctrl-C while stopping means "now": restore the default action.
    if (second) {
      signal(sig, SIG_DFL);
      pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
      raise(sig);
    }
  }
}

}  // namespace

void InstallShutdownHandling() {
  static std::once_flag once;
  std::call_once(once, [] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    // Writes to a closed socket or pipe must fail with EPIPE, not kill us.
    signal(SIGPIPE, SIG_IGN);
    std::thread(Watch, set).detach();
  });
}

bool ShutdownRequested() { return g_requested.load(); }

void RequestShutdown() {
  {
    std::lock_guard lock(g_mu);
    g_requested.store(true);
  }
  g_cv.notify_all();
}

bool WaitForShutdown(std::chrono::milliseconds timeout) {
  std::unique_lock lock(g_mu);
  return g_cv.wait_for(lock, timeout, [] { return g_requested.load(); });
}

void WaitForShutdown() {
  std::unique_lock lock(g_mu);
  g_cv.wait(lock, [] { return g_requested.load(); });
}

void SetReloadCallback(std::function<void()> callback) {
  std::lock_guard lock(g_mu);
  g_reload = std::move(callback);
}

}  // namespace rampart
