#include "agent/flow/community_id.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <span>

#include "common/util/ids.h"

namespace rampart::flow {
namespace {

// ICMP types that come in request/reply pairs (the spec's "port
// equivalents"); -1 for one-way types.
int Counterpart(uint8_t proto, uint8_t type) {
  if (proto == 1) {
    switch (type) {
      case 8: return 0;
      case 0: return 8;
      case 13: return 14;
      case 14: return 13;
      case 15: return 16;
      case 16: return 15;
      case 10: return 9;
      case 9: return 10;
      case 17: return 18;
      case 18: return 17;
      default: return -1;
    }
  }
  switch (type) {
    case 128: return 129;
    case 129: return 128;
    case 130: return 131;
    case 131: return 130;
    case 133: return 134;
    case 134: return 133;
    case 135: return 136;
    case 136: return 135;
    case 139: return 140;
    case 140: return 139;
    case 144: return 145;
    case 145: return 144;
    default: return -1;
  }
}

}  // namespace

std::string CommunityId(const Flow& f, uint16_t seed) {
  const size_t alen = f.family == 6 ? 16 : 4;
  decode::IpAddr src = f.Client(), dst = f.Server();
  bool has_ports = f.proto == 6 || f.proto == 17 || f.proto == 132 || f.proto == 1 || f.proto == 58;
  uint16_t sport = f.ClientPort(), dport = f.ServerPort();
  bool one_way = false;
  if (f.proto == 1 || f.proto == 58) {
    sport = f.icmp_type[0];
    const int other = Counterpart(f.proto, f.icmp_type[0]);
    if (other >= 0) {
      dport = static_cast<uint16_t>(other);
    } else {
      dport = f.icmp_code[0];
      one_way = true;
    }
  }
  if (!one_way) {
    const int c = std::memcmp(src.bytes, dst.bytes, alen);
    if (c > 0 || (c == 0 && sport > dport)) {
      std::swap(src, dst);
      std::swap(sport, dport);
    }
  }
  uint8_t buf[2 + 16 + 16 + 2 + 4];
  size_t n = 0;
  buf[n++] = static_cast<uint8_t>(seed >> 8);
  buf[n++] = static_cast<uint8_t>(seed);
  std::memcpy(buf + n, src.bytes, alen);
  n += alen;
  std::memcpy(buf + n, dst.bytes, alen);
  n += alen;
  buf[n++] = f.proto;
  buf[n++] = 0;
  if (has_ports) {
    buf[n++] = static_cast<uint8_t>(sport >> 8);
    buf[n++] = static_cast<uint8_t>(sport);
    buf[n++] = static_cast<uint8_t>(dport >> 8);
    buf[n++] = static_cast<uint8_t>(dport);
  }
  uint8_t digest[SHA_DIGEST_LENGTH];
  SHA1(buf, n, digest);
  return "1:" + Base64Encode(std::span<const uint8_t>(digest, sizeof(digest)));
}

std::string_view CommunityIdOf(Flow& f) {
  if (f.community_id_len == 0) {
    const std::string id = CommunityId(f);
    const size_t n = std::min(id.size(), sizeof(f.community_id));
    std::memcpy(f.community_id, id.data(), n);
    f.community_id_len = static_cast<uint8_t>(n);
  }
  return {f.community_id, f.community_id_len};
}

}  // namespace rampart::flow
