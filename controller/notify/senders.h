#pragma once
// Within controller/notify only: the network side of each target kind.
// libcurl and OpenSSL stay in senders.cc.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status/status.h"
#include "controller/notify/notify.h"

namespace rampart::notify::detail {

// Sends one RFC 5322 message over SMTP, STARTTLS required. kUnavailable for
// network and server errors (retry), with the server's reply in the message.
Status SendEmail(const EmailTarget& target, const std::string& password, const std::string& message,
                 std::chrono::milliseconds timeout);

// POSTs `body` with the signature headers; OK only for a 2xx answer.
// Keeps its connection open between posts (HTTP keep-alive), so a burst
// pays for one TLS handshake. One thread at a time.
class WebhookClient {
 public:
  static std::unique_ptr<WebhookClient> Create(const WebhookTarget& target, std::chrono::milliseconds timeout);
  virtual ~WebhookClient() = default;
  virtual Status Post(const std::string& secret, const std::string& body, const std::string& idempotency_key,
                      int64_t now_nanos) = 0;
};

// A TLS connection to a syslog receiver (RFC 5425), reopened as needed.
class SyslogConnection {
 public:
  static std::unique_ptr<SyslogConnection> Create(const SyslogTarget& target, std::chrono::milliseconds timeout);
  virtual ~SyslogConnection() = default;
  // Writes each message with its octet-count frame, then waits the settle
  // time: OK when the receiver neither reset the connection nor left unread
  // data behind. On error nothing may be assumed delivered.
  virtual Status Send(const std::vector<std::string>& messages) = 0;
};

}  // namespace rampart::notify::detail
