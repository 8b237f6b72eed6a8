#pragma once
// controller/dispatch: hands new alerts and link changes from the store to
// whoever must hear of them, the notifier's routing (the SOC's SIEM, the
// IOC's webhook, email) and the web UI's live feed, on a thread of its own,
// so the store's writer never waits on them. It runs whether or not the web
// UI does.
//
//   auto dispatcher = Dispatcher::Start({}, store);
//   (*dispatcher)->AddConsumer(&feed);        // the web's live feed
//   NotifierConsumer to_targets(*notifier);   // notify routing
//   (*dispatcher)->AddConsumer(&to_targets);
//   ...
//   (*dispatcher)->Stop();                    // delivers what is queued first
//
// Threads: the store calls the subscriptions on its writer threads (new
// alerts) and on the thread that recorded a link change (controller/links'
// evaluator); they only queue. The queue is bounded: beyond
// Options::max_queued items, new ones are dropped, counted and logged (slow
// targets cost memory, never the writer's time). The dispatcher thread
// calls every consumer, in the order they were added, for each item, in the
// order items were queued. All methods are thread-safe.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/status/status.h"

namespace rampart::controller_store {
class Store;
struct EventRecord;
struct LinkChange;
}  // namespace rampart::controller_store

namespace rampart::dispatch {

// Someone who hears of every new alert and link change. Called on the
// dispatcher thread only, one call at a time; a slow consumer delays the
// ones after it (and the queue), so hand long work to a thread of its own.
class Consumer {
 public:
  virtual ~Consumer() = default;
  virtual void OnAlert(const controller_store::EventRecord& alert) = 0;
  virtual void OnLinkChange(const controller_store::LinkChange& change) = 0;
};

struct Options {
  // Items queued before new ones are dropped: bounds memory when a consumer
  // is slow (a notification target that fsyncs per alert, under a storm).
  size_t max_queued = 100000;
};

class Dispatcher {
 public:
  // Subscribes to `store` (new alerts, link and agent state changes) and
  // starts the dispatcher thread. `store` must outlive the dispatcher.
  static Result<std::unique_ptr<Dispatcher>> Start(const Options& options, controller_store::Store& store);
  // Stop()s.
  virtual ~Dispatcher() = default;

  // Adds `consumer` for every item dispatched from now on. It must stay
  // alive until RemoveConsumer() or Stop() returned.
  virtual void AddConsumer(Consumer* consumer) = 0;
  // After this returns the consumer is not called again (waits while it is
  // being called; never call it from a consumer).
  virtual void RemoveConsumer(Consumer* consumer) = 0;
  // Items dropped because the queue was full, since start.
  virtual uint64_t dropped() const = 0;
  // Cancels the subscriptions, hands every queued item to the consumers and
  // ends the thread. Idempotent.
  virtual void Stop() = 0;
};

}  // namespace rampart::dispatch
