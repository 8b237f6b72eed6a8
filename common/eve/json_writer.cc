#include "common/eve/json_writer.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "common/status/check.h"

namespace rampart::eve {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t len;
  uint32_t cp;
  if (b0 < 0x80) return 1;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  // Reject overlong forms, surrogates and values past U+10FFFF.
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    return 0;
  }
  return len;
}

void AppendEscapedByte(std::string* out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  char buf[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
  out->append(buf, 6);
}

}  // namespace

void AppendJsonString(std::string* out, std::string_view text) {
  // Bytes that need a look: controls, '"', '\\' and non-ASCII (UTF-8 check).
  static constexpr auto kPlain = [] {
    std::array<bool, 256> t{};
    for (int c = 0x20; c < 0x80; ++c) t[static_cast<size_t>(c)] = c != '"' && c != '\\';
    return t;
  }();
  out->push_back('"');
  size_t i = 0;
  size_t run_start = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (kPlain[c]) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const size_t len = Utf8SequenceLength(text, i);
      if (len > 0) {
        i += len;
        continue;
      }
    }
    out->append(text.data() + run_start, i - run_start);
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default: AppendEscapedByte(out, c);
    }
    ++i;
    run_start = i;
  }
  out->append(text.data() + run_start, text.size() - run_start);
  out->push_back('"');
}

void JsonWriter::Separator() {
  const uint64_t bit = uint64_t{1} << depth_;
  if (has_element_ & bit) out_->push_back(',');
  has_element_ |= bit;
}

void JsonWriter::WriteKey(std::string_view key) {
  RAMPART_CHECK(depth_ > 0) << "a keyed JSON member needs an open object";
  Separator();
  // Keys are literal names chosen by the caller: no escaping needed.
  out_->push_back('"');
  out_->append(key);
  out_->append("\":", 2);
}

JsonWriter& JsonWriter::BeginObject() {
  if (depth_ > 0) Separator();
  out_->push_back('{');
  ++depth_;
  RAMPART_CHECK(depth_ < 64) << "JSON nested too deep";
  has_element_ &= ~(uint64_t{1} << depth_);
  return *this;
}

JsonWriter& JsonWriter::BeginObject(std::string_view key) {
  WriteKey(key);
  out_->push_back('{');
  ++depth_;
  RAMPART_CHECK(depth_ < 64) << "JSON nested too deep";
  has_element_ &= ~(uint64_t{1} << depth_);
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  RAMPART_CHECK(depth_ > 0) << "EndObject without BeginObject";
  out_->push_back('}');
  --depth_;
  return *this;
}

JsonWriter& JsonWriter::BeginArray(std::string_view key) {
  WriteKey(key);
  out_->push_back('[');
  ++depth_;
  RAMPART_CHECK(depth_ < 64) << "JSON nested too deep";
  has_element_ &= ~(uint64_t{1} << depth_);
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  if (depth_ > 0) Separator();
  out_->push_back('[');
  ++depth_;
  RAMPART_CHECK(depth_ < 64) << "JSON nested too deep";
  has_element_ &= ~(uint64_t{1} << depth_);
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  RAMPART_CHECK(depth_ > 0) << "EndArray without BeginArray";
  out_->push_back(']');
  --depth_;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view key, std::string_view value) {
  WriteKey(key);
  AppendJsonString(out_, value);
  return *this;
}

JsonWriter& JsonWriter::Int(std::string_view key, int64_t value) {
  WriteKey(key);
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), value);
  out_->append(buf, static_cast<size_t>(r.ptr - buf));
  return *this;
}

JsonWriter& JsonWriter::Uint(std::string_view key, uint64_t value) {
  WriteKey(key);
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof(buf), value);
  out_->append(buf, static_cast<size_t>(r.ptr - buf));
  return *this;
}

JsonWriter& JsonWriter::Double(std::string_view key, double value) {
  WriteKey(key);
  if (!std::isfinite(value)) {
    out_->append("null");  // JSON has no NaN or infinity.
    return *this;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", value);
  out_->append(buf);
  return *this;
}

JsonWriter& JsonWriter::Bool(std::string_view key, bool value) {
  WriteKey(key);
  out_->append(value ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::Null(std::string_view key) {
  WriteKey(key);
  out_->append("null");
  return *this;
}

JsonWriter& JsonWriter::Raw(std::string_view key, std::string_view json) {
  WriteKey(key);
  out_->append(json);
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view value) {
  Separator();
  AppendJsonString(out_, value);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t value) {
  Separator();
  out_->append(std::to_string(value));
  return *this;
}

JsonWriter& JsonWriter::Uint(uint64_t value) {
  Separator();
  out_->append(std::to_string(value));
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  Separator();
  out_->append(value ? "true" : "false");
  return *this;
}

}  // namespace rampart::eve
