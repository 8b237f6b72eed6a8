#include "controller/store/codec.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "common/rocks/rocks.h"
#include "common/util/ids.h"

namespace rampart::controller_store::detail {
namespace {

constexpr uint8_t kSummaryVersion = 1;
constexpr uint8_t kAlertKind = 1;

void AppendU16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

class ByteReader {
 public:
  explicit ByteReader(std::string_view s) : s_(s) {}
  bool U8(uint8_t* v) {
    if (i_ + 1 > s_.size()) return false;
    *v = static_cast<uint8_t>(s_[i_++]);
    return true;
  }
  bool U16(uint16_t* v) {
    if (i_ + 2 > s_.size()) return false;
    *v = static_cast<uint16_t>((static_cast<uint8_t>(s_[i_]) << 8) | static_cast<uint8_t>(s_[i_ + 1]));
    i_ += 2;
    return true;
  }
  bool U32(uint32_t* v) {
    if (i_ + 4 > s_.size()) return false;
    *v = ReadU32(s_.substr(i_));
    i_ += 4;
    return true;
  }
  bool U64(uint64_t* v) {
    if (i_ + 8 > s_.size()) return false;
    *v = rocks::ReadBigEndian64(s_.substr(i_));
    i_ += 8;
    return true;
  }
  bool Address(std::optional<std::array<uint8_t, 16>>* out) {
    uint8_t len = 0;
    if (!U8(&len)) return false;
    if (len == 0) {
      out->reset();
      return true;
    }
    if ((len != 16 && len != 4) || i_ + len > s_.size()) return false;
    std::array<uint8_t, 16> a{};
    if (len == 4) {  // IPv4, stored without its IPv4-mapped prefix.
      a[10] = 0xff;
      a[11] = 0xff;
    }
    std::memcpy(a.data() + 16 - len, s_.data() + i_, len);
    i_ += len;
    *out = a;
    return true;
  }
  bool AtEnd() const { return i_ == s_.size(); }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

void AppendAddress(std::string* out, const std::optional<std::array<uint8_t, 16>>& a) {
  if (!a) {
    out->push_back(0);
    return;
  }
  // IPv4-mapped addresses (most of a province's traffic) keep 4 of their
  // 16 bytes: every event's summary is stored once per index it is in.
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a->data(), kMappedPrefix, sizeof(kMappedPrefix)) == 0) {
    out->push_back(4);
    out->append(reinterpret_cast<const char*>(a->data()) + 12, 4);
    return;
  }
  out->push_back(16);
  out->append(reinterpret_cast<const char*>(a->data()), 16);
}

}  // namespace

void AppendTime(std::string* out, int64_t ts) {
  rocks::AppendBigEndian64(out, static_cast<uint64_t>(ts) ^ 0x8000000000000000ull);
}

int64_t ReadTime(std::string_view bytes) {
  return static_cast<int64_t>(rocks::ReadBigEndian64(bytes) ^ 0x8000000000000000ull);
}

void AppendU32(std::string* out, uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  out->append(b, 4);
}

uint32_t ReadU32(std::string_view b) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(b[0])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(b[1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(b[2])) << 8) | static_cast<uint32_t>(static_cast<uint8_t>(b[3]));
}

std::string EncodePosition(int64_t ts, uint32_t agent, uint64_t seq) {
  std::string out;
  out.reserve(kPositionSize);
  AppendTime(&out, ts);
  AppendU32(&out, agent);
  rocks::AppendBigEndian64(&out, seq);
  return out;
}

std::optional<Position> DecodePosition(std::string_view b) {
  if (b.size() != kPositionSize) return std::nullopt;
  return Position{ReadTime(b), ReadU32(b.substr(8)), rocks::ReadBigEndian64(b.substr(12))};
}

std::string EventKey(uint32_t agent, uint64_t seq) {
  std::string out;
  AppendU32(&out, agent);
  rocks::AppendBigEndian64(&out, seq);
  return out;
}

std::optional<std::array<uint8_t, 16>> ParseAddress(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  std::array<uint8_t, 16> a{};
  in_addr v4;
  if (inet_pton(AF_INET, buf, &v4) == 1) {
    a[10] = 0xff;
    a[11] = 0xff;
    std::memcpy(a.data() + 12, &v4, 4);
    return a;
  }
  if (inet_pton(AF_INET6, buf, a.data()) == 1) return a;
  return std::nullopt;
}

std::string FormatAddress(const std::array<uint8_t, 16>& a) {
  char buf[INET6_ADDRSTRLEN] = {0};
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a.data(), kMapped, 12) == 0) {
    inet_ntop(AF_INET, a.data() + 12, buf, sizeof(buf));
  } else {
    inet_ntop(AF_INET6, a.data(), buf, sizeof(buf));
  }
  return buf;
}

uint8_t ProtoNumber(std::string_view p) {
  if (p == "TCP" || p == "tcp") return 6;
  if (p == "UDP" || p == "udp") return 17;
  if (p == "ICMP" || p == "icmp") return 1;
  if (p == "IPv6-ICMP" || p == "ipv6-icmp") return 58;
  if (p == "SCTP" || p == "sctp") return 132;
  if (p == "GRE") return 47;
  if (p == "ESP") return 50;
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (ec == std::errc() && end == p.data() + p.size() && v < 256) return static_cast<uint8_t>(v);
  return 0;
}

