#include "common/probe/link_probe.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>

namespace rampart::link_probe {
namespace {

constexpr uint8_t kVersion = 1;

void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
void PutU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}
uint32_t GetU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
uint64_t GetU64(const uint8_t* p) { return (uint64_t{GetU32(p)} << 32) | GetU32(p + 4); }

void Mac(const std::string& key, const uint8_t* data, size_t len, uint8_t out[32]) {
  unsigned int n = 32;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data, len, out, &n);
}

// Checks the fixed header and returns the agent id length, or 0.
size_t CheckHeader(const uint8_t* data, size_t size, Type type) {
  if (size < kHeaderSize + kMacSize || std::memcmp(data, "RPRB", 4) != 0 || data[4] != kVersion ||
      data[5] != static_cast<uint8_t>(type)) {
    return 0;
  }
  const size_t id_len = (size_t{data[6]} << 8) | data[7];
  if (id_len == 0 || id_len > kMaxAgentId || size != kHeaderSize + id_len + kMacSize) return 0;
  return id_len;
}

}  // namespace

size_t EncodeRequest(const std::string& key, std::string_view agent_id, uint32_t sequence, int64_t sender_stamp,
                     uint8_t* out) {
  if (agent_id.empty() || agent_id.size() > kMaxAgentId) return 0;
  std::memset(out, 0, kHeaderSize);
  std::memcpy(out, "RPRB", 4);
  out[4] = kVersion;
  out[5] = static_cast<uint8_t>(Type::kRequest);
  out[6] = static_cast<uint8_t>(agent_id.size() >> 8);
  out[7] = static_cast<uint8_t>(agent_id.size());
  PutU32(out + 8, sequence);
  PutU64(out + 12, static_cast<uint64_t>(sender_stamp));
  std::memcpy(out + kHeaderSize, agent_id.data(), agent_id.size());
  const size_t body = kHeaderSize + agent_id.size();
  uint8_t mac[32];
  Mac(key, out, body, mac);
  std::memcpy(out + body, mac, kMacSize);
  return body + kMacSize;
}

std::optional<Request> ParseRequest(const uint8_t* data, size_t size) {
  const size_t id_len = CheckHeader(data, size, Type::kRequest);
  if (id_len == 0) return std::nullopt;
  Request r;
  r.agent_id.assign(reinterpret_cast<const char*>(data + kHeaderSize), id_len);
  r.sequence = GetU32(data + 8);
  r.sender_stamp = static_cast<int64_t>(GetU64(data + 12));
  r.body_size = kHeaderSize + id_len;
  return r;
}

bool MacValid(const std::string& key, const uint8_t* data, size_t body_size) {
  uint8_t mac[32];
  Mac(key, data, body_size, mac);
  return CRYPTO_memcmp(mac, data + body_size, kMacSize) == 0;
}

void MakeReply(const std::string& key, uint8_t* data, size_t body_size, int64_t received, int64_t sent) {
  data[5] = static_cast<uint8_t>(Type::kReply);
  PutU64(data + 20, static_cast<uint64_t>(received));
  PutU64(data + 28, static_cast<uint64_t>(sent));
  uint8_t mac[32];
  Mac(key, data, body_size, mac);
  std::memcpy(data + body_size, mac, kMacSize);
}

std::optional<Reply> ParseReply(const std::string& key, std::string_view agent_id, const uint8_t* data, size_t size) {
  const size_t id_len = CheckHeader(data, size, Type::kReply);
  if (id_len == 0 || id_len != agent_id.size()) return std::nullopt;
  const size_t body = kHeaderSize + id_len;
  if (!MacValid(key, data, body)) return std::nullopt;
  if (std::memcmp(data + kHeaderSize, agent_id.data(), id_len) != 0) return std::nullopt;
  Reply r;
  r.sequence = GetU32(data + 8);
  r.sender_stamp = static_cast<int64_t>(GetU64(data + 12));
  r.reflector_received = static_cast<int64_t>(GetU64(data + 20));
  r.reflector_sent = static_cast<int64_t>(GetU64(data + 28));
  return r;
}

std::string DeriveKey(const std::string& secret, std::string_view agent_id) {
  uint8_t out[32];
  Mac(secret, reinterpret_cast<const uint8_t*>(agent_id.data()), agent_id.size(), out);
  return std::string(reinterpret_cast<const char*>(out), 32);
}

}  // namespace rampart::link_probe
