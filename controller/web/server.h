#pragma once
// The controller's HTTPS server (Boost.Beast over OpenSSL): serves requests
// through one handler and keeps WebSocket feeds open for live updates.
//
// TLS 1.2 and 1.3 only, forward-secret AEAD cipher suites only, server
// cipher order, no compression or renegotiation. Every response carries
// Strict-Transport-Security, a strict Content-Security-Policy and the usual
// hardening headers. Beast and Asio stay inside server.cc.
//
// Threads: Start() spawns `threads` I/O threads that call the handler and the
// authorizer concurrently; both must be thread-safe. Publish() may be called
// from any thread and never blocks (slow feed clients are disconnected).

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>

#include "common/status/status.h"
#include "controller/web/http.h"

namespace rampart::web {

struct ServerOptions {
  std::string address = "0.0.0.0";  // Listen address; "127.0.0.1" keeps it local.
  uint16_t port = 8443;              // 0 picks a free port (tests); see port().
  std::string cert_file;             // PEM chain (server certificate first).
  std::string key_file;              // PEM private key (0600).
  int threads = 4;                   // I/O threads; handlers run on them.
  // HSTS max-age. Browsers then refuse plain HTTP to this host for that long.
  std::chrono::seconds hsts_max_age{365 * 24 * 3600};
  size_t max_body_bytes = 1 << 20;   // Larger request bodies get 413.
  std::chrono::seconds idle_timeout{60};  // Idle keep-alive connections close.
  size_t max_connections = 1024;     // Beyond this, new connections are closed at once.
  size_t max_feed_backlog = 1000;    // Messages queued for one feed client before it is dropped.
};

// One message for the live feed. `site` lets each client's filter keep
// what its user may see.
struct FeedMessage {
  std::string site;
  std::string json;
};

using RequestHandler = std::function<HttpResponse(const HttpRequest&)>;
using FeedFilter = std::function<bool(const FeedMessage&)>;
// Decides whether an upgrade request may open a feed: the client's filter,
// or the response that refuses it (401, 403).
using FeedAuthorizer = std::function<std::expected<FeedFilter, HttpResponse>(const HttpRequest&)>;

class HttpsServer {
 public:
  // kInvalidArgument for unreadable certificate or key; kUnavailable when
  // the address cannot be bound (port taken).
  static Result<std::unique_ptr<HttpsServer>> Start(const ServerOptions& options, RequestHandler handler,
                                                    FeedAuthorizer authorizer);
  virtual ~HttpsServer() = default;

  virtual uint16_t port() const = 0;
  virtual void Publish(FeedMessage message) = 0;
  virtual size_t feed_clients() const = 0;
  // Closes the listener and every connection, joins the threads. Idempotent.
  virtual void Stop() = 0;
};

// The security headers every response carries (exposed for tests).
std::vector<std::pair<std::string, std::string>> SecurityHeaders(std::chrono::seconds hsts_max_age);

}  // namespace rampart::web
