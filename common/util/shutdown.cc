#include "common/util/shutdown.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "common/util/mutex.h"

namespace rampart {
namespace {

Mutex g_mu;
CondVar g_cv;
// Atomic so ShutdownRequested() reads it without the lock; written under
// g_mu so a waiter cannot miss the wake-up.
std::atomic<bool> g_requested{false};
std::function<void()> g_reload GUARDED_BY(g_mu);

void Watch(sigset_t set) {
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      std::function<void()> reload;
      {
        MutexLock lock(&g_mu);
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
    MutexLock lock(&g_mu);
    g_requested.store(true);
  }
  g_cv.SignalAll();
}

bool WaitForShutdown(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock lock(&g_mu);
  while (!g_requested.load()) {
    if (!g_cv.WaitUntil(&g_mu, deadline)) return g_requested.load();
  }
  return true;
}

void WaitForShutdown() {
  MutexLock lock(&g_mu);
  while (!g_requested.load()) g_cv.Wait(&g_mu);
}

void SetReloadCallback(std::function<void()> callback) {
  MutexLock lock(&g_mu);
  g_reload = std::move(callback);
}

}  // namespace rampart
