#pragma once
// The WAN link probe's wire format, the one description both programs use:
// agent/ship's prober builds requests and reads replies, controller/links'
// reflector reads requests and turns them into replies. TWAMP-light in
// spirit: a sequence number and timestamps, authenticated per agent.
//
//   offset size
//   0      4    magic "RPRB"
//   4      1    version (1)
//   5      1    type: 1 request (agent -> controller), 2 reply
//   6      2    agent id length N (big-endian), 1..64
//   8      4    sequence (big-endian), per agent, +1 per probe
//   12     8    sender timestamp, Unix ns (agent's wall clock), echoed
//   20     8    reflector receive timestamp, ns (reply only, else 0)
//   28     8    reflector send timestamp, ns (reply only, else 0)
//   36     N    agent id
//   36+N   16   HMAC-SHA256(key, bytes 0 .. 36+N), first 16 bytes
//
// The key of an agent is DeriveKey(controller secret, agent id), sent to the
// agent in its Welcome over mutual TLS. Every byte received is untrusted:
// the parsers refuse anything malformed and never read past `size`.
// Replay protection (sequence and timestamp order) is the reflector's job.
//
// Pure functions: thread-safe, no allocation beyond the returned strings.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rampart::link_probe {

inline constexpr size_t kHeaderSize = 36;
inline constexpr size_t kMacSize = 16;
inline constexpr size_t kMaxAgentId = 64;
inline constexpr size_t kMaxPacketSize = kHeaderSize + kMaxAgentId + kMacSize;

enum class Type : uint8_t { kRequest = 1, kReply = 2 };

// Writes a request into `out` (at least kMaxPacketSize bytes) and returns its
// size, or 0 when `agent_id` is empty or longer than kMaxAgentId.
size_t EncodeRequest(const std::string& key, std::string_view agent_id, uint32_t sequence, int64_t sender_stamp,
                     uint8_t* out);

struct Request {
  std::string agent_id;
  uint32_t sequence = 0;
  int64_t sender_stamp = 0;
  size_t body_size = 0;  // Bytes covered by the MAC.
};

// A well-formed request, or nullopt. Does not check the MAC: the key depends
// on the agent id it names (MacValid next).
std::optional<Request> ParseRequest(const uint8_t* data, size_t size);

// Whether the MAC after `body_size` bytes is HMAC-SHA256(key, body), in
// constant time. `data` holds body_size + kMacSize bytes.
bool MacValid(const std::string& key, const uint8_t* data, size_t body_size);

// Turns a verified request in place into its reply: type 2, the reflector's
// timestamps, a new MAC. `data` holds body_size + kMacSize bytes.
void MakeReply(const std::string& key, uint8_t* data, size_t body_size, int64_t received, int64_t sent);

struct Reply {
  uint32_t sequence = 0;
  int64_t sender_stamp = 0;
  int64_t reflector_received = 0;
  int64_t reflector_sent = 0;
};

// A reply to `agent_id`'s request whose MAC verifies under `key`, or nullopt.
std::optional<Reply> ParseReply(const std::string& key, std::string_view agent_id, const uint8_t* data, size_t size);

// HMAC-SHA256 of `agent_id` under `secret`: an agent's 32-byte probe key.
std::string DeriveKey(const std::string& secret, std::string_view agent_id);

}  // namespace rampart::link_probe
