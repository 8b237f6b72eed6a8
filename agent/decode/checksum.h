#pragma once
// Internet checksums (RFC 1071) for IPv4 headers and TCP/UDP/ICMP(v6) with
// their pseudo-headers.

#include <cstddef>
#include <cstdint>

#include "agent/decode/packet.h"

namespace rampart::decode {

// One's-complement sum of `len` bytes folded to 32 bits (not complemented).
uint32_t ChecksumAdd(const uint8_t* data, size_t len, uint32_t sum = 0);
// Folds and complements: 0 means a block that included its checksum is valid.
uint16_t ChecksumFinish(uint32_t sum);

// True when the IPv4 header (with options) sums to 0.
bool Ipv4HeaderChecksumOk(const uint8_t* header, size_t hlen);

// Verifies the L4 checksum of `segment` (header + payload, `len` bytes)
// against the packet's addresses; proto is 6, 17, 58 (pseudo-header) or 1
// (none). A UDP checksum of 0 over IPv4 means "none" and is valid.
bool L4ChecksumOk(const Packet& p, uint8_t proto, const uint8_t* segment, size_t len);

}  // namespace rampart::decode
