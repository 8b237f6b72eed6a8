#include "agent/detect/address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "agent/detect/text_util.h"

namespace rampart::detect {

IpAddr IpAddr::V4(uint32_t host_order) {
  IpAddr a;
  a.version = 4;
  a.bytes[0] = static_cast<uint8_t>(host_order >> 24);
  a.bytes[1] = static_cast<uint8_t>(host_order >> 16);
  a.bytes[2] = static_cast<uint8_t>(host_order >> 8);
  a.bytes[3] = static_cast<uint8_t>(host_order);
  return a;
}

uint32_t IpAddr::v4() const {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) | bytes[3];
}

U128 IpAddr::v6() const {
  U128 v = 0;
  for (int i = 0; i < 16; ++i) v = (v << 8) | bytes[i];
  return v;
}

bool IpAddr::operator==(const IpAddr& o) const {
  if (version != o.version) return false;
  return std::memcmp(bytes, o.bytes, version == 4 ? 4 : 16) == 0;
}

std::string IpAddr::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (version == 4) {
    inet_ntop(AF_INET, bytes, buf, sizeof(buf));
  } else if (version == 6) {
    inet_ntop(AF_INET6, bytes, buf, sizeof(buf));
  }
  return buf;
}

std::optional<IpAddr> ParseIpAddr(std::string_view text) {
  std::string s(text);
  IpAddr a;
  if (s.find(':') != std::string::npos) {
    if (inet_pton(AF_INET6, s.c_str(), a.bytes) != 1) return std::nullopt;
    a.version = 6;
    return a;
  }
  if (inet_pton(AF_INET, s.c_str(), a.bytes) != 1) return std::nullopt;
  a.version = 4;
  return a;
}

