#include "agent/decode/checksum.h"

#include <cstring>

namespace rampart::decode {

uint32_t ChecksumAdd(const uint8_t* data, size_t len, uint32_t sum) {
  // 64-bit accumulation of 32-bit words; carries are folded at the end.
  uint64_t acc = sum;
  while (len >= 32) {
    uint32_t w[8];
    std::memcpy(w, data, 32);
    acc += static_cast<uint64_t>(w[0]) + w[1] + w[2] + w[3] + w[4] + w[5] + w[6] + w[7];
    data += 32;
    len -= 32;
  }
  while (len >= 4) {
    uint32_t w;
    std::memcpy(&w, data, 4);
    acc += w;
    data += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t w;
    std::memcpy(&w, data, 2);
    acc += w;
    data += 2;
    len -= 2;
  }
  if (len == 1) {
    // The odd byte is the high byte of a 16-bit word in network order; in
    // host (little-endian) order that is the low byte of the loaded word.
    uint8_t last[2] = {data[0], 0};
    uint16_t w;
    std::memcpy(&w, last, 2);
    acc += w;
  }
  // Fold 64 -> 32 bits.
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffffffffu) + (acc >> 32);
  return static_cast<uint32_t>(acc);
}

uint16_t ChecksumFinish(uint32_t sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

bool Ipv4HeaderChecksumOk(const uint8_t* header, size_t hlen) {
  return ChecksumFinish(ChecksumAdd(header, hlen)) == 0;
}

bool L4ChecksumOk(const Packet& p, uint8_t proto, const uint8_t* segment, size_t len) {
  uint32_t sum = 0;
  if (proto != 1) {
    // Pseudo-header, summed in network byte order like the data (the sum is
    // byte-order independent as long as everything is summed the same way).
    if (p.src.family == 4) {
      sum = ChecksumAdd(p.src.bytes, 4, sum);
      sum = ChecksumAdd(p.dst.bytes, 4, sum);
      const uint8_t tail[4] = {0, proto, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
      sum = ChecksumAdd(tail, 4, sum);
    } else {
      sum = ChecksumAdd(p.src.bytes, 16, sum);
      sum = ChecksumAdd(p.dst.bytes, 16, sum);
      const uint8_t tail[8] = {static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16),
                               static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len), 0, 0, 0, proto};
      sum = ChecksumAdd(tail, 8, sum);
    }
  }
  if (proto == 17 && p.src.family == 4 && len >= 8 && segment[6] == 0 && segment[7] == 0) return true;
  return ChecksumFinish(ChecksumAdd(segment, len, sum)) == 0;
}

}  // namespace rampart::decode
