#pragma once
// QUIC (versions 1 and 2, RFC 9000/9001/9369): the client's Initial packets
// are protected with keys anyone can derive from the packet's destination
// connection ID, so the TLS ClientHello they carry (SNI, versions, JA3) is
// visible, as tshark and Suricata show it. This parser removes header
// protection, decrypts client Initial packets (AES-128-GCM, the tag checked:
// a datagram that does not decrypt is not QUIC), reassembles their CRYPTO
// frames (coalesced packets, several Initials, any order) and parses the
// ClientHello. Everything after the handshake's first flight is encrypted
// with keys that are not derivable and is ignored.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/applayer/tls.h"

namespace rampart::applayer {

// A transaction as Suricata's QUIC parser makes them: one per long-header
// packet of a direction until that direction's hello (ClientHello to the
// server, ServerHello to the client) was seen; short-header packets and
// everything after the hello make none.
struct QuicTxRecord {
  uint64_t id = 0;
  int dir = 0;            // 0 client to server.
  uint32_t version = 0;   // The packet's version (quic.version).
};

struct QuicInfo {
  uint32_t version = 0;   // From the first long header seen.
  std::vector<QuicTxRecord> txs;  // Transactions made by the current Feed call.
  uint64_t next_tx = 0;
  bool dir_hello[2] = {false, false};  // The direction's hello was seen: it makes no more transactions.
  TlsInfo hello;          // ClientHello fields (sni, ja3, versions).
  bool hello_seen = false;
  bool logged = false;    // The EVE record was written.
  uint8_t progressed = 0; // Set when the ClientHello was parsed during the current call.
};

// "1", "2", or the version in hex ("0xff00001d"), for EVE.
std::string QuicVersionName(uint32_t version);

// A cheap test for detection: a long-header packet (Initial, 0-RTT,
// Handshake) of version 1 or 2 with a plausible connection ID length.
bool LooksLikeQuicInitial(const uint8_t* data, size_t len);

class QuicParser {
 public:
  QuicParser() = default;
  // One UDP datagram of direction `dir`. *progressed is set when the
  // ClientHello was parsed. False when the datagram is not QUIC (did not
  // decrypt), which the caller may use to give up on the flow.
  bool Feed(int dir, const uint8_t* data, size_t len, bool* progressed, std::vector<TlsEvent>* events);

  QuicInfo& info() { return info_; }
  const QuicInfo& info() const { return info_; }

 private:
  bool Packet(int dir, const uint8_t* pkt, size_t len, size_t pn_offset, size_t end, const uint8_t* dcid,
              size_t dcid_len, uint32_t version, std::vector<TlsEvent>* events);
  // Initial packet protection with the client's (dir 0) or the server's keys.
  bool Decrypt(int dir, const uint8_t* pkt, size_t pn_offset, size_t end, const uint8_t* dcid, size_t dcid_len,
               uint32_t version, size_t* plain_len);
  void Frames(int dir, const uint8_t* p, size_t n, std::vector<TlsEvent>* events);
  void AddTx(int dir, uint32_t version);
  void Crypto(uint64_t offset, const uint8_t* data, size_t len, std::vector<TlsEvent>* events);

  QuicInfo info_;
  std::vector<uint8_t> crypto_;                         // CRYPTO stream bytes by offset.
  std::vector<std::pair<uint32_t, uint32_t>> covered_;  // Filled [begin, end) ranges.
  std::vector<uint8_t> plain_;                          // Decryption scratch.
  // Initial keys come from the client's first destination connection ID and
  // stay when the client switches to the server's ID (RFC 9001 5.2); a Retry
  // brings new ones.
  std::vector<uint8_t> key_dcid_;
};

}  // namespace rampart::applayer
