#include "agent/applayer/http_lenient.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "common/util/text.h"

namespace rampart::applayer {
namespace {

inline bool IsBlank(char c) { return c == ' ' || c == '\t'; }
// Blanks, CR, LF, VT and FF: what libhtp accepts around a header colon.
inline bool IsSpecialWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
inline bool IsChunkCtl(char c) { return c == '\r' || c == '\n' || c == ' ' || c == '\t' || c == '\v' || c == '\f'; }
bool IsToken(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  if (c <= 32 || c >= 127) return false;
  switch (c) {
    case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':': case '\\': case '"':
    case '/': case '[': case ']': case '?': case '=': case '{': case '}':
      return false;
    default:
      return true;
  }
}

bool StartsWith(std::string_view s, size_t i, std::string_view p) { return i <= s.size() && s.substr(i).starts_with(p); }

// The response header grammar of libhtp, over a buffer that may still grow:
// every decision that needs bytes past the end sets `incomplete`, and the
// caller parses again once more data is there.
class HeadParser {
 public:
  explicit HeadParser(std::string_view s) : s_(s) {}
  bool incomplete = false;

  HeadResult Run(std::vector<LenientHeader>* out, size_t* consumed) {
    if (s_.empty()) return HeadResult::kNeedMore;
    // No headers at all: the block is just its end line.
    if (const size_t e = RegularEol(0); e > 0 && !incomplete) {
      *consumed = e;
      return HeadResult::kDone;
    }
    incomplete = false;
    size_t pos = 0;
    std::vector<LenientHeader> got;
    for (;;) {
      LenientHeader h;
      size_t next = 0;
      if (!Header(pos, &h, &next)) return incomplete ? HeadResult::kNeedMore : HeadResult::kError;
      got.push_back(std::move(h));
      pos = next;
      const size_t eoh = CompleteEol(pos);
      if (incomplete) return HeadResult::kNeedMore;
      if (eoh > 0) {
        *consumed = pos + eoh;
        for (auto& x : got) out->push_back(std::move(x));
        return HeadResult::kDone;
      }
    }
  }

 private:
  size_t n() const { return s_.size(); }
  char at(size_t i) const { return s_[i]; }

