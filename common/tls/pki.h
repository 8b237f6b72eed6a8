#pragma once
// PKI on OpenSSL 3: the controller's CA issues every agent and server
// certificate. Keys are ECDSA P-256 (fast handshakes on small agency
// servers, supported by every TLS 1.2/1.3 peer). Everything crosses this API
// as PEM text, so no OpenSSL type leaks into callers.
//
// Thread-safe: every function works on its own objects.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status/status.h"

namespace rampart::tls {

// A new ECDSA P-256 private key, PKCS#8 PEM. Treat as secret (WriteSecretFile).
Result<std::string> GeneratePrivateKeyPem();

struct Subject {
  std::string common_name;                // CN; for agents, the agent id.
  std::string organization = "Rampart";   // O.
  std::vector<std::string> dns_names;     // subjectAltName DNS entries.
  std::vector<std::string> ip_addresses;  // subjectAltName IP entries ("127.0.0.1", "::1").
};

// A PKCS#10 request for `key_pem`'s public key, signed by that key.
Result<std::string> CreateCsrPem(const std::string& key_pem, const Subject& subject);

struct CertificateAuthority {
  std::string certificate_pem;
  std::string key_pem;  // Secret.
};

// A self-signed CA certificate (basicConstraints CA:TRUE, pathlen 0, keyCertSign).
Result<CertificateAuthority> CreateCertificateAuthority(const std::string& common_name,
                                                        std::chrono::seconds validity);

enum class Usage {
  kClient,  // extendedKeyUsage clientAuth: agents.
  kServer,  // serverAuth: the controller's gRPC and HTTPS ports.
  kClientAndServer,
};

struct SignOptions {
  Usage usage = Usage::kClient;
  std::chrono::seconds validity = std::chrono::hours(24 * 90);
  // Start of validity, Unix seconds; 0 means five minutes ago (clock skew).
  int64_t not_before_unix_seconds = 0;
  // When set, replaces the CSR's CN (the controller decides agent identity).
  std::string common_name;
  // When non-empty, replace the CSR's SANs.
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  // CRL distribution points (URIs) written into the certificate; empty: none.
  std::vector<std::string> crl_urls;
};

// Checks the CSR's self-signature, then issues a certificate signed by `ca`
// with a random 128-bit serial. kInvalidArgument for a malformed or
// badly signed CSR.
Result<std::string> SignCsr(const CertificateAuthority& ca, const std::string& csr_pem,
                            const SignOptions& options);

// A CRL signed by `ca` listing `revoked_serials_hex` (as CertificateInfo
// prints serials), valid from now for `validity`, as PEM.
Result<std::string> CreateCrlPem(const CertificateAuthority& ca, const std::vector<std::string>& revoked_serials_hex,
                                 std::chrono::seconds validity);

// Verifies `certificate_pem` against the single trusted `ca_pem`, at time
// `at_unix_seconds` (0 = now), for `usage`. kUnauthenticated with OpenSSL's
// reason ("certificate has expired", "certificate signature failure", ...).
Status VerifyCertificate(const std::string& certificate_pem, const std::string& ca_pem,
                         int64_t at_unix_seconds = 0, Usage usage = Usage::kClient);

struct CertificateInfo {
  std::string subject_cn;
  std::string issuer_cn;
  std::string serial_hex;
  int64_t not_before_unix_seconds = 0;
  int64_t not_after_unix_seconds = 0;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  std::string sha256;  // Fingerprint of the DER encoding, lower-case hex.
  bool is_ca = false;
};

Result<CertificateInfo> InspectCertificate(const std::string& certificate_pem);
// The CN a CSR asks for (before the CA overrides it).
Result<std::string> CsrCommonName(const std::string& csr_pem);

// SHA-256 of the certificate's DER encoding, lower-case hex without
// separators: what `rampart-agent enroll --ca-sha256` pins.
Result<std::string> CertificateSha256(const std::string& certificate_pem);
// The same fingerprint as `openssl x509 -fingerprint -sha256` prints it
// ("AB:CD:..."), accepted too by ParseFingerprint.
std::string FormatFingerprint(std::string_view hex);
// Normalises "AB:CD:..." or "abcd..." to lower-case hex; kInvalidArgument
// unless it is 32 bytes.
Result<std::string> ParseFingerprint(std::string_view text);

// Whether `key_pem` is the private key of `certificate_pem`.
Result<bool> KeyMatchesCertificate(const std::string& key_pem, const std::string& certificate_pem);

// Detached ECDSA-SHA256 signatures, for signed rule bundles and policies.
Result<std::string> SignData(const std::string& key_pem, std::string_view data);
// kUnauthenticated when the signature does not match the certificate's key.
Status VerifyData(const std::string& certificate_pem, std::string_view data, std::string_view signature);

}  // namespace rampart::tls
