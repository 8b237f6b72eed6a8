#include "agent/detect/uint_check.h"

#include <string>

#include "agent/detect/text_util.h"

namespace rampart::detect {

uint64_t UintCheck::MinMatch() const {
  switch (mode) {
    case Mode::kEq: return a;
    case Mode::kGt: return a + 1;
    case Mode::kGe: return a;
    case Mode::kRange: return a + 1;
    default: return 0;
  }
}

uint64_t UintCheck::MaxMatch(uint64_t max) const {
  switch (mode) {
    case Mode::kEq: return a;
    case Mode::kLt: return a == 0 ? 0 : a - 1;
    case Mode::kLe: return a;
    case Mode::kRange: return b == 0 ? 0 : b - 1;
    default: return max;
  }
}

Result<UintCheck> ParseUintCheck(std::string_view text, uint64_t max) {
  std::string_view s = Trim(text);
  const std::string orig(s);
  auto num = [&](std::string_view t) -> Result<uint64_t> {
    auto v = ParseUint(t);
    if (!v) return InvalidArgumentError("'" + orig + "' is not a number or comparison");
    if (*v > max) return InvalidArgumentError("'" + std::string(Trim(t)) + "' is more than " + std::to_string(max));
    return *v;
  };
  UintCheck c;
  if (s.empty()) return InvalidArgumentError("empty value");
  bool negate = false;
  if (s[0] == '!') {
    negate = true;
    s = Trim(s.substr(1));
    if (!s.empty() && s[0] == '=') s = Trim(s.substr(1));
  }
  if (s.starts_with("<=") || s.starts_with(">=")) {
    if (negate) return InvalidArgumentError("'" + orig + "': '!' cannot negate a comparison");
    RAMPART_ASSIGN_OR_RETURN(c.a, num(s.substr(2)));
    c.mode = s[0] == '<' ? UintCheck::Mode::kLe : UintCheck::Mode::kGe;
    return c;
  }
  if (s[0] == '<' || s[0] == '>') {
    if (negate) return InvalidArgumentError("'" + orig + "': '!' cannot negate a comparison");
    RAMPART_ASSIGN_OR_RETURN(c.a, num(s.substr(1)));
    c.mode = s[0] == '<' ? UintCheck::Mode::kLt : UintCheck::Mode::kGt;
    if (c.mode == UintCheck::Mode::kLt && c.a == 0) return InvalidArgumentError("'" + orig + "' can never match");
    return c;
  }
  if (s[0] == '=') s = Trim(s.substr(1));
  size_t sep = s.find("<>");
  size_t seplen = 2;
  if (sep == std::string_view::npos) {
    sep = s.find('-');
    seplen = 1;
  }
  if (sep != std::string_view::npos && sep > 0) {
    RAMPART_ASSIGN_OR_RETURN(c.a, num(s.substr(0, sep)));
    RAMPART_ASSIGN_OR_RETURN(c.b, num(s.substr(sep + seplen)));
    if (c.a >= c.b) return InvalidArgumentError("'" + orig + "': range must go from low to high");
    c.mode = negate ? UintCheck::Mode::kNotRange : UintCheck::Mode::kRange;
    return c;
  }
  RAMPART_ASSIGN_OR_RETURN(c.a, num(s));
  c.mode = negate ? UintCheck::Mode::kNe : UintCheck::Mode::kEq;
  return c;
}

}  // namespace rampart::detect
