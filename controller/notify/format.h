#pragma once
// How notifications are rendered for each kind of target. Pure functions,
// no I/O: tested on their own and shared by the delivery workers.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "controller/notify/notify.h"

namespace rampart::notify {

// Severity names as analysts read them.
std::string_view SeverityNameVi(int severity);  // "Nghiêm trọng", "Cao", "Trung bình", "Thấp"
std::string_view SeverityNameEn(int severity);  // "Critical", "High", "Medium", "Low"

struct EmailContext {
  std::string from;
  std::vector<std::string> to;
  std::string message_id;     // Idempotency key; becomes Message-ID <id@rampart>.
  int64_t now_nanos = 0;      // Date header.
  std::string controller;     // Footer.
  std::string ui_url;         // Link to the alert list, when set.
};

// A complete RFC 5322 message (CRLF line ends): multipart/alternative with a
// text part and an HTML part, each Vietnamese first, then English.
std::string RenderAlertEmail(const Notification& n, const EmailContext& ctx);
// One message listing every notification of a window.
std::string RenderDigestEmail(const std::vector<Notification>& items, const EmailContext& ctx);

// The IOC webhook body: {"id", "type", "time", "site", ...}.
std::string RenderWebhookJson(const Notification& n, std::string_view idempotency_key);
// "sha256=" + lower-case hex HMAC-SHA256(key, timestamp + "." + body).
std::string WebhookSignature(std::string_view key, std::string_view timestamp, std::string_view body);

// RFC 5424 message (without the RFC 5425 octet-count frame) carrying CEF
// or ECS JSON as MSG.
std::string RenderSyslog(const Notification& n, std::string_view format, std::string_view hostname,
                         std::string_view idempotency_key);
// The CEF line alone ("CEF:0|Rampart|rampart-controller|...").
std::string RenderCef(const Notification& n, std::string_view idempotency_key);
std::string RenderEcs(const Notification& n, std::string_view idempotency_key);

// Notifications as stored in the outbox.
std::string NotificationToJson(const Notification& n);
bool NotificationFromJson(std::string_view json, Notification* out);

}  // namespace rampart::notify