  // "\r\n" | "\n\r" | "\n" | "\r" (each as a complete tag).
  size_t RegularEol(size_t i) {
    if (i >= n()) {
      incomplete = true;
      return 0;
    }
    if (at(i) == '\r') return (i + 1 < n() && at(i + 1) == '\n') ? 2 : 1;
    if (at(i) == '\n') return (i + 1 < n() && at(i + 1) == '\r') ? 2 : 1;
    return 0;
  }
  // Complete-tag version that does not ask for more data.
  size_t RegularEolNoWait(size_t i) const {
    if (i >= n()) return 0;
    if (at(i) == '\r') return (i + 1 < n() && at(i + 1) == '\n') ? 2 : 1;
    if (at(i) == '\n') return (i + 1 < n() && at(i + 1) == '\r') ? 2 : 1;
    return 0;
  }
  size_t Blanks(size_t i) const {
    size_t j = i;
    while (j < n() && IsBlank(at(j))) ++j;
    return j - i;
  }
  // EOL, blanks, EOL: an empty folded line counts as one line end.
  size_t FoldingEmpty(size_t i) const {
    const size_t e1 = RegularEolNoWait(i);
    if (e1 == 0) return 0;
    const size_t sp = Blanks(i + e1);
    if (sp == 0) return 0;
    const size_t e2 = RegularEolNoWait(i + e1 + sp);
    return e2 == 0 ? 0 : e1 + sp + e2;
  }
  size_t CompleteEol(size_t i) {
    if (i >= n()) {
      incomplete = true;
      return 0;
    }
    if (StartsWith(s_, i, "\n\r\r\n") && (StartsWith(s_, i + 4, "\n") || StartsWith(s_, i + 4, "\r\n"))) return 4;
    if (const size_t fe = FoldingEmpty(i); fe > 0) return fe;
    if (StartsWith(s_, i, "\r\n\r")) {
      size_t k = i + 3;
      while (k < n() && (at(k) == '\r' || IsBlank(at(k)))) ++k;
      if (k > i + 3) {
        if (k >= n()) {
          incomplete = true;
          return 0;
        }
        if (at(k) == '\n') ++k;
        if (!(StartsWith(s_, k, "\n") || StartsWith(s_, k, "\r\n"))) return k - i;
      }
    }
    return RegularEolNoWait(i);
  }
  // Folding whitespace: blanks, or a lone CR (not before CR or LF) and blanks.
  size_t FoldingLws(size_t i) {
    if (i >= n()) {
      incomplete = true;
      return 0;
    }
    if (IsBlank(at(i))) {
      const size_t b = Blanks(i);
      if (i + b >= n()) incomplete = true;
      return b;
    }
    if (at(i) == '\r') {
      if (i + 1 >= n()) {
        incomplete = true;
        return 0;
      }
      if (at(i + 1) == '\r' || at(i + 1) == '\n') return 0;
      return 1 + Blanks(i + 1);
    }
    return 0;
  }
  // A line end that is not followed by folding.
  size_t Eol(size_t i) {
    const size_t e = CompleteEol(i);
    if (e == 0) return 0;
    if (FoldingLws(i + e) > 0) return 0;
    return e;
  }
  // Blanks, token characters, blanks, then ':' — a header line.
  bool LooksLikeHeaderLine(size_t i) {
    size_t j = i + Blanks(i);
    while (j < n() && IsToken(at(j))) ++j;
    j += Blanks(j);
    if (j >= n()) {
      incomplete = true;
      return false;
    }
    return at(j) == ':';
  }
  // The end of headers written as a line end, blanks, and a line end that
  // does not start another header.
  size_t TerminatorSpecialCase(size_t i) {
    if (const size_t fe = FoldingEmpty(i); fe > 0 && RegularEolNoWait(i + fe) > 0) return fe;
    const size_t e = RegularEolNoWait(i);
    if (e == 0) return 0;
    const size_t sp = Blanks(i + e);
    if (sp == 0) return 0;
    if (i + e + sp >= n()) {
      incomplete = true;
      return 0;
    }
    const size_t e2 = RegularEolNoWait(i + e + sp);
    if (e2 == 0) return 0;
    if (LooksLikeHeaderLine(i + e + sp + e2)) return 0;
    return e + sp;
  }
  // After a value: (end, fold) where fold > 0 means a continuation follows.
  bool FoldingOrTerminator(size_t i, size_t* end, size_t* fold) {
    *fold = 0;
    if (const size_t t = TerminatorSpecialCase(i); t > 0) {
      *end = t;
      return true;
    }
    if (incomplete) return false;
    if (FoldingEmpty(i) == 0) {
      const size_t e = RegularEolNoWait(i);
      if (e > 0) {
        const size_t f = FoldingLws(i + e);
        if (f > 0) {
          *end = e;
          *fold = f;
          return true;
        }
        if (incomplete) return false;
      }
    }
    if (i < n() && at(i) == '\0') {
      *end = 1;
      return true;
    }
    const size_t e = Eol(i);
    if (incomplete || e == 0) return false;
    *end = e;
    return true;
  }
  // The bytes of one value line and what ends it.
  bool ValueBytes(size_t i, std::string_view* bytes, size_t* next, size_t* fold) {
    size_t j = i;
    while (j < n() && at(j) != '\n' && at(j) != '\r') ++j;
    if (j >= n()) {
      incomplete = true;
      return false;
    }
    *bytes = s_.substr(i, j - i);
    size_t end = 0;
    if (!FoldingOrTerminator(j, &end, fold)) return false;
    *next = j + end + *fold;
    return true;
  }
  static void TrimTrailingBlanks(std::string* v) {
    while (!v->empty() && IsBlank(v->back())) v->pop_back();
  }
  bool Value(size_t i, std::string* value, size_t* next) {
    std::string_view bytes;
    size_t after = 0, fold = 0;
    if (!ValueBytes(i, &bytes, &after, &fold)) return false;
    value->assign(bytes);
    if (fold == 0) {
      TrimTrailingBlanks(value);
      *next = after;
      return true;
    }
    size_t k = after;
    for (;;) {
      // A "folded" line that reads as a header is a header after all.
      if (LooksLikeHeaderLine(k)) {
        TrimTrailingBlanks(value);
        *next = after;
        return true;
      }
      if (incomplete) return false;
      std::string_view more;
      size_t more_next = 0, more_fold = 0;
      if (!ValueBytes(k, &more, &more_next, &more_fold)) return false;
      if (!value->empty()) value->push_back(' ');
      value->append(more);
      k = more_next;
      if (more_fold == 0) {
        TrimTrailingBlanks(value);
        *next = k;
        return true;
      }
    }
  }
  // Separator: optional CR/LF/VT/FF/blanks, ':', blanks, and (deformed)
  // more of them, never across an empty line.
  size_t Separator(size_t i) {
    auto two_eols = [&](size_t p) {
      bool saved = incomplete;
      const size_t e = CompleteEol(p);
      bool two = false;
      if (e > 0) two = CompleteEol(p + e) > 0;
      incomplete = saved;  // Lookahead only.
      return two;
    };
    if (!two_eols(i)) {
      size_t j = i;
      while (j < n() && IsSpecialWs(at(j))) ++j;
      if (j >= n()) {
        incomplete = true;
        return 0;
      }
      if (at(j) == ':') {
        size_t k = j + 1 + Blanks(j + 1);
        if (k >= n()) {
          incomplete = true;
          return 0;
        }
        if (!two_eols(k)) {
          size_t m = k;
          while (m < n() && IsSpecialWs(at(m))) ++m;
          if (m >= n()) {
            incomplete = true;
            return 0;
          }
          if (j > i || m > k) return m - i;  // Deformed.
        }
      }
    }
    if (i < n() && at(i) == ':') {
      const size_t b = Blanks(i + 1);
      if (i + 1 + b >= n()) {
        incomplete = true;
        return 0;
      }
      return 1 + b;
    }
    return 0;
  }
  bool Name(size_t i, std::string* name, size_t* next) {
    // Token characters between blanks, then a separator.
    size_t j = i + Blanks(i);
    const size_t nb = j;
    while (j < n() && IsToken(at(j))) ++j;
    const size_t ne = j;
    j += Blanks(j);
    if (j >= n()) {
      incomplete = true;
      return false;
    }
    if (Separator(j) > 0) {
      name->assign(s_.substr(nb, ne - nb));
      *next = j;
      return true;
    }
    if (incomplete) return false;
    // Any characters up to ':' (or a line end), then a separator.
    const size_t b = i + Blanks(i);
    for (int pass = 0; pass < 2; ++pass) {
      size_t k = b;
      while (k < n() && at(k) != ':' && at(k) != '\n' && (pass == 1 || at(k) != '\r')) ++k;
      if (k >= n()) {
        incomplete = true;
        return false;
      }
      if (Separator(k) > 0) {
        std::string_view v = s_.substr(b, k - b);
        while (!v.empty() && IsBlank(v.back())) v.remove_suffix(1);
        name->assign(v);
        *next = k;
        return true;
      }
      if (incomplete) return false;
    }
    return false;
  }
  bool Header(size_t i, LenientHeader* h, size_t* next) {
    size_t after_name = 0;
    if (Name(i, &h->name, &after_name)) {
      const size_t sep = Separator(after_name);
      if (sep > 0 && Value(after_name + sep, &h->value, next)) return true;
      if (incomplete) return false;
    } else if (incomplete) {
      return false;
    }
    // No colon: an empty name with the line as value.
    h->name.clear();
    if (StartsWith(s_, i, "\r\n")) return false;
    size_t j = i;
    while (j < n() && at(j) != ':' && at(j) != '\n') ++j;
    if (j >= n()) {
      incomplete = true;
      return false;
    }
    if (j == i) return false;
    size_t ve = j;
    if (at(ve - 1) == '\r') --ve;
    if (ve < n() && at(ve) == '\0') {
      h->value.assign(s_.substr(i, ve - i));
      *next = ve + 1;
      return true;
    }
    const size_t e = CompleteEol(ve);
    if (e == 0) return false;
    h->value.assign(s_.substr(i, ve - i));
    *next = ve + e;
    return true;
  }

