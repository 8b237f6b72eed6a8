#include "agent/detect/inspect.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <cstring>

namespace rampart::detect {
namespace {

constexpr std::array<uint8_t, 256> MakeFoldTable() {
  std::array<uint8_t, 256> t{};
  for (int i = 0; i < 256; ++i) t[static_cast<size_t>(i)] = static_cast<uint8_t>(i >= 'A' && i <= 'Z' ? i + 32 : i);
  return t;
}
constexpr std::array<uint8_t, 256> kFold = MakeFoldTable();

// Result of one step of the walk, as Suricata's inspection returns it.
enum : int { kNoMatch = 0, kMatch = 1, kDiscontinue = -1 };

int Walk(const std::vector<SigMatch>& ms, size_t i, const uint8_t* buf, uint32_t len, InspectState& st);

// The rest of the list after element i matched.
int Next(const std::vector<SigMatch>& ms, size_t i, const uint8_t* buf, uint32_t len, InspectState& st) {
  if (i + 1 >= ms.size()) return kMatch;
  return Walk(ms, i + 1, buf, len, st);
}

// Reads `n` bytes as an unsigned number, big or little endian.
uint64_t ReadBinary(const uint8_t* p, int n, bool little) {
  uint64_t v = 0;
  if (little) {
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  } else {
    for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  }
  return v;
}

// Parses up to `n` characters as a number in `base` (strtoull semantics on
// a bounded copy). Returns the characters consumed, 0 when none.
int ReadString(const uint8_t* p, int n, NumBase base, uint64_t* out) {
  char tmp[32];
  if (n <= 0 || n >= static_cast<int>(sizeof(tmp))) return 0;
  std::memcpy(tmp, p, static_cast<size_t>(n));
  tmp[n] = '\0';
  char* end = nullptr;
  const int b = base == NumBase::kHex ? 16 : base == NumBase::kOct ? 8 : 10;
  *out = std::strtoull(tmp, &end, b);
  return static_cast<int>(end - tmp);
}

uint32_t ShiftFor(uint32_t mask) {
  uint32_t s = 0;
  while (mask != 0 && (mask & 1u) == 0) {
    mask >>= 1;
    ++s;
  }
  return s;
}

// The start of a byte_* read, or nullptr when out of the buffer.
const uint8_t* BytePtr(const uint8_t* buf, uint32_t len, int64_t offset, bool relative, int nbytes,
                       const InspectState& st, int64_t* remaining) {
  int64_t pos = offset;
  if (relative) pos += st.buffer_offset;
  const int64_t rem = static_cast<int64_t>(len) - pos;
  if (relative && nbytes > 0 && rem <= 0) return nullptr;
  if (pos < 0 || nbytes > rem) return nullptr;
  *remaining = rem;
  return buf + pos;
}

int DoContent(const std::vector<SigMatch>& ms, size_t i, const ContentMatch& cd, const uint8_t* buf, uint32_t len,
              InspectState& st) {
  uint32_t prev_offset = 0;  // For retries: search again from here.
  uint32_t prev_buffer_offset = st.buffer_offset;
  const uint64_t sso = st.stream_start_offset;
  for (;;) {
    uint32_t depth = len;
    uint32_t offset = 0;
    const bool relative = cd.has_distance || cd.has_within;
    if (relative) {
      offset = prev_buffer_offset;
      int64_t distance = cd.distance;
      if (cd.distance_var >= 0) distance = static_cast<int64_t>(st.vars[cd.distance_var]);
      if (cd.has_distance) {
        if (distance < 0 && static_cast<uint64_t>(-distance) > offset) {
          offset = 0;
        } else {
          offset = static_cast<uint32_t>(static_cast<int64_t>(offset) + distance);
        }
      }
      if (cd.has_within) {
        int64_t within = cd.within;
        if (cd.within_var >= 0) within = static_cast<int64_t>(st.vars[cd.within_var]);
        const int64_t end = static_cast<int64_t>(prev_buffer_offset) + within + (cd.has_distance ? distance : 0);
        if (static_cast<int64_t>(depth) > end) depth = end < 0 ? 0 : static_cast<uint32_t>(end);
        if (sso != 0 && prev_buffer_offset == 0) {
          if (depth <= sso) {
            depth = 0;
            offset = 1;  // Forces "no match" below (offset > depth).
          } else if (depth < sso + len) {
            depth = static_cast<uint32_t>(depth - sso);
          }
        }
      }
      if (cd.depth_var >= 0) {
        const uint64_t d = st.vars[cd.depth_var] + prev_buffer_offset;
        if (d < depth) depth = static_cast<uint32_t>(d);
      } else if (cd.has_depth && cd.depth != 0) {
        if (cd.depth + prev_buffer_offset < depth) depth = prev_buffer_offset + cd.depth;
      }
      if (cd.offset_var >= 0) {
        if (st.vars[cd.offset_var] > offset) offset = static_cast<uint32_t>(st.vars[cd.offset_var]);
      } else if (cd.offset > offset) {
        offset = cd.offset;
      }
    } else {
      if (cd.depth_var >= 0) {
        depth = static_cast<uint32_t>(std::min<uint64_t>(st.vars[cd.depth_var], UINT32_MAX));
      } else if (cd.has_depth && cd.depth != 0) {
        depth = cd.depth;
      }
      if (sso != 0 && cd.has_depth) {
        if (depth <= sso) {
          depth = 0;
        } else if (depth < sso + len) {
          depth = static_cast<uint32_t>(depth - sso);
        } else {
          depth = len;
        }
      }
      if (cd.offset_var >= 0) {
        offset = static_cast<uint32_t>(std::min<uint64_t>(st.vars[cd.offset_var], UINT32_MAX));
      } else {
        offset = cd.offset;
      }
      prev_buffer_offset = 0;
    }
    if (cd.offset_var >= 0 || cd.depth_var >= 0) depth += offset;
    if (prev_offset != 0) offset = prev_offset;
    if (depth > len) depth = len;
    if (offset > depth || depth == 0) return cd.negated ? Next(ms, i, buf, len, st) : kNoMatch;

    const uint8_t* sbuf = buf + offset;
    const uint32_t slen = depth - offset;
    const uint8_t* found = nullptr;
    if (cd.endswith && depth < len) {
      found = nullptr;
    } else if (cd.pattern.size() <= slen) {
      found = FindContent(cd, sbuf, slen);
    }
    if (found == nullptr) {
      if (!cd.negated) {
        if (!relative) return kDiscontinue;
        return kNoMatch;
      }
      return Next(ms, i, buf, len, st);
    }
    const uint32_t match_offset = static_cast<uint32_t>((found - buf) + static_cast<ptrdiff_t>(cd.pattern.size()));
    if (cd.negated) {
      if (cd.endswith && slen != match_offset) return Next(ms, i, buf, len, st);
      const bool single = !relative && !cd.retry_next && !cd.has_depth && !cd.has_offset;
      return single ? kDiscontinue : kNoMatch;
    }
    st.buffer_offset = match_offset;
    if (match_offset > st.max_match_end) st.max_match_end = match_offset;
    if (!cd.endswith || match_offset == len) {
      if (i + 1 >= ms.size()) return kMatch;
      const int r = Walk(ms, i + 1, buf, len, st);
      if (r == kMatch) return kMatch;
      if (r == kDiscontinue) return kDiscontinue;
      if (!cd.retry_next) return kDiscontinue;
    }
    prev_offset = match_offset - static_cast<uint32_t>(cd.pattern.size() - 1);
  }
}

int DoPcre(const std::vector<SigMatch>& ms, size_t i, const PcreMatch& pe, const uint8_t* buf, uint32_t len,
           InspectState& st) {
  const uint32_t prev_buffer_offset = st.buffer_offset;
  st.pcre_match_start = 0;
  for (;;) {
    const uint8_t* ptr = buf;
    uint32_t plen = len;
    if (pe.relative) {
      if (st.buffer_offset > len) return kNoMatch;
      ptr = buf + st.buffer_offset;
      plen = len - st.buffer_offset;
    }
    size_t start = 0;
    if (st.pcre_match_start != 0) {
      const int64_t s = static_cast<int64_t>(st.pcre_match_start) - (ptr - buf);
      if (s < 0) return kNoMatch;
      start = static_cast<size_t>(s);
    }
    size_t b = 0, e = 0;
    const bool found = st.regex != nullptr &&
                       pe.re->Search(std::span<const uint8_t>(ptr, plen), start, *st.regex, &b, &e);
    if (pe.negated) {
      if (found) return kNoMatch;
      st.pcre_match_start = 0;
    } else {
      if (!found) return kNoMatch;
      st.buffer_offset = static_cast<uint32_t>((ptr - buf) + static_cast<ptrdiff_t>(e));
      if (st.buffer_offset > st.max_match_end) st.max_match_end = st.buffer_offset;
      st.pcre_match_start = static_cast<uint32_t>((ptr - buf) + static_cast<ptrdiff_t>(b) + 1);
    }
    if (!pe.retry_next) return Next(ms, i, buf, len, st);
    const uint32_t prev_start = st.pcre_match_start;
    const int r = Next(ms, i, buf, len, st);
    if (r == kMatch) return kMatch;
    if (r == kDiscontinue) return kDiscontinue;
    if (prev_start == 0) return kNoMatch;
    st.buffer_offset = prev_buffer_offset;
    st.pcre_match_start = prev_start;
  }
}

int DoByteTest(const ByteTestMatch& m, const uint8_t* buf, uint32_t len, InspectState& st) {
  if (len == 0) return kNoMatch;
  int nbytes = m.nbytes_var >= 0 ? static_cast<int>(st.vars[m.nbytes_var]) : m.nbytes;
  int64_t offset = m.offset_var >= 0 ? static_cast<int64_t>(st.vars[m.offset_var]) : m.offset;
  if (nbytes == 0 && m.string && m.nbytes_var < 0) {
    // The rest of the buffer.
    const int64_t start = offset + (m.relative ? st.buffer_offset : 0);
    nbytes = static_cast<int>(std::clamp<int64_t>(static_cast<int64_t>(len) - start, 0, 20));
  }
  if (nbytes < 1 || nbytes > (m.string ? 20 : 8)) return kNoMatch;
  int64_t rem = 0;
  const uint8_t* p = BytePtr(buf, len, offset, m.relative, nbytes, st, &rem);
  if (p == nullptr) return kNoMatch;
  uint64_t val = 0;
  if (m.string) {
    if (ReadString(p, nbytes, m.base, &val) <= 0) return kNoMatch;
  } else {
    val = ReadBinary(p, nbytes, m.little);
  }
  if (m.bitmask != 0) {
    val &= m.bitmask;
    const uint32_t shift = ShiftFor(m.bitmask);
    if (val != 0 && shift != 0) val >>= shift;
  }
  const uint64_t value = m.value_var >= 0 ? st.vars[m.value_var] : m.value;
  bool match = false;
  switch (m.op) {
    case ByteTestMatch::Op::kLt: match = val < value; break;
    case ByteTestMatch::Op::kGt: match = val > value; break;
    case ByteTestMatch::Op::kEq: match = val == value; break;
    case ByteTestMatch::Op::kAnd: match = (val & value) != 0; break;
    case ByteTestMatch::Op::kXor: match = (val ^ value) != 0; break;
    case ByteTestMatch::Op::kGe: match = val >= value; break;
    case ByteTestMatch::Op::kLe: match = val <= value; break;
  }
  return (match != m.negate) ? kMatch : kNoMatch;
}

int DoByteJump(const ByteJumpMatch& m, const uint8_t* buf, uint32_t len, InspectState& st) {
  if (len == 0) return kNoMatch;
  int nbytes = m.nbytes_var >= 0 ? static_cast<int>(st.vars[m.nbytes_var]) : m.nbytes;
  if (nbytes < 0 || nbytes > (m.string ? 20 : 8) || (nbytes == 0 && m.nbytes_var >= 0)) return kNoMatch;
  int64_t offset = m.offset_var >= 0 ? static_cast<int64_t>(st.vars[m.offset_var]) : m.offset;
  int64_t rem = 0;
  const uint8_t* p = BytePtr(buf, len, offset, m.relative, nbytes, st, &rem);
  if (p == nullptr) return kNoMatch;
  uint64_t val = 0;
  int ext = nbytes;
  if (nbytes == 0) {
    val = 0;
  } else if (m.string) {
    ext = ReadString(p, nbytes, m.base, &val);
    if (ext <= 0) return kNoMatch;
  } else {
    val = ReadBinary(p, nbytes, m.little);
  }
  if (m.bitmask != 0) {
    val &= m.bitmask;
    const uint32_t shift = ShiftFor(m.bitmask);
    if (val != 0 && shift != 0) val >>= shift;
  }
  val *= m.multiplier;
  if (m.align && (val % 4) != 0) val += 4 - (val % 4);
  int64_t jump = static_cast<int64_t>(val) + m.post_offset;
  int64_t target;
  if (m.from_beginning) {
    target = jump;
  } else if (m.from_end) {
    target = static_cast<int64_t>(len) + jump;
  } else {
    target = (p - buf) + jump + ext;
  }
  if (target < 0) {
    target = 0;
  } else if (target > static_cast<int64_t>(len)) {
    return kNoMatch;
  }
  st.buffer_offset = static_cast<uint32_t>(target);
  return kMatch;
}

int DoByteExtract(const ByteExtractMatch& m, const uint8_t* buf, uint32_t len, InspectState& st) {
  if (len == 0) return kNoMatch;
  int64_t rem = 0;
  const uint8_t* p = BytePtr(buf, len, m.offset, m.relative, m.nbytes, st, &rem);
  if (p == nullptr) return kNoMatch;
  uint64_t val = 0;
  int ext = m.nbytes;
  if (m.string) {
    ext = ReadString(p, m.nbytes, m.base, &val);
    if (ext <= 0) return kNoMatch;
  } else {
    val = ReadBinary(p, m.nbytes, m.little);
  }
  if (m.bitmask != 0) {
    val &= m.bitmask;
    const uint32_t shift = ShiftFor(m.bitmask);
    if (val != 0 && shift != 0) val >>= shift;
  }
  val *= m.multiplier;
  if (m.align && m.align_value != 0 && (val % m.align_value) != 0) val += m.align_value - (val % m.align_value);
  st.buffer_offset = static_cast<uint32_t>((p - buf) + ext);
  if (m.var >= 0) st.vars[m.var] = val;
  return kMatch;
}

int DoByteMath(const ByteMathMatch& m, const uint8_t* buf, uint32_t len, InspectState& st) {
  if (len == 0) return kNoMatch;
  int nbytes = m.nbytes_var >= 0 ? static_cast<int>(st.vars[m.nbytes_var]) : m.nbytes;
  if (nbytes < 1 || nbytes > 10) return kNoMatch;
  int64_t rem = 0;
  const uint8_t* p = BytePtr(buf, len, m.offset, m.relative, nbytes, st, &rem);
  if (p == nullptr) return kNoMatch;
  uint64_t val = 0;
  int ext = nbytes;
  if (m.string) {
    ext = ReadString(p, nbytes, m.base, &val);
    if (ext <= 0) return kNoMatch;
  } else {
    if (nbytes > 8) return kNoMatch;
    val = ReadBinary(p, nbytes, m.little);
  }
  st.buffer_offset = static_cast<uint32_t>((p - buf) + ext);
  const uint64_t rv = m.rvalue_var >= 0 ? st.vars[m.rvalue_var] : m.rvalue;
  switch (m.op) {
    case ByteMathMatch::Op::kAdd: val += rv; break;
    case ByteMathMatch::Op::kSub: val -= rv; break;
    case ByteMathMatch::Op::kMul: val *= rv; break;
    case ByteMathMatch::Op::kDiv:
      if (rv == 0) return kNoMatch;
      val /= rv;
      break;
    case ByteMathMatch::Op::kShl: val = rv >= 64 ? 0 : val << rv; break;
    case ByteMathMatch::Op::kShr: val = rv >= 64 ? 0 : val >> rv; break;
  }
  if (m.bitmask != 0) {
    val &= m.bitmask;
    const uint32_t shift = ShiftFor(m.bitmask);
    if (val != 0 && shift != 0) val >>= shift;
  }
  if (m.var >= 0) st.vars[m.var] = val;
  return kMatch;
}

// A dataset or datarep keyword on the whole buffer.
bool DatasetOk(const DatasetMatch& d, const uint8_t* buf, uint32_t len) {
  if (d.set == nullptr) return false;
  const std::span<const uint8_t> v(buf, len);
  switch (d.cmd) {
    case DatasetMatch::Cmd::kSet: return d.set->Add(v);
    case DatasetMatch::Cmd::kUnset: return d.set->Remove(v);
    case DatasetMatch::Cmd::kIsSet:
    case DatasetMatch::Cmd::kIsNotSet: {
      bool found = d.set->Contains(v);
      // match subdomain: a parent domain in the set counts ("a.b.example.com"
      // finds "example.com"; with dotprefix ".example.com").
      for (uint32_t k = 0; !found && d.subdomain && k < len; ++k) {
        if (buf[k] != '.' || k + 1 >= len) continue;
        found = d.set->Contains(v.subspan(k)) || d.set->Contains(v.subspan(k + 1));
      }
      return found == (d.cmd == DatasetMatch::Cmd::kIsSet);
    }
    case DatasetMatch::Cmd::kRep: {
      const std::optional<uint32_t> rep = d.set->Rep(v);
      if (!rep) return false;
      switch (d.rep_op) {
        case DatasetMatch::RepOp::kGt: return *rep > d.rep_value;
        case DatasetMatch::RepOp::kLt: return *rep < d.rep_value;
        case DatasetMatch::RepOp::kGe: return *rep >= d.rep_value;
        case DatasetMatch::RepOp::kLe: return *rep <= d.rep_value;
        case DatasetMatch::RepOp::kEq: return *rep == d.rep_value;
      }
      return false;
    }
  }
  return false;
}

int Walk(const std::vector<SigMatch>& ms, size_t i, const uint8_t* buf, uint32_t len, InspectState& st) {
  if (++st.recursion >= st.recursion_limit) return kDiscontinue;
  const SigMatch& sm = ms[i];
  switch (sm.index()) {
    case 0:
      return DoContent(ms, i, std::get<ContentMatch>(sm), buf, len, st);
    case 1:
      return DoPcre(ms, i, std::get<PcreMatch>(sm), buf, len, st);
    case 2: {
      const int r = DoByteTest(std::get<ByteTestMatch>(sm), buf, len, st);
      return r == kMatch ? Next(ms, i, buf, len, st) : r;
    }
    case 3: {
      const int r = DoByteJump(std::get<ByteJumpMatch>(sm), buf, len, st);
      return r == kMatch ? Next(ms, i, buf, len, st) : r;
    }
    case 4: {
      const int r = DoByteExtract(std::get<ByteExtractMatch>(sm), buf, len, st);
      return r == kMatch ? Next(ms, i, buf, len, st) : r;
    }
    case 5: {
      const int r = DoByteMath(std::get<ByteMathMatch>(sm), buf, len, st);
      return r == kMatch ? Next(ms, i, buf, len, st) : r;
    }
    case 6: {
      const auto& id = std::get<IsDataAtMatch>(sm);
      uint64_t dataat = id.offset;
      if (id.offset_var >= 0) {
        dataat = st.vars[id.offset_var];
        if (dataat >= 100000000) return id.negated ? Next(ms, i, buf, len, st) : kNoMatch;
      }
      bool present;
      if (id.relative) {
        present = st.buffer_offset + dataat <= len;
      } else {
        present = dataat < len;
      }
      if (present != id.negated) return Next(ms, i, buf, len, st);
      return id.offset_var >= 0 ? kNoMatch : kDiscontinue;
    }
    case 7: {
      const auto& lm = std::get<LengthMatch>(sm);
      const uint64_t size = len + st.stream_start_offset;
      if (lm.check.Matches(size)) return Next(ms, i, buf, len, st);
      // A buffer still growing may reach the size later.
      if (!st.eof && size < lm.check.MinMatch()) return kNoMatch;
      return kDiscontinue;
    }
    case 8: {
      const auto& bd = std::get<Base64DecodeMatch>(sm);
      uint64_t start = bd.offset;
      if (bd.relative) start += st.buffer_offset;
      if (start >= len) return kNoMatch;
      uint64_t n = len - start;
      if (bd.bytes != 0 && bd.bytes < n) n = bd.bytes;
      st.b64 = DecodeBase64(std::span<const uint8_t>(buf + start, static_cast<size_t>(n)),
                            Transform::B64Mode::kRfc2045);
      // The decoded data is a new buffer for the base64_data keywords; when
      // they match, the whole list has matched (Suricata treats it as the
      // end of the list).
      if (st.b64.empty() || st.b64_list == nullptr || st.b64_list->empty()) return kNoMatch;
      const std::string decoded = st.b64;
      st.buffer_offset = 0;
      const int r = Walk(*st.b64_list, 0, reinterpret_cast<const uint8_t*>(decoded.data()),
                         static_cast<uint32_t>(decoded.size()), st);
      return r == kMatch ? kMatch : kNoMatch;
    }
    case 9: {
      // absent: the buffer exists, so only or_else lets the rest run.
      const auto& a = std::get<AbsentMatch>(sm);
      return a.or_else ? Next(ms, i, buf, len, st) : kNoMatch;
    }
    case 10:
      // dataset / datarep: the whole buffer, once (retries would repeat a `set`).
      return DatasetOk(std::get<DatasetMatch>(sm), buf, len) ? Next(ms, i, buf, len, st) : kDiscontinue;
    default:
      return kNoMatch;
  }
}

}  // namespace

const uint8_t* FindContent(const ContentMatch& c, const uint8_t* hay, size_t n) {
  const size_t m = c.pattern.size();
  if (m == 0 || m > n) return nullptr;
  if (!c.nocase) {
    return static_cast<const uint8_t*>(memmem(hay, n, c.pattern.data(), m));
  }
  const auto* pat = reinterpret_cast<const uint8_t*>(c.folded.data());
  const uint8_t first = pat[0];
  const uint8_t first_upper = static_cast<uint8_t>(first >= 'a' && first <= 'z' ? first - 32 : first);
  const size_t last = n - m;
  for (size_t i = 0; i <= last;) {
    // Skip to the next byte that can start the pattern.
    const uint8_t* p1 = static_cast<const uint8_t*>(std::memchr(hay + i, first, last - i + 1));
    const uint8_t* p2 = first_upper != first
                            ? static_cast<const uint8_t*>(std::memchr(hay + i, first_upper, last - i + 1))
                            : nullptr;
    const uint8_t* p = p1 == nullptr ? p2 : (p2 == nullptr ? p1 : std::min(p1, p2));
    if (p == nullptr) return nullptr;
    size_t j = 1;
    while (j < m && kFold[p[j]] == pat[j]) ++j;
    if (j == m) return p;
    i = static_cast<size_t>(p - hay) + 1;
  }
  return nullptr;
}

bool InspectList(const std::vector<SigMatch>& list, std::span<const uint8_t> buf, InspectState& st) {
  if (list.empty()) return true;
  st.Reset();
  static const uint8_t kEmpty = 0;
  const uint8_t* data = buf.empty() ? &kEmpty : buf.data();
  return Walk(list, 0, data, static_cast<uint32_t>(buf.size()), st) == kMatch;
}

bool ListMatchesAbsentBuffer(const std::vector<SigMatch>& list) {
  for (const SigMatch& m : list) {
    if (std::holds_alternative<AbsentMatch>(m)) return true;
  }
  return false;
}

std::string DecodeBase64(std::span<const uint8_t> in, Transform::B64Mode mode) {
  auto val = [](uint8_t c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (uint8_t c : in) {
    if (c == '=') break;
    const int v = val(c);
    if (v < 0) {
      if (mode == Transform::B64Mode::kRfc2045) continue;  // Skip what is not base64 (line breaks...).
      if (mode == Transform::B64Mode::kStrict) return std::string();
      break;  // RFC 4648: decoding stops at the first byte outside the alphabet.
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

namespace {

bool IsSpace(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

int HexVal(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Inflates gzip (gzip = true) or zlib/raw deflate data, keeping at most
// `max` bytes. Whatever decoded before an error is kept, as Suricata does.
bool Inflate(std::string_view in, bool gzip, uint32_t max, std::string* out) {
  out->clear();
  if (in.empty()) return false;
  z_stream zs{};
  // 16+MAX_WBITS: gzip only; 32+MAX_WBITS: zlib or gzip. Raw deflate is
  // tried when the zlib header is missing.
  int wbits = gzip ? 16 + MAX_WBITS : MAX_WBITS;
  if (!gzip && in.size() >= 2) {
    const unsigned h = (static_cast<unsigned char>(in[0]) << 8) | static_cast<unsigned char>(in[1]);
    if ((static_cast<unsigned char>(in[0]) & 0x0f) != 8 || h % 31 != 0) wbits = -MAX_WBITS;
  }
  if (inflateInit2(&zs, wbits) != Z_OK) return false;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  unsigned char buf[4096];
  int rc = Z_OK;
  while (out->size() < max && rc == Z_OK) {
    zs.next_out = buf;
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    const size_t produced = sizeof(buf) - zs.avail_out;
    out->append(reinterpret_cast<const char*>(buf), std::min<size_t>(produced, max - out->size()));
    if (produced == 0 && rc == Z_OK) break;
  }
  inflateEnd(&zs);
  return !out->empty();
}

bool Digest(const EVP_MD* md, std::string_view in, std::string* out) {
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(in.data(), in.size(), buf, &n, md, nullptr) != 1) return false;
  out->assign(reinterpret_cast<const char*>(buf), n);
  return true;
}

}  // namespace

bool ApplyTransforms(const std::vector<Transform>& transforms, std::span<const uint8_t> in, std::string* out,
                     RegexScratch& regex) {
  out->assign(reinterpret_cast<const char*>(in.data()), in.size());
  std::string tmp;
  for (const Transform& t : transforms) {
    std::string& s = *out;
    switch (t.kind) {
      case TransformKind::kDotPrefix:
        s.insert(s.begin(), '.');
        break;
      case TransformKind::kStripWhitespace:
        std::erase_if(s, [](char c) { return IsSpace(static_cast<uint8_t>(c)); });
        break;
      case TransformKind::kCompressWhitespace: {
        tmp.clear();
        bool prev_space = false;
        for (char c : s) {
          const bool sp = IsSpace(static_cast<uint8_t>(c));
          if (sp && prev_space) continue;
          tmp.push_back(sp ? ' ' : c);
          prev_space = sp;
        }
        s.swap(tmp);
        break;
      }
      case TransformKind::kToLower:
        for (char& c : s) c = static_cast<char>(kFold[static_cast<uint8_t>(c)]);
        break;
      case TransformKind::kToUpper:
        for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        break;
      case TransformKind::kToMd5:
        if (!Digest(EVP_md5(), s, &tmp)) return false;
        s.swap(tmp);
        break;
      case TransformKind::kToSha1:
        if (!Digest(EVP_sha1(), s, &tmp)) return false;
        s.swap(tmp);
        break;
      case TransformKind::kToSha256:
        if (!Digest(EVP_sha256(), s, &tmp)) return false;
        s.swap(tmp);
        break;
      case TransformKind::kUrlDecode: {
        tmp.clear();
        for (size_t i = 0; i < s.size(); ++i) {
          const uint8_t c = static_cast<uint8_t>(s[i]);
          if (c == '%' && i + 2 < s.size()) {
            const int h = HexVal(static_cast<uint8_t>(s[i + 1]));
            const int l = HexVal(static_cast<uint8_t>(s[i + 2]));
            if (h >= 0 && l >= 0) {
              tmp.push_back(static_cast<char>((h << 4) | l));
              i += 2;
              continue;
            }
          }
          tmp.push_back(c == '+' ? ' ' : static_cast<char>(c));
        }
        s.swap(tmp);
        break;
      }
      case TransformKind::kXor:
        if (t.key_len > 0) {
          if (static_cast<size_t>(t.key_offset) + t.key_len > s.size() || t.data_offset > s.size()) return false;
          const std::string key = s.substr(t.key_offset, t.key_len);
          tmp.assign(s, t.data_offset);
          for (size_t i = 0; i < tmp.size(); ++i) tmp[i] = static_cast<char>(tmp[i] ^ key[i % key.size()]);
          s.swap(tmp);
        } else if (!t.key.empty()) {
          for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>(s[i] ^ t.key[i % t.key.size()]);
        }
        break;
      case TransformKind::kFromBase64: {
        size_t start = std::min<size_t>(t.b64_offset, s.size());
        size_t n = s.size() - start;
        if (t.b64_bytes != 0 && t.b64_bytes < n) n = t.b64_bytes;
        tmp = DecodeBase64(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()) + start, n),
                           t.b64_mode);
        s.swap(tmp);
        break;
      }
      case TransformKind::kPcreXform: {
        size_t b = 0, e = 0;
        if (!t.re->Capture(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()), regex,
                           &b, &e)) {
          return false;
        }
        tmp.assign(s, b, e - b);
        s.swap(tmp);
        break;
      }
      case TransformKind::kHeaderLowercase: {
        bool in_name = true;
        for (char& c : s) {
          if (c == '\n') {
            in_name = true;
          } else if (c == ':') {
            in_name = false;
          } else if (in_name) {
            c = static_cast<char>(kFold[static_cast<uint8_t>(c)]);
          }
        }
        break;
      }
      case TransformKind::kGunzip:
      case TransformKind::kZlibDeflate:
        if (!Inflate(s, t.kind == TransformKind::kGunzip, t.max_size, &tmp)) return false;
        s.swap(tmp);
        break;
      case TransformKind::kSubslice: {
        // Out of range gives an empty buffer; truncate clamps instead.
        const int64_t n = static_cast<int64_t>(s.size());
        int64_t start = t.slice_offset >= 0 ? t.slice_offset : n + t.slice_offset;
        int64_t end = n;
        if (t.slice_length > 0) end = start + t.slice_length;
        if (t.slice_length < 0) end = n + t.slice_length;
        if (t.slice_truncate) {
          start = std::clamp<int64_t>(start, 0, n);
          end = std::clamp<int64_t>(end, 0, n);
        }
        if (start < 0 || start > n || end > n || end < start) {
          s.clear();
        } else {
          tmp.assign(s, static_cast<size_t>(start), static_cast<size_t>(end - start));
          s.swap(tmp);
        }
        break;
      }
      case TransformKind::kStripPseudoHeaders: {
        tmp.clear();
        size_t pos = 0;
        while (pos < s.size()) {
          size_t nl = s.find('\n', pos);
          const size_t end = nl == std::string::npos ? s.size() : nl + 1;
          if (s[pos] != ':') tmp.append(s, pos, end - pos);
          pos = end;
        }
        s.swap(tmp);
        break;
      }
    }
  }
  return true;
}

}  // namespace rampart::detect
