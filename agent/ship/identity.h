#pragma once
// The agent's identity: its key (0600), the certificate the controller's CA
// issued at enrolment, the CA certificate it pins, and where the controller
// is. Kept under DATA_DIR:
//
//   pki/agent.key  pki/agent.crt  pki/ca.crt  enrolment.json
//
// Enrolment (`rampart-agent enroll --controller HOST:PORT --token T
// --ca-sha256 FP`): fetch the controller's CA over TLS without trusting it
// yet, accept it only if its SHA-256 is FP, then, over TLS verified against
// that CA, trade the one-time token and a CSR for a certificate. The private
// key never leaves the agent. Renewal replaces key and certificate over the
// agent's own mTLS identity before the certificate expires.
//
// Thread-safe (no shared state); files are written atomically.

#include <cstdint>
#include <string>

#include "common/status/status.h"

namespace rampart::ship {

struct Identity {
  std::string agent_id;
  std::string site;
  std::string controller;     // HOST:PORT given at enrolment.
  std::string server_name;    // Name checked in the controller's certificate; empty: the host part.
  std::string key_pem;        // Secret.
  std::string certificate_pem;
  std::string ca_pem;
  int64_t not_before_unix_seconds = 0;
  int64_t not_after_unix_seconds = 0;
};

struct EnrollOptions {
  std::string controller;   // HOST:PORT of the agent port.
  std::string token;        // From `rampartctl token create`.
  std::string ca_sha256;    // The controller CA's fingerprint (hex, colons allowed).
  std::string data_dir;
  std::string hostname;     // Shown in the controller; default: this host's name.
  std::string server_name;  // When the certificate names the controller differently from HOST.
  std::string version;      // This agent's version line.
  int timeout_seconds = 30;
};

// kPermissionDenied when the CA's fingerprint differs from the pin (do not
// proceed: something answers in the controller's place); kUnauthenticated
// for a refused token; kUnavailable when the controller cannot be reached;
// kAlreadyExists when DATA_DIR already holds an identity (remove
// DATA_DIR/pki to enrol again).
Result<Identity> Enroll(const EnrollOptions& options);

// kNotFound when the agent is not enrolled; kPermissionDenied when the key
// is readable by others; kInvalidArgument when the files do not belong together.
Result<Identity> LoadIdentity(const std::string& data_dir);

// Whether the certificate is in the last third of its validity at `now`.
bool RenewalDue(const Identity& identity, int64_t now_unix_seconds);

// Saves a renewed key and certificate (atomically, key first).
Status SaveRenewed(const std::string& data_dir, Identity& identity, const std::string& key_pem,
                   const std::string& certificate_pem);

// "host:port" split; kInvalidArgument when there is no port. IPv6 in brackets.
Result<std::pair<std::string, int>> SplitHostPort(const std::string& address);

}  // namespace rampart::ship