  std::string_view s_;
};

}  // namespace

bool EqualsNoCaseNoZero(std::string_view text, std::string_view want) {
  size_t j = 0;
  for (char c : text) {
    if (c == '\0') continue;
    if (j >= want.size() || AsciiToLower(c) != AsciiToLower(want[j])) return false;
    ++j;
  }
  return j == want.size();
}

bool ContainsNoCaseNoZero(std::string_view text, std::string_view want) {
  if (want.empty()) return true;
  for (size_t i = 0; i < text.size(); ++i) {
    size_t k = i, j = 0;
    while (j < want.size() && k < text.size()) {
      if (text[k] == '\0') {
        ++k;
        continue;
      }
      if (AsciiToLower(text[k]) != AsciiToLower(want[j])) break;
      ++j;
      ++k;
    }
    if (j == want.size()) return true;
  }
  return false;
}

size_t ResponseLineEnd(std::string_view data, size_t* eol_len) {
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] == '\n') {
      *eol_len = 1;
      return i;
    }
    if (data[i] == '\r') {
      if (i + 1 >= data.size()) return std::string_view::npos;
      *eol_len = data[i + 1] == '\n' ? 2 : 1;
      return i;
    }
  }
  return std::string_view::npos;
}

bool LooksLikeResponseLine(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\0' || line[i] == '\v' ||
                             line[i] == '\f' || line[i] == '\r' || line[i] == '\n')) {
    ++i;
  }
  return line.size() >= i + 4 && AsciiToLower(line[i]) == 'h' && AsciiToLower(line[i + 1]) == 't' && AsciiToLower(line[i + 2]) == 't' &&
         AsciiToLower(line[i + 3]) == 'p';
}

