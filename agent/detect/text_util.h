#pragma once
// Small text helpers shared by the rule parser and keyword setup code.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::detect {

std::string_view Trim(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string ToLower(std::string_view s);
// Decimal (or 0x hex) unsigned integer, the whole string; nullopt otherwise.
std::optional<uint64_t> ParseUint(std::string_view s);
std::optional<int64_t> ParseInt(std::string_view s);
// Splits on `sep`, trimming each piece; keeps empty pieces.
std::vector<std::string_view> Split(std::string_view s, char sep);
// Removes one pair of surrounding double quotes, if present.
std::string_view Unquote(std::string_view s);
// Resolves the backslash escapes Suricata allows in quoted values
// (\" \; \\ \: and any other escaped character as itself).
std::string Unescape(std::string_view s);

}  // namespace rampart::detect