namespace {

constexpr int kMaxVarDepth = 16;

template <typename T>
struct Range {
  T lo, hi;
};

// Sorted, merged, disjoint ranges.
template <typename T>
std::vector<Range<T>> Normalize(std::vector<Range<T>> v) {
  std::sort(v.begin(), v.end(), [](const Range<T>& a, const Range<T>& b) { return a.lo < b.lo; });
  std::vector<Range<T>> out;
  for (const auto& r : v) {
    if (!out.empty() && (r.lo <= out.back().hi || (out.back().hi != static_cast<T>(~T{0}) && r.lo == out.back().hi + 1))) {
      out.back().hi = std::max(out.back().hi, r.hi);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

// Ranges in `a` minus ranges in `b` (both normalized).
template <typename T>
std::vector<Range<T>> Subtract(const std::vector<Range<T>>& a, const std::vector<Range<T>>& b) {
  std::vector<Range<T>> out;
  for (Range<T> r : a) {
    bool alive = true;
    for (const auto& n : b) {
      if (n.hi < r.lo || n.lo > r.hi) continue;
      if (n.lo > r.lo) out.push_back({r.lo, static_cast<T>(n.lo - 1)});
      if (n.hi >= r.hi) {
        alive = false;
        break;
      }
      r.lo = static_cast<T>(n.hi + 1);
    }
    if (alive) out.push_back(r);
  }
  return out;
}

// A set being built: address or port ranges of both families.
struct AddrSet {
  std::vector<Range<uint32_t>> v4;
  std::vector<Range<U128>> v6;
  static AddrSet All() {
    AddrSet s;
    s.v4.push_back({0, ~uint32_t{0}});
    s.v6.push_back({0, ~static_cast<U128>(0)});
    return s;
  }
  void Add(const AddrSet& o) {
    v4.insert(v4.end(), o.v4.begin(), o.v4.end());
    v6.insert(v6.end(), o.v6.begin(), o.v6.end());
  }
  void Normalize() {
    v4 = detect::Normalize(std::move(v4));
    v6 = detect::Normalize(std::move(v6));
  }
  AddrSet Minus(const AddrSet& o) const {
    AddrSet r;
    r.v4 = Subtract(v4, o.v4);
    r.v6 = Subtract(v6, o.v6);
    return r;
  }
  bool Empty() const { return v4.empty() && v6.empty(); }
};

class AddrParser {
 public:
  AddrParser(std::string_view text, const VarLookup& vars, int depth)
      : text_(text), vars_(vars), depth_(depth) {}

  Result<AddrSet> ParseAll() {
    RAMPART_ASSIGN_OR_RETURN(AddrSet s, ParseElement());
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected '" + std::string(text_.substr(pos_)) + "'");
    return s;
  }

 private:
  Status Error(const std::string& what) const {
    return InvalidArgumentError("address '" + std::string(text_) + "': " + what);
  }
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }

  Result<AddrSet> ParseElement() {
    SkipSpace();
    if (pos_ >= text_.size()) return Error("empty address");
    if (text_[pos_] == '!') {
      ++pos_;
      RAMPART_ASSIGN_OR_RETURN(AddrSet inner, ParseElement());
      AddrSet r = AddrSet::All().Minus(inner);
      return r;
    }
    if (text_[pos_] == '[') {
      ++pos_;
      AddrSet pos_set, neg_set;
      bool have_pos = false;
      for (;;) {
        SkipSpace();
        if (pos_ < text_.size() && text_[pos_] == ']') {
          ++pos_;
          break;
        }
        bool neg = false;
        if (pos_ < text_.size() && text_[pos_] == '!') {
          neg = true;
          ++pos_;
        }
        RAMPART_ASSIGN_OR_RETURN(AddrSet e, ParseElement());
        if (neg) {
          neg_set.Add(e);
        } else {
          pos_set.Add(e);
          have_pos = true;
        }
        SkipSpace();
        if (pos_ >= text_.size()) return Error("missing ']'");
        if (text_[pos_] == ',') {
          ++pos_;
          SkipSpace();
          if (pos_ >= text_.size()) return Error("missing ']'");
          continue;
        }
        if (text_[pos_] == ']') {
          ++pos_;
          break;
        }
        return Error("expected ',' or ']'");
      }
      AddrSet base = have_pos ? pos_set : AddrSet::All();
      base.Normalize();
      neg_set.Normalize();
      AddrSet r = base.Minus(neg_set);
      return r;
    }
    // A token up to ',', ']' or the end.
    size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != ']' && text_[pos_] != ' ') ++pos_;
    std::string_view tok = text_.substr(start, pos_ - start);
    if (tok.empty()) return Error("empty element");
    if (tok[0] == '$') {
      if (depth_ >= kMaxVarDepth) return Error("variables nest too deeply (a loop?)");
      std::string name(tok.substr(1));
      auto value = vars_ ? vars_(name) : std::nullopt;
      if (!value) return Error("unknown variable $" + name);
      AddrParser sub(*value, vars_, depth_ + 1);
      auto r = sub.ParseAll();
      if (!r) return Error("in $" + name + ": " + r.error().message());
      return r;
    }
    if (EqualsIgnoreCase(tok, "any")) return AddrSet::All();
    return ParseSingle(tok);
  }

  Result<AddrSet> ParseSingle(std::string_view tok) {
    AddrSet s;
    size_t dash = tok.find('-');
    if (dash != std::string_view::npos) {
      auto a = ParseIpAddr(tok.substr(0, dash));
      auto b = ParseIpAddr(tok.substr(dash + 1));
      if (!a || !b || a->version != b->version) return Error("bad range '" + std::string(tok) + "'");
      if (a->version == 4) {
        if (a->v4() > b->v4()) return Error("range '" + std::string(tok) + "' runs backwards");
        s.v4.push_back({a->v4(), b->v4()});
      } else {
        if (a->v6() > b->v6()) return Error("range '" + std::string(tok) + "' runs backwards");
        s.v6.push_back({a->v6(), b->v6()});
      }
      return s;
    }
    size_t slash = tok.find('/');
    auto addr = ParseIpAddr(tok.substr(0, slash));
    if (!addr) return Error("bad address '" + std::string(tok) + "'");
    int bits = addr->version == 4 ? 32 : 128;
    int prefix = bits;
    if (slash != std::string_view::npos) {
      std::string_view p = tok.substr(slash + 1);
      if (addr->version == 4 && p.find('.') != std::string_view::npos) {
        auto mask = ParseIpAddr(p);
        if (!mask || mask->version != 4) return Error("bad netmask in '" + std::string(tok) + "'");
        uint32_t m = mask->v4();
        prefix = 0;
        while (prefix < 32 && (m & (0x80000000u >> prefix))) ++prefix;
        if (prefix < 32 && (m << prefix) != 0) return Error("non-contiguous netmask in '" + std::string(tok) + "'");
      } else {
        auto n = ParseUint(p);
        if (!n || *n > static_cast<uint64_t>(bits)) return Error("bad prefix length in '" + std::string(tok) + "'");
        prefix = static_cast<int>(*n);
      }
    }
    if (addr->version == 4) {
      uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
      uint32_t lo = addr->v4() & mask;
      s.v4.push_back({lo, lo | ~mask});
    } else {
      using U = U128;
      U mask = prefix == 0 ? U{0} : ~U{0} << (128 - prefix);
      U lo = addr->v6() & mask;
      s.v6.push_back({lo, lo | ~mask});
    }
    return s;
  }

  std::string_view text_;
  const VarLookup& vars_;
  int depth_;
  size_t pos_ = 0;
};

class PortParser {
 public:
  PortParser(std::string_view text, const VarLookup& vars, int depth)
      : text_(text), vars_(vars), depth_(depth) {}

  Result<std::vector<Range<uint32_t>>> ParseAll() {
    RAMPART_ASSIGN_OR_RETURN(auto s, ParseElement());
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected '" + std::string(text_.substr(pos_)) + "'");
    return s;
  }

 private:
  using Set = std::vector<Range<uint32_t>>;
  static Set All() { return {{0, 65535}}; }
  Status Error(const std::string& what) const {
    return InvalidArgumentError("port '" + std::string(text_) + "': " + what);
  }
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }

  Result<Set> ParseElement() {
    SkipSpace();
    if (pos_ >= text_.size()) return Error("empty port");
    if (text_[pos_] == '!') {
      ++pos_;
      RAMPART_ASSIGN_OR_RETURN(Set inner, ParseElement());
      return Subtract(All(), Normalize(inner));
    }
    if (text_[pos_] == '[') {
      ++pos_;
      Set pos_set, neg_set;
      bool have_pos = false;
      for (;;) {
        SkipSpace();
        if (pos_ < text_.size() && text_[pos_] == ']') {
          ++pos_;
          break;
        }
        bool neg = false;
        if (pos_ < text_.size() && text_[pos_] == '!') {
          neg = true;
          ++pos_;
        }
        RAMPART_ASSIGN_OR_RETURN(Set e, ParseElement());
        (neg ? neg_set : pos_set).insert((neg ? neg_set : pos_set).end(), e.begin(), e.end());
        if (!neg) have_pos = true;
        SkipSpace();
        if (pos_ >= text_.size()) return Error("missing ']'");
        if (text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (text_[pos_] == ']') {
          ++pos_;
          break;
        }
        return Error("expected ',' or ']'");
      }
      Set base = have_pos ? Normalize(pos_set) : All();
      return Subtract(base, Normalize(neg_set));
    }
    size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != ']' && text_[pos_] != ' ') ++pos_;
    std::string_view tok = text_.substr(start, pos_ - start);
    if (tok.empty()) return Error("empty element");
    if (tok[0] == '$') {
      if (depth_ >= kMaxVarDepth) return Error("variables nest too deeply (a loop?)");
      std::string name(tok.substr(1));
      auto value = vars_ ? vars_(name) : std::nullopt;
      if (!value) return Error("unknown variable $" + name);
      PortParser sub(*value, vars_, depth_ + 1);
      auto r = sub.ParseAll();
      if (!r) return Error("in $" + name + ": " + r.error().message());
      return r;
    }
    if (EqualsIgnoreCase(tok, "any")) return All();
    size_t colon = tok.find(':');
    uint64_t lo = 0, hi = 65535;
    if (colon == std::string_view::npos) {
      auto n = ParseUint(tok);
      if (!n || *n > 65535) return Error("bad port '" + std::string(tok) + "'");
      lo = hi = *n;
    } else {
      std::string_view a = tok.substr(0, colon), b = tok.substr(colon + 1);
      if (!a.empty()) {
        auto n = ParseUint(a);
        if (!n || *n > 65535) return Error("bad port '" + std::string(tok) + "'");
        lo = *n;
      }
      if (!b.empty()) {
        auto n = ParseUint(b);
        if (!n || *n > 65535) return Error("bad port '" + std::string(tok) + "'");
        hi = *n;
      }
      if (lo > hi) return Error("range '" + std::string(tok) + "' runs backwards");
    }
    return Set{{static_cast<uint32_t>(lo), static_cast<uint32_t>(hi)}};
  }

  std::string_view text_;
  const VarLookup& vars_;
  int depth_;
  size_t pos_ = 0;
};

}  // namespace

