#pragma once
// controller/dispatch: the notifier as a consumer. A new alert or a link
// change becomes a notify::Notification (what routing rules look at) and is
// submitted to the notifier, whose Submit() returns once it is in every
// matching target's durable outbox.

#include "controller/dispatch/dispatcher.h"
#include "controller/notify/notify.h"

namespace rampart::dispatch {

// What routing sees of an alert: severity clamped to 1..4, the agent's host
// name (its id when it has none), the EVE record.
notify::Notification NotificationOf(const controller_store::EventRecord& alert);
// A link change: severity 2 for down and unreachable, else 3; "WAN link
// SITE STATE: REASON" or "Agent ID STATE: REASON" as its text.
notify::Notification NotificationOf(const controller_store::LinkChange& change);

class NotifierConsumer final : public Consumer {
 public:
  // `notifier` must outlive the consumer.
  explicit NotifierConsumer(notify::Notifier& notifier) : notifier_(notifier) {}
  void OnAlert(const controller_store::EventRecord& alert) override;
  void OnLinkChange(const controller_store::LinkChange& change) override;

 private:
  void Submit(const notify::Notification& n);
  notify::Notifier& notifier_;
};

}  // namespace rampart::dispatch
