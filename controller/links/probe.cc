#include "controller/links/probe.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include <cstring>

#include "controller/links/monitor.h"

namespace rampart::links::detail {
namespace {

constexpr size_t kMaxAgentId = 64;

uint32_t ReadU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
uint64_t ReadU64(const uint8_t* p) { return (uint64_t{ReadU32(p)} << 32) | ReadU32(p + 4); }
void WriteU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}

void Mac(const std::string& key, const uint8_t* data, size_t len, uint8_t out[32]) {
  unsigned int n = 32;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data, len, out, &n);
}

}  // namespace

std::optional<ProbeRequest> ParseProbeRequest(const uint8_t* buf, size_t n) {
  if (n < static_cast<size_t>(kProbeHeaderSize + kProbeMacSize) || std::memcmp(buf, "RPRB", 4) != 0 ||
      buf[4] != 1 || buf[5] != 1) {
    return std::nullopt;
  }
  const size_t id_len = (size_t{buf[6]} << 8) | buf[7];
  if (id_len == 0 || id_len > kMaxAgentId || n != kProbeHeaderSize + id_len + kProbeMacSize) return std::nullopt;
  ProbeRequest r;
  r.agent_id.assign(reinterpret_cast<const char*>(buf + kProbeHeaderSize), id_len);
  r.sequence = ReadU32(buf + 8);
  r.sender_stamp = static_cast<int64_t>(ReadU64(buf + 12));
  r.body_size = kProbeHeaderSize + id_len;
  return r;
}

bool ProbeMacValid(const std::string& key, const uint8_t* data, size_t body_size) {
  uint8_t mac[32];
  Mac(key, data, body_size, mac);
  return CRYPTO_memcmp(mac, data + body_size, kProbeMacSize) == 0;
}

void MakeProbeReply(const std::string& key, uint8_t* data, size_t body_size, int64_t received, int64_t sent) {
  data[5] = 2;
  WriteU64(data + 20, static_cast<uint64_t>(received));
  WriteU64(data + 28, static_cast<uint64_t>(sent));
  uint8_t mac[32];
  Mac(key, data, body_size, mac);
  std::memcpy(data + body_size, mac, kProbeMacSize);
}

std::string DeriveProbeKey(const std::string& secret, std::string_view agent_id) {
  uint8_t out[32];
  Mac(secret, reinterpret_cast<const uint8_t*>(agent_id.data()), agent_id.size(), out);
  return std::string(reinterpret_cast<const char*>(out), 32);
}

}  // namespace rampart::links::detail
