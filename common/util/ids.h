#pragma once
// Identifiers and random secrets. Randomness comes from the kernel
// (getrandom), which is suitable for tokens and keys.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/status/status.h"

namespace rampart {

// Fills `out` from the kernel's CSPRNG. Fails only if the kernel refuses.
Status RandomBytes(std::span<uint8_t> out);

// A random (version 4) UUID, "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".
std::string NewUuidV4();
// A time-ordered (version 7) UUID: sorts by creation time, which keeps
// RocksDB keys made from it close together.
std::string NewUuidV7(int64_t unix_nanos);

// `bytes` random bytes as URL-safe base64 without padding: for one-time
// tokens and session ids (32 bytes = 256 bits).
std::string RandomToken(size_t bytes = 32);

// URL-safe base64 without padding, and standard base64 with padding.
std::string Base64UrlEncode(std::span<const uint8_t> bytes);
std::string Base64Encode(std::span<const uint8_t> bytes);
Result<std::string> Base64Decode(std::string_view text);  // Accepts both alphabets.

// This machine's host name, or `fallback` when the kernel gives none (a
// daemon's default name in its configuration and its certificate).
std::string HostName(std::string_view fallback);

// Compares two secrets in time that depends only on their lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace rampart