std::string EncodeSummary(const Summary& s) {
  std::string out;
  out.reserve(64);
  AppendSummary(&out, s);
  return out;
}

void AppendSummary(std::string* out_ptr, const Summary& s) {
  std::string& out = *out_ptr;
  out.push_back(static_cast<char>(kSummaryVersion));
  out.push_back(static_cast<char>(s.kind));
  out.push_back(static_cast<char>(s.severity));
  AppendU32(&out, s.site);
  rocks::AppendBigEndian64(&out, s.signature_id);
  out.push_back(static_cast<char>(s.proto));
  AppendU16(&out, s.src_port);
  AppendU16(&out, s.dest_port);
  AppendAddress(&out, s.src);
  AppendAddress(&out, s.dest);
  rocks::AppendBigEndian64(&out, static_cast<uint64_t>(s.stored_nanos));
}

std::optional<Summary> DecodeSummary(std::string_view bytes) {
  ByteReader r(bytes);
  Summary s;
  uint8_t version = 0;
  uint64_t stored = 0;
  if (!r.U8(&version) || version != kSummaryVersion || !r.U8(&s.kind) || !r.U8(&s.severity) || !r.U32(&s.site) ||
      !r.U64(&s.signature_id) || !r.U8(&s.proto) || !r.U16(&s.src_port) || !r.U16(&s.dest_port) ||
      !r.Address(&s.src) || !r.Address(&s.dest) || !r.U64(&stored) || !r.AtEnd()) {
    return std::nullopt;
  }
  s.stored_nanos = static_cast<int64_t>(stored);
  return s;
}

bool KindHasOwnIndex(uint8_t kind) {
  // Numbers of rampart.v1.EventKind (this file does not depend on the proto).
  constexpr uint8_t kFlow = 2, kDns = 3, kHttp = 4, kTls = 5, kStats = 10, kLinkProbe = 11;
  switch (kind) {
    case kFlow:
    case kDns:
    case kHttp:
    case kTls:
    case kStats:
    case kLinkProbe: return false;
    default: return true;
  }
}

size_t MakeIndexKeys(const Summary& s, int64_t ts, uint32_t agent, uint64_t seq, IndexKey* out) {
  char pos[kPositionSize];
  const uint64_t t = static_cast<uint64_t>(ts) ^ 0x8000000000000000ull;
  for (int i = 0; i < 8; ++i) pos[i] = static_cast<char>(t >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) pos[8 + i] = static_cast<char>(agent >> (24 - 8 * i));
  for (int i = 0; i < 8; ++i) pos[12 + i] = static_cast<char>(seq >> (56 - 8 * i));
  size_t n = 0;
  auto add = [&](IndexTag tag, const void* mid, size_t mid_size) {
    IndexKey& k = out[n++];
    k.bytes[0] = static_cast<char>(tag);
    std::memcpy(k.bytes.data() + 1, mid, mid_size);
    std::memcpy(k.bytes.data() + 1 + mid_size, pos, kPositionSize);
    k.size = static_cast<uint8_t>(1 + mid_size + kPositionSize);
  };
  auto be32 = [](uint32_t v, char* b) {
    for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (24 - 8 * i));
  };
  char site[4];
  be32(s.site, site);
  add(IndexTag::kSite, site, 4);
  const char kind = static_cast<char>(s.kind);
  if (KindHasOwnIndex(s.kind)) add(IndexTag::kKind, &kind, 1);
  if (s.kind == kAlertKind) {
    const char sev = static_cast<char>(s.severity);
    add(IndexTag::kSeverity, &sev, 1);
    char sid[8];
    for (int i = 0; i < 8; ++i) sid[i] = static_cast<char>(s.signature_id >> (56 - 8 * i));
    add(IndexTag::kSignature, sid, 8);
    char a[4];
    be32(agent, a);
    add(IndexTag::kAgent, a, 4);
    add(IndexTag::kAlertSite, site, 4);
    if (s.src) add(IndexTag::kAddress, s.src->data(), 16);
    if (s.dest && (!s.src || *s.dest != *s.src)) add(IndexTag::kAddress, s.dest->data(), 16);
  }
  return n;
}

std::vector<std::string> IndexKeys(const Summary& s, int64_t ts, uint32_t agent, uint64_t seq) {
  IndexKey keys[kMaxIndexKeys];
  const size_t n = MakeIndexKeys(s, ts, agent, seq, keys);
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.emplace_back(keys[i].view());
  return out;
}

std::string EncodeCursor(std::string_view position, bool oldest_first) {
  std::string raw(1, oldest_first ? 'a' : 'd');
  raw.append(position);
  return Base64UrlEncode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()));
}

std::optional<std::string> DecodeCursor(std::string_view cursor, bool oldest_first) {
  auto raw = Base64Decode(cursor);
  if (!raw.has_value() || raw->size() != 1 + kPositionSize) return std::nullopt;
  if ((*raw)[0] != (oldest_first ? 'a' : 'd')) return std::nullopt;
  return raw->substr(1);
}

bool ContainsFolded(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > hay.size()) return false;
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    size_t j = 0;
    while (j < needle.size() && lower(hay[i + j]) == lower(needle[j])) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

}  // namespace rampart::controller_store::detail
