#pragma once
// TLS (and SSLv3) handshakes in clear: records reassembled across segments,
// handshake messages across records; ClientHello (versions, SNI, JA3),
// ServerHello (negotiated version, JA3S), the server's certificate chain
// (subject, issuer, serial, SHA-1 fingerprint, validity of the leaf) while
// it is still sent in clear (TLS <= 1.2). SSLv2-compatible ClientHellos are
// recognised. Encrypted data is skipped, never buffered.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace rampart::applayer {

struct TlsInfo {
  uint8_t progress = 0;     // sensor::kTls* bits.
  uint8_t progressed = 0;   // Bits reached during the current call.
  bool logged = false;      // The EVE record was written.
  bool sslv2_hello = false;
  uint16_t record_version = 0;
  uint16_t client_version = 0;  // ClientHello legacy_version.
  uint16_t server_version = 0;  // Negotiated (supported_versions, else ServerHello's version).
  std::string sni;
  std::string ja3_string;
  std::string ja3_hash;
  std::string ja3s_string;
  std::string ja3s_hash;
  std::vector<uint8_t> client_random;
  std::vector<uint8_t> server_random;  // The ServerHello's (tls.random to the client).
  std::vector<uint8_t> session_id;
  std::vector<uint8_t> cert_der;  // Leaf certificate.
  std::string cert_subject;
  std::string cert_issuer;
  std::string cert_serial;
  std::string cert_fingerprint;
  int64_t cert_not_before = 0;
  int64_t cert_not_after = 0;
  uint32_t cert_count = 0;
  bool ccs_seen[2] = {false, false};
  bool appdata_seen[2] = {false, false};
};

// "TLS 1.2", "TLS 1.3", "TLSv1", "SSLv3", ... as Suricata prints versions.
std::string TlsVersionName(uint16_t version);

// App-layer events, named as Suricata's tls.* events.
enum class TlsEvent : uint8_t {
  kInvalidRecordType,
  kInvalidRecordVersion,
  kInvalidHandshakeMessage,
  kInvalidCertificate,
  kCertificateInvalidLength,  // A DER element header cut short in the leaf certificate.
  kInvalidSniLength,
  kMultipleSniExtensions,
  kInvalidSslRecord,
  kCount
};
const char* TlsEventName(TlsEvent e);

class TlsParser {
 public:
  TlsParser() = default;

  // Feeds in-order bytes of direction `dir` (0 = client to server).
  // *progressed is set when TlsInfo::progress gained a bit.
  void Feed(int dir, const uint8_t* data, size_t len, bool gap, bool* progressed, std::vector<TlsEvent>* events);

  TlsInfo& info() { return info_; }
  const TlsInfo& info() const { return info_; }

 private:
  struct Direction {
    bool failed = false;
    bool started = false;
    uint8_t header[5];
    size_t header_len = 0;
    uint8_t record_type = 0;
    uint32_t record_left = 0;  // Body bytes of the current record still to come.
    std::vector<uint8_t> handshake;  // Handshake bytes awaiting a complete message.
    bool skip_handshake = false;     // Handshake now encrypted (TLS 1.3 after ServerHello, or after CCS).
  };

  void Record(int dir, const uint8_t* data, size_t len, std::vector<TlsEvent>* events);
  void Handshake(int dir, std::vector<TlsEvent>* events);
  void ClientHello(const uint8_t* b, size_t n, std::vector<TlsEvent>* events);
  void ServerHello(const uint8_t* b, size_t n);
  void Certificate(const uint8_t* b, size_t n, std::vector<TlsEvent>* events);
  void Progress(uint8_t bits);
  bool Sslv2Hello(int dir, const uint8_t* data, size_t len);

  TlsInfo info_;
  Direction dir_[2];
  uint8_t progressed_now_ = 0;
};

// Parses a ClientHello handshake body (after the 4-byte handshake header)
// into the client fields of *info (versions, SNI, JA3, random, session id).
// False when it is too short or malformed to describe.
bool ParseClientHello(const uint8_t* body, size_t len, TlsInfo* info, std::vector<TlsEvent>* events);

// Parses a DER certificate into the TlsInfo certificate fields (OpenSSL).
// False when the bytes are not a certificate.
bool ParseCertificate(const uint8_t* der, size_t len, TlsInfo* info);
// Whether the DER header of a certificate, or of the first element inside
// it, is cut short (for the event a certificate that does not parse raises).
bool DerHeaderCut(const uint8_t* der, size_t n);

}  // namespace rampart::applayer
