#pragma once
// Alert routing: rules pick which new alerts and link changes go to which
// targets, and each target delivers from its own durable outbox.
//
// Targets: email over SMTP with STARTTLS (libcurl; bilingual text + HTML;
// after `digest_after` alerts in `digest_window` the rest of the window goes
// out as one digest), the IOC webhook (HTTPS POST of JSON with an
// HMAC-SHA256 signature, a timestamp and an idempotency key), and the SOC's
// SIEM (syslog RFC 5424 over TLS per RFC 5425, carrying CEF or ECS JSON).
//
// Durability: Submit() returns once the message is in the target's outbox in
// RocksDB (synced). A worker thread per target delivers in order and deletes
// a message only after the target accepted it (SMTP 250, HTTP 2xx, syslog:
// the connection stayed healthy past the settle window); failures are
// retried with exponential backoff, forever, and recorded for the failures
// view. Every message carries an idempotency key (Message-ID, the
// Idempotency-Key header, CEF externalId / ECS event.id).
//
// Thread-safe. Submit() may be called from any thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status/status.h"
#include "common/util/clock.h"

namespace rampart::config {
class Section;
}

namespace rampart::notify {

// What routing looks at: a new alert, or a change of a WAN link's state.
struct Notification {
  enum class Kind { kAlert, kLink };
  Kind kind = Kind::kAlert;
  std::string id;          // Unique per alert / link change: the base of idempotency keys.
  int64_t time_nanos = 0;
  int severity = 3;        // 1 (critical) .. 4 (low); link down counts as 2.
  std::string site;        // Agency.
  std::string agent;
  std::string signature;   // Alert: the rule's msg. Link: "link <name> down".
  uint64_t signature_id = 0;
  std::string category;
  std::string src_ip, dest_ip;
  uint32_t src_port = 0, dest_port = 0;
  std::string proto;
  std::string link;        // Link changes: link name and its new state ("up", "degraded", "down").
  std::string link_state;
  std::string eve_json;    // Alerts: the EVE record as the agent wrote it (may be empty).
};

struct RouteRule {
  std::string name;
  bool alerts = true;                    // Match alerts...
  bool links = false;                    // ...and/or link changes.
  int max_severity = 4;                  // Alerts with severity <= this (1 = critical only).
  std::vector<std::string> sites;        // Empty: every site.
  std::string signature_contains;        // Case-insensitive substring; empty: any.
  std::vector<std::string> link_states;  // Empty: every state.
  std::vector<std::string> targets;      // Target names.
};

struct EmailTarget {
  std::string url;             // "smtp://mail.example.vn:587" (STARTTLS is required).
  std::string from;
  std::vector<std::string> to;
  std::string username;        // Empty: no SMTP AUTH.
  std::string password_file;   // 0600 file holding the password.
  std::string ca_file;         // Trust for the server certificate; empty: system store.
  int digest_after = 5;        // Individual emails per window; the rest go in one digest.
  std::chrono::milliseconds digest_window{5 * 60 * 1000};
};

struct WebhookTarget {
  std::string url;             // "https://ioc.example.vn/hooks/rampart".
  std::string secret_file;     // 0600 file holding the HMAC key.
  std::string ca_file;
};

struct SyslogTarget {
  std::string host;
  uint16_t port = 6514;        // RFC 5425.
  std::string ca_file;
  std::string server_name;     // Certificate name to verify; default: host.
  std::string format = "cef";  // "cef" or "ecs".
  // A write counts as delivered once the connection stayed healthy this long
  // after it (syslog has no acknowledgement; see docs/COMPATIBILITY.md).
  std::chrono::milliseconds settle{200};
};

struct TargetConfig {
  std::string name;
  std::string kind;  // "email", "webhook", "syslog".
  EmailTarget email;
  WebhookTarget webhook;
  SyslogTarget syslog;
  std::chrono::milliseconds initial_backoff{1000};  // Doubles per failure...
  std::chrono::milliseconds max_backoff{60 * 1000};  // ...up to this.
  std::chrono::milliseconds timeout{10 * 1000};      // Per delivery attempt.
};

struct Options {
  std::string path;  // RocksDB directory for outboxes (created when missing).
  std::vector<TargetConfig> targets;
  std::vector<RouteRule> routes;
  std::string controller_name = "rampart";  // Syslog HOSTNAME and email footer.
  std::string ui_url;                        // Links in emails ("https://rampart.example.vn:8443").
  const Clock* clock = &SystemClock();
};

// Reads `notify:` (targets and routes) from the controller's config.
void ReadOptions(config::Section section, Options* out);
// Checks names, kinds, URLs and that every route names known targets.
Status Validate(const Options& options);

struct TargetStats {
  std::string name;
  std::string kind;
  uint64_t pending = 0;    // In the outbox now.
  uint64_t held_for_digest = 0;
  uint64_t delivered = 0;  // Since start.
  uint64_t failures = 0;   // Failed attempts since start.
  std::string last_error;  // Empty once a delivery succeeds again.
  int64_t last_error_nanos = 0;
  int64_t last_delivered_nanos = 0;
};

struct FailedAttempt {
  std::string target;
  std::string message_id;
  int64_t time_nanos = 0;
  int attempt = 0;
  std::string error;
};

class Notifier {
 public:
  // kInvalidArgument for bad options; kUnavailable when the outbox database
  // is locked. Starts one delivery thread per target.
  static Result<std::unique_ptr<Notifier>> Start(const Options& options);
  virtual ~Notifier() = default;

  // Routes `n` and stores it in the outbox (or digest) of each matching
  // target. Returns how many targets took it.
  virtual Result<int> Submit(const Notification& n) = 0;
  virtual std::vector<TargetStats> Stats() const = 0;
  // The most recent failed attempts, newest first (persisted, last 1000 per target).
  virtual std::vector<FailedAttempt> Failures(size_t limit) const = 0;
  virtual const std::vector<RouteRule>& routes() const = 0;
  // Stops the workers (undelivered messages stay in the outbox). Idempotent.
  virtual void Stop() = 0;
};

// Whether a rule matches (exposed for tests).
bool Matches(const RouteRule& rule, const Notification& n);

}  // namespace rampart::notify