class IpSetBuilder {
 public:
  static IpSet Make(const AddrSet& s, bool any) {
    IpSet r;
    r.any_ = any;
    for (const auto& x : s.v4) r.v4_.push_back({x.lo, x.hi});
    for (const auto& x : s.v6) r.v6_.push_back({x.lo, x.hi});
    return r;
  }
};

class PortSetBuilder {
 public:
  static PortSet Make(const std::vector<Range<uint32_t>>& s) {
    PortSet r;
    r.any_ = s.size() == 1 && s[0].lo == 0 && s[0].hi == 65535;
    for (const auto& x : s) r.ranges_.push_back({static_cast<uint16_t>(x.lo), static_cast<uint16_t>(x.hi)});
    return r;
  }
};

IpSet IpSet::Any() { return IpSetBuilder::Make(AddrSet::All(), true); }

Result<IpSet> IpSet::Parse(std::string_view text, const VarLookup& vars) {
  AddrParser p(Trim(text), vars, 0);
  RAMPART_ASSIGN_OR_RETURN(AddrSet s, p.ParseAll());
  s.Normalize();
  if (s.Empty()) {
    return InvalidArgumentError("address '" + std::string(text) + "' matches no address at all");
  }
  const bool any = s.v4.size() == 1 && s.v4[0].lo == 0 && s.v4[0].hi == ~uint32_t{0} && s.v6.size() == 1 &&
                   s.v6[0].lo == 0 && s.v6[0].hi == ~static_cast<U128>(0);
  return IpSetBuilder::Make(s, any);
}