HeadResult ParseResponseHeaders(std::string_view data, std::vector<LenientHeader>* out, size_t* consumed) {
  HeadParser p(data);
  return p.Run(out, consumed);
}

ChunkLine ParseChunkLine(std::string_view line) {
  ChunkLine r;
  size_t i = 0;
  while (i < line.size() && IsChunkCtl(line[i])) ++i;
  if (i == line.size()) {
    r.kind = ChunkLine::Kind::kSkip;
    return r;
  }
  uint64_t v = 0;
  size_t digits = 0;
  while (i < line.size() && HexDigitValue(line[i]) >= 0) {
    if (digits < 16) v = v * 16 + static_cast<uint64_t>(HexDigitValue(line[i]));
    ++digits;
    ++i;
  }
  if (digits == 0 || digits > 16 || v > 0x7fffffffu) {
    r.kind = ChunkLine::Kind::kInvalid;
    return r;
  }
  r.kind = ChunkLine::Kind::kLength;
  r.length = v;
  return r;
}

bool MayBeChunkLine(std::string_view partial) {
  size_t i = 0;
  while (i < partial.size() && IsChunkCtl(partial[i])) ++i;
  return i == partial.size() || HexDigitValue(partial[i]) >= 0;
}

bool ParseLenientContentLength(std::string_view value, uint64_t* out) {
  size_t i = 0;
  while (i < value.size() && !(value[i] >= '0' && value[i] <= '9')) ++i;
  if (i == value.size()) return false;
  uint64_t v = 0;
  size_t digits = 0;
  while (i < value.size() && value[i] >= '0' && value[i] <= '9') {
    if (++digits > 18) return false;
    v = v * 10 + static_cast<uint64_t>(value[i] - '0');
    ++i;
  }
  *out = v;
  return true;
}

size_t ContentEncodingLayers(std::string_view value) {
  size_t layers = 0, i = 0;
  while (i < value.size()) {
    while (i < value.size() && (value[i] == ',' || value[i] == ' ')) ++i;
    if (i == value.size()) break;
    ++layers;
    while (i < value.size() && value[i] != ',' && value[i] != ' ') ++i;
  }
  return layers;
}

// ------------------------------------------------------------------ decoding

struct BodyDecoder::Layer {
  enum class Stage : uint8_t { kHeader, kInflate, kDone, kPassThrough };
  Coding coding;
  Stage stage = Stage::kHeader;
  std::string header;  // Gzip header bytes collected so far.
  z_stream zs{};
  bool zs_init = false;
  bool raw = false;          // Inflating without the zlib wrapper.
  bool produced_any = false;  // Output was handed on (held output flushed).
  std::string fed;           // Input kept until output is handed on (a retry, or passing it through).
  bool fed_overflow = false;
  // Output held back until kHoldLimit bytes or the end of the stream, as
  // libhtp fills its 8 KiB buffer before it hands anything on: a stream
  // that breaks before then is taken as not coded and passes through.
  std::string held;
  static constexpr size_t kHoldLimit = 8192;

  ~Layer() {
    if (zs_init) inflateEnd(&zs);
  }
  bool Init(bool raw_mode) {
    if (zs_init) inflateEnd(&zs);
    zs = z_stream{};
    zs_init = inflateInit2(&zs, raw_mode ? -15 : 15) == Z_OK;
    raw = raw_mode;
    return zs_init;
  }
};

