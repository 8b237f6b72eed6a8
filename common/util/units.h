#pragma once
// Durations and sizes as people write them in config files and flags:
// "250ms", "30s", "5m", "24h", "7d"; "512", "64KiB", "1.5GiB", "10MB".

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status/status.h"

namespace rampart {

// kInvalidArgument names what was wrong ("unknown unit 'x' in '5x'").
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);
// Binary (KiB, MiB, GiB, TiB) and decimal (KB, MB, GB, TB) units; bare numbers are bytes.
Result<uint64_t> ParseByteSize(std::string_view text);

// "1h30m", "250ms", "0s": the shortest exact form.
std::string FormatDuration(std::chrono::milliseconds d);
// "64 MiB", "1.5 GiB", "512 B".
std::string FormatByteSize(uint64_t bytes);

}  // namespace rampart
