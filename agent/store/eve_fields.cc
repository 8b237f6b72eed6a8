#include "agent/store/eve_fields.h"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <ctime>

namespace rampart::agent_store {
namespace {

constexpr int kMaxDepth = 64;

// A forward-only reader over one JSON text. Every method returns false on
// malformed input and leaves the position unspecified.
class Reader {
 public:
  explicit Reader(std::string_view text) : s_(text) {}

  void SkipBlanks() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool AtEnd() const { return i_ >= s_.size(); }
  char Peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool Consume(char c) {
    SkipBlanks();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }

  // A string; its unescaped text into *out when out is not null.
  bool String(std::string* out) {
    SkipBlanks();
    if (Peek() != '"') return false;
    ++i_;
    if (out) out->clear();
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (c != '\\') {
        if (out) out->push_back(c);
        continue;
      }
      if (i_ >= s_.size()) return false;
      const char e = s_[i_++];
      char plain = 0;
      switch (e) {
        case '"': plain = '"'; break;
        case '\\': plain = '\\'; break;
        case '/': plain = '/'; break;
        case 'b': plain = '\b'; break;
        case 'f': plain = '\f'; break;
        case 'n': plain = '\n'; break;
        case 'r': plain = '\r'; break;
        case 't': plain = '\t'; break;
        case 'u': {
          uint32_t cp = 0;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            // A high surrogate should be followed by \uDC00..DFFF; a lone one
            // becomes U+FFFD rather than invalid UTF-8.
            uint32_t low = 0;
            if (i_ + 1 < s_.size() && s_[i_] == '\\' && s_[i_ + 1] == 'u') {
              i_ += 2;
              if (!Hex4(&low)) return false;
              cp = (low >= 0xDC00 && low <= 0xDFFF) ? 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00) : 0xFFFD;
            } else {
              cp = 0xFFFD;
            }
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            cp = 0xFFFD;
          }
          if (out) AppendUtf8(out, cp);
          continue;
        }
        default: return false;
      }
      if (out) out->push_back(plain);
    }
    return false;  // Unterminated.
  }

  // A number's text (validated against JSON's grammar).
  bool Number(std::string_view* text) {
    SkipBlanks();
    const size_t start = i_;
    if (Peek() == '-') ++i_;
    if (Peek() == '0') {
      ++i_;
    } else if (Peek() >= '1' && Peek() <= '9') {
      while (Peek() >= '0' && Peek() <= '9') ++i_;
    } else {
      return false;
    }
    if (Peek() == '.') {
      ++i_;
      if (!(Peek() >= '0' && Peek() <= '9')) return false;
      while (Peek() >= '0' && Peek() <= '9') ++i_;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++i_;
      if (Peek() == '+' || Peek() == '-') ++i_;
      if (!(Peek() >= '0' && Peek() <= '9')) return false;
      while (Peek() >= '0' && Peek() <= '9') ++i_;
    }
    *text = s_.substr(start, i_ - start);
    return true;
  }

  bool Literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  // Any value, discarded.
  bool SkipValue(int depth) {
    if (depth > kMaxDepth) return false;
    SkipBlanks();
    switch (Peek()) {
      case '"': return String(nullptr);
      case '{': {
        ++i_;
        if (Consume('}')) return true;
        do {
          if (!String(nullptr) || !Consume(':') || !SkipValue(depth + 1)) return false;
        } while (Consume(','));
        return Consume('}');
      }
      case '[': {
        ++i_;
        if (Consume(']')) return true;
        do {
          if (!SkipValue(depth + 1)) return false;
        } while (Consume(','));
        return Consume(']');
      }
      case 't': return Literal("true");
      case 'f': return Literal("false");
      case 'n': return Literal("null");
      default: {
        std::string_view ignored;
        return Number(&ignored);
      }
    }
  }

 private:
  bool Hex4(uint32_t* out) {
    if (i_ + 4 > s_.size()) return false;
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
      else return false;
    }
    *out = v;
    return true;
  }

  static void AppendUtf8(std::string* out, uint32_t cp) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

// Reads an unsigned integer value into *out when it is one (and fits);
// otherwise skips the value. false only for malformed input.
template <typename T>
bool UnsignedValue(Reader& r, T* out) {
  r.SkipBlanks();
  const char c = r.Peek();
  if (c == '-' || (c >= '0' && c <= '9')) {
    std::string_view text;
    if (!r.Number(&text)) return false;
    T v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && end == text.data() + text.size()) *out = v;
    return true;
  }
  return r.SkipValue(1);
}

bool StringValue(Reader& r, std::string* out) {
  r.SkipBlanks();
  if (r.Peek() == '"') return r.String(out);
  return r.SkipValue(1);
}

bool AlertObject(Reader& r, EveFields* f) {
  r.SkipBlanks();
  if (r.Peek() != '{') return r.SkipValue(1);
  r.Consume('{');
  f->has_alert = true;
  if (r.Consume('}')) return true;
  std::string key;
  do {
    if (!r.String(&key) || !r.Consume(':')) return false;
    bool ok;
    if (key == "signature_id") ok = UnsignedValue(r, &f->signature_id);
    else if (key == "gid") ok = UnsignedValue(r, &f->gid);
    else if (key == "rev") ok = UnsignedValue(r, &f->rev);
    else if (key == "severity") ok = UnsignedValue(r, &f->severity);
    else if (key == "signature") ok = StringValue(r, &f->signature);
    else if (key == "category") ok = StringValue(r, &f->category);
    else if (key == "action") ok = StringValue(r, &f->action);
    else ok = r.SkipValue(2);
    if (!ok) return false;
  } while (r.Consume(','));
  return r.Consume('}');
}

