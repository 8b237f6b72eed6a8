#pragma once
// Internal to controller/links (and its tests and fuzzer): the probe
// packet's parsing and authentication (format in monitor.h). Every byte is
// untrusted: anything malformed is refused, never trusted.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rampart::links::detail {

struct ProbeRequest {
  std::string agent_id;
  uint32_t sequence = 0;
  int64_t sender_stamp = 0;
  size_t body_size = 0;  // Bytes covered by the MAC.
};

// A well-formed request (type 1), or nullopt. Does not check the MAC.
std::optional<ProbeRequest> ParseProbeRequest(const uint8_t* data, size_t size);
// Whether the MAC after `body_size` bytes is HMAC-SHA256(key, body) (constant time).
bool ProbeMacValid(const std::string& key, const uint8_t* data, size_t body_size);
// Turns a verified request in place into its reply (type 2, reflector
// timestamps, new MAC). `data` holds body_size + 16 bytes.
void MakeProbeReply(const std::string& key, uint8_t* data, size_t body_size, int64_t received, int64_t sent);
// HMAC-SHA256 of `agent_id` under `secret`: an agent's probe key.
std::string DeriveProbeKey(const std::string& secret, std::string_view agent_id);

}  // namespace rampart::links::detail
