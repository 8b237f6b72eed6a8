#pragma once
// controller/fleet: enrolment and identity. Sites (agencies) own tokens and
// agents; a one-time token (stored only as its SHA-256, bound to a site,
// expiring) buys an agent a certificate from the controller's CA, whose CN
// is the agent id the controller assigns: the only identity ingest believes.
// Revocation refuses the agent at its next call and ends its live stream.
//
//   auto fleet = Fleet::Open({.pki_dir = dir + "/pki"}, registry);
//   auto token = (*fleet)->CreateToken({.site = "so-tai-chinh", .create_site = true});
//   ...agent: rampart-agent enroll --token ...
//   (*fleet)->Revoke("a-1f2e...", "laptop stolen");
//
// Thread-safe: every method may be called from any thread (gRPC callback
// threads, the admin socket).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status/status.h"
#include "common/util/clock.h"
#include "controller/registry/registry.h"

namespace rampart::fleet {

struct Options {
  // Holds ca.crt, ca.key (0600), server.crt, server.key (0600), as made by
  // `rampartctl pki init`.
  std::string pki_dir;
  // Default token lifetime; a shorter one narrows the window for a leaked token.
  std::chrono::seconds token_ttl{24 * 3600};
  // Agent certificates' validity. Agents renew when a third is left, so a
  // shorter validity limits a stolen key's use at the cost of more renewals.
  std::chrono::seconds agent_certificate_validity{90 * 24 * 3600};
  const Clock* clock = &SystemClock();
};

struct TokenRequest {
  std::string site;
  std::chrono::seconds ttl{0};  // 0: Options::token_ttl.
  bool create_site = false;     // Create the site when missing.
  std::string created_by = "rampartctl";
};

struct CreatedToken {
  std::string token;  // Shown once; only its SHA-256 is stored.
  std::string site;
  int64_t expires_unix_nanos = 0;
};

struct Enrolled {
  std::string agent_id;
  std::string site;
  std::string certificate_pem;
  int64_t not_after_unix_seconds = 0;
};

struct Peer {
  std::string agent_id;  // The verified client certificate's CN.
  std::string serial;    // Its serial, hex.
};

class Fleet {
 public:
  // kNotFound / kPermissionDenied for the PKI files (run `rampartctl pki
  // init`); kPermissionDenied when ca.key or server.key is readable by others.
  static Result<std::unique_ptr<Fleet>> Open(const Options& options, registry::Registry& registry);
  virtual ~Fleet() = default;

  virtual const std::string& ca_pem() const = 0;
  virtual const std::string& ca_sha256() const = 0;  // Lower-case hex: what enroll --ca-sha256 pins.
  virtual const std::string& server_certificate_pem() const = 0;
  virtual const std::string& server_key_pem() const = 0;

  // kNotFound for an unknown site unless create_site; kInvalidArgument for a
  // bad site id or ttl.
  virtual Result<CreatedToken> CreateToken(const TokenRequest& request) = 0;

  // Exchanges a token and a CSR for a certificate. kUnauthenticated for an
  // unknown, used or expired token (one message for all); kInvalidArgument
  // for a malformed or badly signed CSR (the token is then not used up).
  virtual Result<Enrolled> Enroll(const std::string& token, const std::string& csr_pem, const std::string& hostname,
                                  const std::string& version) = 0;
  // A new certificate for an authorized agent's new key.
  virtual Result<Enrolled> Renew(const Peer& peer, const std::string& csr_pem) = 0;

  // OK when the peer may call: enrolled and not revoked. kPermissionDenied
  // ("agent ... is revoked"), kUnauthenticated for an unknown agent id.
  virtual Status Authorize(const Peer& peer) const = 0;

  // Marks the agent revoked (durably) and closes its live streams with
  // `kPermissionDenied`. kNotFound for an unknown agent.
  virtual Status Revoke(const std::string& agent_id, const std::string& reason) = 0;

  // Live streams, so Revoke can end them. `close` is called at most once,
  // from the revoking thread; it must not block. Returns a handle for
  // Unregister.
  virtual uint64_t RegisterStream(const std::string& agent_id, std::function<void(const Status&)> close) = 0;
  virtual void UnregisterStream(uint64_t handle) = 0;
};

// "a-" and 16 hex digits: the ids Enroll assigns.
std::string NewAgentId();

}  // namespace rampart::fleet