int DigitsValue(std::string_view s, size_t pos, size_t n, bool* ok) {
  int v = 0;
  for (size_t k = 0; k < n; ++k) {
    if (pos + k >= s.size() || s[pos + k] < '0' || s[pos + k] > '9') {
      *ok = false;
      return 0;
    }
    v = v * 10 + (s[pos + k] - '0');
  }
  return v;
}

}  // namespace

std::optional<int64_t> ParseEveTimestamp(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS
  if (t.size() < 19 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != ' ') || t[13] != ':' ||
      t[16] != ':') {
    return std::nullopt;
  }
  bool ok = true;
  const int year = DigitsValue(t, 0, 4, &ok);
  const int month = DigitsValue(t, 5, 2, &ok);
  const int day = DigitsValue(t, 8, 2, &ok);
  const int hour = DigitsValue(t, 11, 2, &ok);
  const int minute = DigitsValue(t, 14, 2, &ok);
  const int second = DigitsValue(t, 17, 2, &ok);
  if (!ok || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  size_t i = 19;
  int64_t frac_nanos = 0;
  if (i < t.size() && t[i] == '.') {
    ++i;
    int digits = 0;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
      if (digits < 9) {
        frac_nanos = frac_nanos * 10 + (t[i] - '0');
        ++digits;
      }
      ++i;
    }
    if (digits == 0) return std::nullopt;
    for (int k = digits; k < 9; ++k) frac_nanos *= 10;
  }
  int offset_minutes = 0;
  if (i < t.size()) {
    if (t[i] == 'Z' && i + 1 == t.size()) {
      ++i;
    } else if (t[i] == '+' || t[i] == '-') {
      const int sign = t[i] == '-' ? -1 : 1;
      ++i;
      const int oh = DigitsValue(t, i, 2, &ok);
      i += 2;
      if (i < t.size() && t[i] == ':') ++i;
      const int om = DigitsValue(t, i, 2, &ok);
      i += 2;
      if (!ok || oh > 23 || om > 59 || i != t.size()) return std::nullopt;
      offset_minutes = sign * (oh * 60 + om);
    } else {
      return std::nullopt;
    }
  }
  if (i != t.size()) return std::nullopt;
  // Days from civil (proleptic Gregorian), without the C library's time zone.
  const int y = year - (month <= 2 ? 1 : 0);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int mp = (month + 9) % 12;
  const int doy = (153 * mp + 2) / 5 + day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = static_cast<int64_t>(era) * 146097 + doe - 719468;
  const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  // Nanoseconds since 1970 fit in int64_t from 1677 to 2262; other years
  // are malformed, not an overflow (found by eve_fields_fuzzer).
  constexpr int64_t kMaxSeconds = INT64_MAX / 1000000000 - 1;
  if (secs > kMaxSeconds || secs < -kMaxSeconds) return std::nullopt;
  return secs * 1000000000 + frac_nanos;
}

bool ParseEveFields(std::string_view line, EveFields* f) {
  *f = EveFields();
  Reader r(line);
  if (!r.Consume('{')) return false;
  if (!r.Consume('}')) {
    std::string key;
    std::string text;
    do {
      if (!r.String(&key) || !r.Consume(':')) return false;
      bool ok;
      if (key == "event_type") {
        ok = StringValue(r, &f->event_type);
      } else if (key == "timestamp") {
        text.clear();
        ok = StringValue(r, &text);
        if (ok && !text.empty()) f->timestamp_nanos = ParseEveTimestamp(text);
      } else if (key == "flow_id") {
        uint64_t v = 0;
        r.SkipBlanks();
        const bool numeric = r.Peek() >= '0' && r.Peek() <= '9';
        ok = UnsignedValue(r, &v);
        if (ok && numeric) f->flow_id = v;
      } else if (key == "src_ip") {
        ok = StringValue(r, &f->src_ip);
      } else if (key == "dest_ip") {
        ok = StringValue(r, &f->dest_ip);
      } else if (key == "src_port") {
        ok = UnsignedValue(r, &f->src_port);
      } else if (key == "dest_port") {
        ok = UnsignedValue(r, &f->dest_port);
      } else if (key == "proto") {
        // Suricata writes a name ("TCP") or, for unknown protocols, a number.
        r.SkipBlanks();
        if (r.Peek() >= '0' && r.Peek() <= '9') {
          std::string_view num;
          ok = r.Number(&num);
          if (ok) f->proto.assign(num);
        } else {
          ok = StringValue(r, &f->proto);
        }
      } else if (key == "app_proto") {
        ok = StringValue(r, &f->app_proto);
      } else if (key == "community_id") {
        ok = StringValue(r, &f->community_id);
      } else if (key == "alert") {
        ok = AlertObject(r, f);
      } else {
        ok = r.SkipValue(1);
      }
      if (!ok) return false;
    } while (r.Consume(','));
    if (!r.Consume('}')) return false;
  }
  r.SkipBlanks();
  return r.AtEnd();
}

}  // namespace rampart::agent_store