namespace {

// How many bytes a lenient gzip header takes, 0 while incomplete, SIZE_MAX
// when this is no gzip header.
size_t GzipHeaderLength(std::string_view h) {
  if (h.size() < 2) return 0;
  if (static_cast<uint8_t>(h[0]) != 0x1f || static_cast<uint8_t>(h[1]) != 0x8b) return SIZE_MAX;
  if (h.size() < 10) return 0;
  const auto flags = static_cast<uint8_t>(h[3]);
  size_t p = 10;
  if (flags & 0x04) {  // FEXTRA
    if (h.size() < p + 2) return 0;
    const size_t xlen = static_cast<uint8_t>(h[p]) | (static_cast<size_t>(static_cast<uint8_t>(h[p + 1])) << 8);
    p += 2 + xlen;
    if (h.size() < p) return 0;
  }
  for (uint8_t bit : {uint8_t{0x08}, uint8_t{0x10}}) {  // FNAME, FCOMMENT
    if (flags & bit) {
      const size_t z = h.find('\0', p);
      if (z == std::string_view::npos) return 0;
      p = z + 1;
    }
  }
  if (flags & 0x02) {  // FHCRC
    p += 2;
    if (h.size() < p) return 0;
  }
  return p;
}

bool LooksLikeZlib(const uint8_t* d, size_t n) {
  return n >= 2 && (d[0] & 0x0f) == 8 && (d[0] >> 4) <= 7 && ((d[0] << 8) | d[1]) % 31 == 0;
}

}  // namespace

std::unique_ptr<BodyDecoder> BodyDecoder::FromContentEncoding(std::string_view value, size_t max_layers) {
  std::vector<Coding> list;  // In the order the header lists them.
  if (EqualsNoCaseNoZero(value, "gzip") || EqualsNoCaseNoZero(value, "x-gzip")) {
    list.push_back(Coding::kGzip);
  } else if (EqualsNoCaseNoZero(value, "deflate") || EqualsNoCaseNoZero(value, "x-deflate")) {
    list.push_back(Coding::kDeflate);
  } else {
    size_t layers = 0, i = 0;
    while (i <= value.size()) {
      size_t j = i;
      while (j < value.size() && value[j] != ',' && value[j] != ' ') ++j;
      const std::string_view item = value.substr(i, j - i);
      i = j + 1;
      if (item.empty()) continue;
      if (++layers > max_layers) break;
      std::string lower;
      for (char c : item) lower.push_back(AsciiToLower(c));
      if (lower.find("gzip") != std::string::npos) {
        list.push_back(Coding::kGzip);
      } else if (lower.find("deflate") != std::string::npos) {
        list.push_back(Coding::kDeflate);
      }
    }
  }
  if (list.empty()) return nullptr;
  // The last coding applied is the first to undo.
  std::reverse(list.begin(), list.end());
  return std::make_unique<BodyDecoder>(std::move(list));
}

BodyDecoder::BodyDecoder(std::vector<Coding> outermost_first) {
  for (Coding c : outermost_first) {
    auto l = std::make_unique<Layer>();
    l->coding = c;
    layers_.push_back(std::move(l));
  }
}

BodyDecoder::~BodyDecoder() = default;

void BodyDecoder::FlushHeld(size_t i, std::string* out, size_t limit, uint64_t* produced) {
  Layer& l = *layers_[i];
  l.produced_any = true;
  l.fed.clear();
  if (l.held.empty()) return;
  const std::string held = std::move(l.held);
  l.held.clear();
  FeedLayer(i + 1, reinterpret_cast<const uint8_t*>(held.data()), held.size(), out, limit, produced);
}

uint64_t BodyDecoder::Finish(std::string* out, size_t room) {
  uint64_t produced = 0;
  const size_t limit = out->size() + room;
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (!layers_[i]->held.empty()) FlushHeld(i, out, limit, &produced);
  }
  return produced;
}

uint64_t BodyDecoder::Feed(const uint8_t* data, size_t len, std::string* out, size_t room) {
  uint64_t produced = 0;
  if (layers_.empty()) {
    out->append(reinterpret_cast<const char*>(data), std::min(len, room));
    return len;
  }
  const size_t before = out->size();
  FeedLayer(0, data, len, out, before + room, &produced);
  return produced;
}

