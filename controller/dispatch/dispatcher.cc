#include "controller/dispatch/dispatcher.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <thread>
#include <variant>
#include <vector>

#include "common/log/log.h"
#include "common/util/clock.h"
#include "common/util/mutex.h"
#include "controller/store/store.h"

namespace rampart::dispatch {
namespace {

namespace cs = controller_store;

constexpr int64_t kDropLogEveryNanos = 10'000'000'000;

class DispatcherImpl final : public Dispatcher {
 public:
  DispatcherImpl(const Options& options, cs::Store& store) : options_(options), store_(store) {}
  ~DispatcherImpl() override { Stop(); }

  void Init() EXCLUDES(queue_mu_) {
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "dispatch");
      Loop();
    });
    alerts_ = store_.Subscribe({.kinds = {cs::EventKind::kAlert}}, [this](const cs::EventRecord& r) {
      Enqueue(Item{r});
    });
    links_ = store_.SubscribeLinkChanges([this](const cs::LinkChange& c) { Enqueue(Item{c}); });
  }

  void AddConsumer(Consumer* consumer) override EXCLUDES(consumers_mu_) {
    MutexLock lock(&consumers_mu_);
    consumers_.push_back(consumer);
  }

  void RemoveConsumer(Consumer* consumer) override EXCLUDES(consumers_mu_) {
    MutexLock lock(&consumers_mu_);
    std::erase(consumers_, consumer);
  }

  uint64_t dropped() const override { return dropped_.load(); }

  void Stop() override EXCLUDES(queue_mu_) {
    alerts_.Cancel();
    links_.Cancel();
    {
      MutexLock lock(&queue_mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    queue_cv_.SignalAll();
    if (thread_.joinable()) thread_.join();
  }

 private:
  using Item = std::variant<cs::EventRecord, cs::LinkChange>;

  // On the store's threads: queue and return.
  void Enqueue(Item item) EXCLUDES(queue_mu_) {
    {
      MutexLock lock(&queue_mu_);
      if (queue_.size() >= options_.max_queued) {
        ++dropped_;
        return;
      }
      queue_.push_back(std::move(item));
    }
    queue_cv_.Signal();
  }

  // Waits for items; false once stopping with nothing left to deliver.
  bool Take(std::deque<Item>* batch) EXCLUDES(queue_mu_) {
    MutexLock lock(&queue_mu_);
    while (!stopping_ && queue_.empty()) queue_cv_.Wait(&queue_mu_);
    if (queue_.empty()) return false;
    batch->swap(queue_);
    return true;
  }

  void Loop() EXCLUDES(queue_mu_, consumers_mu_) {
    int64_t last_drop_log = 0;
    std::deque<Item> batch;
    while (Take(&batch)) {
      const uint64_t dropped = dropped_.load();
      if (dropped && MonotonicNanos() - last_drop_log > kDropLogEveryNanos) {
        log::Warn("dispatch", "events dropped from the feed and notification queue", {{"dropped_total", dropped}});
        last_drop_log = MonotonicNanos();
      }
      MutexLock lock(&consumers_mu_);
      for (const Item& item : batch) {
        for (Consumer* c : consumers_) {
          if (const auto* alert = std::get_if<cs::EventRecord>(&item)) {
            c->OnAlert(*alert);
          } else {
            c->OnLinkChange(std::get<cs::LinkChange>(item));
          }
        }
      }
      batch.clear();
    }
  }

  const Options options_;
  cs::Store& store_;
  cs::Subscription alerts_, links_;
  std::thread thread_;

  Mutex queue_mu_;
  CondVar queue_cv_;
  std::deque<Item> queue_ GUARDED_BY(queue_mu_);
  bool stopping_ GUARDED_BY(queue_mu_) = false;
  std::atomic<uint64_t> dropped_{0};

  // Held while consumers are called, so RemoveConsumer waits for them.
  Mutex consumers_mu_;
  std::vector<Consumer*> consumers_ GUARDED_BY(consumers_mu_);
};

}  // namespace

Result<std::unique_ptr<Dispatcher>> Dispatcher::Start(const Options& options, cs::Store& store) {
  if (options.max_queued == 0) return InvalidArgumentError("dispatch max_queued must be at least 1");
  auto d = std::make_unique<DispatcherImpl>(options, store);
  d->Init();
  return std::unique_ptr<Dispatcher>(std::move(d));
}

}  // namespace rampart::dispatch
