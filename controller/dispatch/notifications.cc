#include "controller/dispatch/notifications.h"

#include <algorithm>

#include "common/log/log.h"
#include "common/util/ids.h"
#include "controller/store/store.h"

namespace rampart::dispatch {

namespace cs = controller_store;

notify::Notification NotificationOf(const cs::EventRecord& r) {
  const auto& s = r.summary;
  notify::Notification n;
  n.kind = notify::Notification::Kind::kAlert;
  n.id = s.id.ToString();
  n.time_nanos = s.observed_unix_nanos;
  n.severity = std::clamp(static_cast<int>(s.severity), 1, 4);
  n.site = s.site;
  n.agent = s.agent_name.empty() ? s.id.agent_id : s.agent_name;
  n.signature = s.signature;
  n.signature_id = s.signature_id;
  n.category = s.category;
  n.src_ip = s.src_ip;
  n.src_port = s.src_port;
  n.dest_ip = s.dest_ip;
  n.dest_port = s.dest_port;
  n.proto = s.proto;
  n.eve_json = r.eve_json;
  return n;
}

notify::Notification NotificationOf(const cs::LinkChange& c) {
  notify::Notification n;
  n.kind = notify::Notification::Kind::kLink;
  n.id = c.event.agent_id.empty() ? NewUuidV7(c.at_unix_nanos) : c.event.ToString();
  n.time_nanos = c.at_unix_nanos;
  n.site = c.site;
  n.agent = c.agent_id;
  n.link = c.agent_id.empty() ? c.site : c.agent_id;
  n.link_state = std::string(c.agent_id.empty() ? registry::LinkStateName(c.to_link)
                                                : registry::AgentStateName(c.to_agent));
  n.severity = (n.link_state == "down" || n.link_state == "unreachable") ? 2 : 3;
  n.signature = (c.agent_id.empty() ? "WAN link " : "Agent ") + n.link + " " + n.link_state +
                (c.reason.empty() ? "" : ": " + c.reason);
  return n;
}

void NotifierConsumer::OnAlert(const cs::EventRecord& alert) { Submit(NotificationOf(alert)); }

void NotifierConsumer::OnLinkChange(const cs::LinkChange& change) { Submit(NotificationOf(change)); }

void NotifierConsumer::Submit(const notify::Notification& n) {
  if (auto s = notifier_.Submit(n); !s) {
    log::Error("dispatch", "cannot queue notification", {{"id", n.id}, {"error", s.error()}});
  }
}

}  // namespace rampart::dispatch