// Runs `data` through layer i and hands its output to layer i+1 (or *out,
// capped at `limit` bytes in all).
void BodyDecoder::FeedLayer(size_t i, const uint8_t* data, size_t len, std::string* out, size_t limit,
                            uint64_t* produced) {
  if (len == 0) return;
  if (i == layers_.size()) {
    *produced += len;
    if (out->size() < limit) out->append(reinterpret_cast<const char*>(data), std::min(len, limit - out->size()));
    return;
  }
  Layer& l = *layers_[i];
  auto pass = [&](const uint8_t* d, size_t n) { FeedLayer(i + 1, d, n, out, limit, produced); };
  if (l.stage == Layer::Stage::kPassThrough) {
    pass(data, len);
    return;
  }
  if (l.stage == Layer::Stage::kDone) return;  // Trailer or junk after the stream.
  if (l.stage == Layer::Stage::kHeader) {
    // Gzip: a lenient header, then raw deflate. Deflate: zlib-wrapped when
    // the first bytes say so, else raw.
    l.header.append(reinterpret_cast<const char*>(data), len);
    const auto* h = reinterpret_cast<const uint8_t*>(l.header.data());
    size_t skip = 0;
    bool raw = true;
    if (l.coding == Coding::kGzip || (l.header.size() >= 2 && h[0] == 0x1f && h[1] == 0x8b)) {
      const size_t hl = GzipHeaderLength(l.header);
      if (hl == 0) return;  // More header bytes to come.
      if (hl != SIZE_MAX) {
        skip = hl;
      } else {
        raw = !LooksLikeZlib(h, l.header.size());  // "gzip" that is really deflate.
      }
    } else {
      if (l.header.size() < 2) return;
      raw = !LooksLikeZlib(h, l.header.size());
    }
    const std::string all = std::move(l.header);
    l.header.clear();
    if (!l.Init(raw)) {
      l.stage = Layer::Stage::kPassThrough;
      any_failed_ = true;
      pass(reinterpret_cast<const uint8_t*>(all.data()), all.size());
      return;
    }
    l.stage = Layer::Stage::kInflate;
    l.fed = all.substr(0, skip);  // The header too, should the data pass through.
    FeedLayer(i, reinterpret_cast<const uint8_t*>(all.data()) + skip, all.size() - skip, out, limit, produced);
    return;
  }
  // Inflate.
  if (!l.produced_any && !l.fed_overflow) {
    if (l.fed.size() + len > 65536) {
      l.fed_overflow = true;
      l.fed.clear();
    } else {
      l.fed.append(reinterpret_cast<const char*>(data), len);
    }
  }
  l.zs.next_in = const_cast<Bytef*>(data);
  l.zs.avail_in = static_cast<uInt>(len);
  uint8_t buf[16384];
  while (l.zs.avail_in > 0) {
    l.zs.next_out = buf;
    l.zs.avail_out = sizeof(buf);
    const int rc = inflate(&l.zs, Z_NO_FLUSH);
    const size_t got = sizeof(buf) - l.zs.avail_out;
    if (got > 0) {
      if (l.produced_any) {
        pass(buf, got);
      } else {
        l.held.append(reinterpret_cast<const char*>(buf), got);
        if (l.held.size() >= Layer::kHoldLimit) FlushHeld(i, out, limit, produced);
      }
    }
    if (rc == Z_STREAM_END) {
      FlushHeld(i, out, limit, produced);
      l.stage = Layer::Stage::kDone;  // The trailer (CRC, size) is not checked.
      return;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && got == 0) return;
    if (rc == Z_BUF_ERROR) continue;
    // A data error. Output still held is dropped with the attempt.
    if (!l.produced_any && l.fed_overflow) FlushHeld(i, out, limit, produced);  // Cannot pass through.
    l.held.clear();
    if (!l.produced_any && !l.raw && !l.fed_overflow && GzipHeaderLength(l.fed) == SIZE_MAX) {
      // The zlib wrapper was a guess: retry the same bytes raw.
      std::string again = std::move(l.fed);
      l.fed.clear();
      if (l.Init(true)) {
        FeedLayer(i, reinterpret_cast<const uint8_t*>(again.data()), again.size(), out, limit, produced);
        return;
      }
      l.fed = std::move(again);
    }
    if (l.produced_any) {
      // A corrupt end after good data (a bad zlib check value, junk):
      // what was decoded stands; the rest is ignored.
      l.stage = Layer::Stage::kDone;
      return;
    }
    // Not coded after all: pass the bytes through as they are.
    any_failed_ = true;
    l.stage = Layer::Stage::kPassThrough;
    const std::string all = std::move(l.fed);
    l.fed.clear();
    pass(reinterpret_cast<const uint8_t*>(all.data()), all.size());
    return;
  }
}

}  // namespace rampart::applayer
