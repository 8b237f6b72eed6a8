#pragma once
// Suricata's integer comparison syntax, shared by ttl, dsize, itype, icode,
// window, stream_size, bsize, urilen, flow.pkts and friends:
//
//   5   =5   !5   <5   <=5   >5   >=5   3-7 (3 < x < 7)   3<>7 (same)   !3-7
//
// Parsed once at rule load; Matches() is branch-light for the packet path.

#include <cstdint>
#include <string_view>

#include "common/status/status.h"

namespace rampart::detect {

struct UintCheck {
  enum class Mode : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kRange, kNotRange, kAny };
  Mode mode = Mode::kAny;
  uint64_t a = 0;
  uint64_t b = 0;

  bool Matches(uint64_t v) const {
    switch (mode) {
      case Mode::kEq: return v == a;
      case Mode::kNe: return v != a;
      case Mode::kLt: return v < a;
      case Mode::kLe: return v <= a;
      case Mode::kGt: return v > a;
      case Mode::kGe: return v >= a;
      case Mode::kRange: return v > a && v < b;
      case Mode::kNotRange: return v <= a || v >= b;
      case Mode::kAny: return true;
    }
    return false;
  }
  // The smallest and largest values that can match (for dsize prefilters).
  uint64_t MinMatch() const;
  uint64_t MaxMatch(uint64_t max) const;
};

// `max` bounds every value (255 for u8 keywords). kInvalidArgument names the
// problem ("'300' is more than 255").
Result<UintCheck> ParseUintCheck(std::string_view text, uint64_t max);

}  // namespace rampart::detect
