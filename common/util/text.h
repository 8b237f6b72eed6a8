#pragma once
// ASCII text helpers every module needs the same way: case folding and
// case-insensitive comparison (protocol tokens, header names, rule
// keywords), and hex digits. Locale-independent on purpose: a byte >= 0x80
// is never folded, so results do not depend on the process locale and match
// what the protocols' specifications (RFC 9110 tokens, DNS names) say.
//
// Pure functions, thread-safe, no allocation except where a string is
// returned; the inline ones are cheap enough for the packet path.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/status/status.h"

namespace rampart {

constexpr char AsciiToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr char AsciiToUpper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// Whether `a` and `b` are equal with ASCII letters compared without case.
constexpr bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiToLower(a[i]) != AsciiToLower(b[i])) return false;
  }
  return true;
}
constexpr bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}
constexpr bool EndsWithIgnoreCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && EqualsIgnoreCase(s.substr(s.size() - suffix.size()), suffix);
}

// `s` with its ASCII letters in lower case.
std::string AsciiLowercase(std::string_view s);
void AsciiLowercaseInPlace(std::string& s);

// The value of one hex digit (either case), or -1.
constexpr int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Lower-case hex; "" for empty input.
std::string HexEncode(std::span<const uint8_t> bytes);
std::string HexEncode(std::string_view bytes);
// Upper- or lower-case hex without separators; kInvalidArgument otherwise
// (the message names the offset of the first bad digit).
Result<std::string> HexDecode(std::string_view hex);

}  // namespace rampart
