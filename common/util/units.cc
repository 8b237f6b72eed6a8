#include "common/util/units.h"

#include <cmath>
#include <cstdio>
#include <limits>

namespace rampart {
namespace {

// Splits "1.5GiB" into 1.5 and "GiB". Leading/trailing blanks are allowed.
Status SplitNumber(std::string_view text, double* number, std::string_view* unit) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return InvalidArgumentError("empty value");
  size_t i = 0;
  bool digits = false;
  bool dot = false;
  while (i < text.size()) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      digits = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
    ++i;
  }
  if (!digits) return InvalidArgumentError("'" + std::string(text) + "' does not start with a number");
  *number = std::strtod(std::string(text.substr(0, i)).c_str(), nullptr);
  std::string_view rest = text.substr(i);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  *unit = rest;
  return Status::Ok();
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  double n = 0;
  std::string_view unit;
  RAMPART_RETURN_IF_ERROR(SplitNumber(text, &n, &unit));
  double ms_per_unit;
  if (unit == "ms") ms_per_unit = 1;
  else if (unit == "s" || unit.empty()) ms_per_unit = 1000;
  else if (unit == "m" || unit == "min") ms_per_unit = 60'000;
  else if (unit == "h") ms_per_unit = 3'600'000;
  else if (unit == "d") ms_per_unit = 86'400'000;
  else return InvalidArgumentError("unknown unit '" + std::string(unit) + "' in '" + std::string(text) +
                                   "' (use ms, s, m, h or d)");
  const double ms = n * ms_per_unit;
  if (ms > static_cast<double>(std::numeric_limits<int64_t>::max() / 2)) {
    return InvalidArgumentError("'" + std::string(text) + "' is too long a duration");
  }
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(ms)));
}

Result<uint64_t> ParseByteSize(std::string_view text) {
  double n = 0;
  std::string_view unit;
  RAMPART_RETURN_IF_ERROR(SplitNumber(text, &n, &unit));
  double mult;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "KiB" || unit == "K" || unit == "k") mult = 1024.0;
  else if (unit == "MiB" || unit == "M") mult = 1024.0 * 1024;
  else if (unit == "GiB" || unit == "G") mult = 1024.0 * 1024 * 1024;
  else if (unit == "TiB" || unit == "T") mult = 1024.0 * 1024 * 1024 * 1024;
  else if (unit == "KB" || unit == "kB") mult = 1e3;
  else if (unit == "MB") mult = 1e6;
  else if (unit == "GB") mult = 1e9;
  else if (unit == "TB") mult = 1e12;
  else return InvalidArgumentError("unknown unit '" + std::string(unit) + "' in '" + std::string(text) +
                                   "' (use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)");
  const double bytes = n * mult;
  if (bytes > 9.0e18) return InvalidArgumentError("'" + std::string(text) + "' is too large");
  return static_cast<uint64_t>(std::llround(bytes));
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out += '-';
    ms = -ms;
  }
  struct Unit { int64_t size; const char* name; };
  static constexpr Unit kUnits[] = {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
  for (const Unit& u : kUnits) {
    if (ms >= u.size) {
      out += std::to_string(ms / u.size);
      out += u.name;
      ms %= u.size;
    }
  }
  return out;
}

std::string FormatByteSize(uint64_t bytes) {
  static constexpr const char* kNames[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int i = 0;
  while (v >= 1024.0 && i < 5) {
    v /= 1024.0;
    ++i;
  }
  char buf[32];
  if (i == 0) std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(bytes));
  else if (v == std::floor(v)) std::snprintf(buf, sizeof(buf), "%.0f %s", v, kNames[i]);
  else std::snprintf(buf, sizeof(buf), "%.1f %s", v, kNames[i]);
  return buf;
}

}  // namespace rampart
