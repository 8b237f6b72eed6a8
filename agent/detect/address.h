#pragma once
// Address and port sets of a rule header, as Suricata writes them:
//
//   any   10.0.0.0/8   [192.168.1.0/24,!192.168.1.1]   !$HOME_NET   1.2.3.4-1.2.3.9
//   2001:db8::/32      [80,443,8000:8100]   1024:   !$HTTP_PORTS
//
// Variables ($NAME) are resolved through a VarLookup when the set is parsed;
// the result is an immutable set of ranges with cheap membership tests.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status/status.h"

namespace rampart::detect {

// 128-bit unsigned integer for IPv6 ranges (a GCC/Clang extension).
__extension__ typedef unsigned __int128 U128;

// An IPv4 or IPv6 address. IPv4 uses the first 4 bytes of `bytes`.
struct IpAddr {
  uint8_t version = 0;  // 4 or 6; 0 when the packet has no IP layer.
  uint8_t bytes[16] = {};
  static IpAddr V4(uint32_t host_order);
  uint32_t v4() const;  // Host byte order.
  U128 v6() const;
  bool operator==(const IpAddr& o) const;
  std::string ToString() const;
};

// Returns the value of a variable by name (without '$'), or nullopt.
using VarLookup = std::function<std::optional<std::string>(std::string_view name)>;

class IpSet {
 public:
  // "any".
  static IpSet Any();
  // Parses an address specification. kInvalidArgument says what is wrong.
  static Result<IpSet> Parse(std::string_view text, const VarLookup& vars);

  bool Contains(const IpAddr& a) const;
  bool IsAny() const { return any_; }
  // The set as IPv4 ranges [lo, hi] (host order), when it holds IPv4 only
  // and is not "any"; false otherwise (for indexing rules by address).
  bool V4Ranges(std::vector<std::pair<uint32_t, uint32_t>>* out) const {
    if (any_ || !v6_.empty()) return false;
    out->clear();
    for (const V4Range& r : v4_) out->emplace_back(r.lo, r.hi);
    return true;
  }

 private:
  struct V4Range {
    uint32_t lo, hi;
  };
  struct V6Range {
    U128 lo, hi;
  };
  bool any_ = false;
  std::vector<V4Range> v4_;
  std::vector<V6Range> v6_;
  friend class IpSetBuilder;
};

class PortSet {
 public:
  static PortSet Any();
  static Result<PortSet> Parse(std::string_view text, const VarLookup& vars);

  bool Contains(uint16_t port) const;
  bool IsAny() const { return any_; }
  // The ranges, sorted and disjoint (for grouping rules by port).
  struct Range {
    uint16_t lo, hi;
  };
  const std::vector<Range>& ranges() const { return ranges_; }

 private:
  bool any_ = false;
  std::vector<Range> ranges_;
  friend class PortSetBuilder;
};

// Parses one address ("10.1.2.3" or "2001:db8::1").
std::optional<IpAddr> ParseIpAddr(std::string_view text);

}  // namespace rampart::detect