bool IpSet::Contains(const IpAddr& a) const {
  if (any_) return true;
  if (a.version == 4) {
    const uint32_t v = a.v4();
    auto it = std::upper_bound(v4_.begin(), v4_.end(), v, [](uint32_t x, const V4Range& r) { return x < r.lo; });
    return it != v4_.begin() && v <= std::prev(it)->hi;
  }
  if (a.version == 6) {
    const U128 v = a.v6();
    auto it = std::upper_bound(v6_.begin(), v6_.end(), v,
                               [](U128 x, const V6Range& r) { return x < r.lo; });
    return it != v6_.begin() && v <= std::prev(it)->hi;
  }
  return false;
}

PortSet PortSet::Any() { return PortSetBuilder::Make({{0, 65535}}); }

Result<PortSet> PortSet::Parse(std::string_view text, const VarLookup& vars) {
  PortParser p(Trim(text), vars, 0);
  RAMPART_ASSIGN_OR_RETURN(auto s, p.ParseAll());
  s = Normalize(std::move(s));
  if (s.empty()) return InvalidArgumentError("port '" + std::string(text) + "' matches no port at all");
  return PortSetBuilder::Make(s);
}

bool PortSet::Contains(uint16_t port) const {
  if (any_) return true;
  for (const Range& r : ranges_) {
    if (port < r.lo) return false;
    if (port <= r.hi) return true;
  }
  return false;
}

}  // namespace rampart::detect
