// byte_test, byte_jump, byte_extract, byte_math (numbers read from the
// buffer) and isdataat (data at an offset), at offsets fixed or relative
// to the previous match.

#include "agent/detect/rule_parser_internal.h"
#include "agent/detect/text_util.h"

namespace rampart::detect::parser {

KwStatus Parser::ParseNumBase(std::string_view s, NumBase* base) {
  if (s == "dec") {
    *base = NumBase::kDec;
  } else if (s == "hex") {
    *base = NumBase::kHex;
  } else if (s == "oct") {
    *base = NumBase::kOct;
  } else {
    return Fail("number type must be hex, dec or oct");
  }
  return std::nullopt;
}

// The options byte_test, byte_jump and byte_extract share: relative, big,
// little, string, hex / dec / oct, dce, bitmask N. nullopt when `p` is none
// of them, else what reading it gave (a failure for a bad bitmask).
template <typename Match>
std::optional<KwStatus> Parser::SharedByteOption(std::string_view p, Match* m) {
  if (p == "relative") {
    m->relative = true;
  } else if (p == "big") {
    m->little = false;
  } else if (p == "little") {
    m->little = true;
  } else if (p == "string") {
    m->string = true;
  } else if (p == "hex" || p == "dec" || p == "oct") {
    return ParseNumBase(p, &m->base);
  } else if (p == "dce") {
    m->dce = true;
  } else if (p.starts_with("bitmask")) {
    auto n = ParseUint(Trim(p.substr(7)));
    if (!n || *n == 0 || *n > UINT32_MAX) return Fail("bad bitmask");
    m->bitmask = static_cast<uint32_t>(*n);
  } else {
    return std::nullopt;
  }
  return KwStatus();
}

// A payload keyword into the list it goes to (TargetList), as the last one.
KwStatus Parser::AddPayloadMatch(SigMatch m, bool relative) {
  const int li = TargetList(relative);
  last_sm_list_ = li;
  Matches(li).push_back(std::move(m));
  return std::nullopt;
}

KwStatus Parser::IsDataAt(const std::string& value) {
  IsDataAtMatch m;
  auto parts = Split(value, ',');
  std::string_view first = parts[0];
  if (!first.empty() && first[0] == '!') {
    m.negated = true;
    first = Trim(first.substr(1));
  }
  if (IsIdentifier(first)) {
    auto vi = VarByName(first);
    if (!vi) return Fail("unknown variable '" + std::string(first) + "'");
    m.offset_var = *vi;
  } else {
    auto n = ParseUint(first);
    if (!n || *n > 65535) return Fail("'" + std::string(first) + "' is not an offset");
    m.offset = static_cast<uint32_t>(*n);
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i] == "relative") {
      m.relative = true;
    } else if (parts[i] == "rawbytes") {
    } else {
      return Fail("unknown option '" + std::string(parts[i]) + "'");
    }
  }
  return AddPayloadMatch(m, m.relative);
}

KwStatus Parser::ByteTest(const std::string& value) {
  auto parts = Split(value, ',');
  if (parts.size() < 4) return Fail("expected bytes, operator, value, offset");
  ByteTestMatch m;
  auto nb = ParseUint(parts[0]);
  if (nb) {
    // 0 with "string": the rest of the buffer (Suricata 7).
    if (*nb > 10) return Fail("number of bytes must be 1 to 10");
    m.nbytes = static_cast<uint8_t>(*nb);
  } else if (auto vi = VarByName(parts[0])) {
    m.nbytes_var = *vi;
  } else {
    return Fail("'" + std::string(parts[0]) + "' is not a byte count");
  }
  std::string_view op = parts[1];
  if (!op.empty() && op[0] == '!') {
    m.negate = true;
    op = Trim(op.substr(1));
  }
  if (op == "<") {
    m.op = ByteTestMatch::Op::kLt;
  } else if (op == ">") {
    m.op = ByteTestMatch::Op::kGt;
  } else if (op == "=" || op.empty()) {
    m.op = ByteTestMatch::Op::kEq;
  } else if (op == "&") {
    m.op = ByteTestMatch::Op::kAnd;
  } else if (op == "^") {
    m.op = ByteTestMatch::Op::kXor;
  } else if (op == ">=") {
    m.op = ByteTestMatch::Op::kGe;
  } else if (op == "<=") {
    m.op = ByteTestMatch::Op::kLe;
  } else {
    return Fail("unknown operator '" + std::string(parts[1]) + "'");
  }
  if (auto n = ParseUint(parts[2])) {
    m.value = *n;
  } else if (auto vi = VarByName(parts[2])) {
    m.value_var = *vi;
  } else {
    return Fail("'" + std::string(parts[2]) + "' is not a value");
  }
  if (auto n = ParseInt(parts[3])) {
    if (*n < -65535 || *n > 65535) return Fail("offset out of range");
    m.offset = static_cast<int32_t>(*n);
  } else if (auto vi = VarByName(parts[3])) {
    m.offset_var = *vi;
  } else {
    return Fail("'" + std::string(parts[3]) + "' is not an offset");
  }
  for (size_t i = 4; i < parts.size(); ++i) {
    std::string_view p = parts[i];
    if (auto shared = SharedByteOption(p, &m)) {
      if (*shared) return *shared;
    } else {
      return Fail("unknown option '" + std::string(p) + "'");
    }
  }
  if (!m.string && m.nbytes > 8) return Fail("binary byte_test reads at most 8 bytes");
  if (!m.string && m.nbytes == 0 && m.nbytes_var < 0) return Fail("number of bytes must be 1 to 8");
  return AddPayloadMatch(m, m.relative);
}

KwStatus Parser::ByteJump(const std::string& value) {
  auto parts = Split(value, ',');
  if (parts.size() < 2) return Fail("expected bytes, offset");
  ByteJumpMatch m;
  if (auto nb = ParseUint(parts[0])) {
    // 0: jump by the offsets alone, reading nothing.
    if (*nb > 10) return Fail("number of bytes must be 0 to 10");
    m.nbytes = static_cast<uint8_t>(*nb);
  } else if (auto vi = VarByName(parts[0])) {
    m.nbytes_var = *vi;
  } else {
    return Fail("'" + std::string(parts[0]) + "' is not a byte count");
  }
  if (auto n = ParseInt(parts[1])) {
    m.offset = static_cast<int32_t>(*n);
  } else if (auto vi = VarByName(parts[1])) {
    m.offset_var = *vi;
  } else {
    return Fail("'" + std::string(parts[1]) + "' is not an offset");
  }
  for (size_t i = 2; i < parts.size(); ++i) {
    std::string_view p = parts[i];
    if (auto shared = SharedByteOption(p, &m)) {
      if (*shared) return *shared;
    } else if (p == "align") {
      m.align = true;
    } else if (p == "from_beginning") {
      m.from_beginning = true;
    } else if (p == "from_end") {
      m.from_end = true;
    } else if (p.starts_with("multiplier")) {
      auto n = ParseUint(Trim(p.substr(10)));
      if (!n || *n == 0 || *n > 65535) return Fail("bad multiplier");
      m.multiplier = static_cast<uint32_t>(*n);
    } else if (p.starts_with("post_offset")) {
      auto n = ParseInt(Trim(p.substr(11)));
      if (!n || *n < -65535 || *n > 65535) return Fail("bad post_offset");
      m.post_offset = static_cast<int32_t>(*n);
    } else {
      return Fail("unknown option '" + std::string(p) + "'");
    }
  }
  if (!m.string && m.nbytes > 8) return Fail("binary byte_jump reads at most 8 bytes");
  if (m.from_beginning && m.from_end) return Fail("from_beginning and from_end exclude each other");
  return AddPayloadMatch(m, m.relative);
}

KwStatus Parser::ByteExtract(const std::string& value) {
  auto parts = Split(value, ',');
  if (parts.size() < 3) return Fail("expected bytes, offset, name");
  ByteExtractMatch m;
  auto nb = ParseUint(parts[0]);
  if (!nb || *nb < 1 || *nb > 10) return Fail("number of bytes must be 1 to 10");
  m.nbytes = static_cast<uint8_t>(*nb);
  auto off = ParseInt(parts[1]);
  if (!off || *off < -65535 || *off > 65535) return Fail("'" + std::string(parts[1]) + "' is not an offset");
  m.offset = static_cast<int32_t>(*off);
  if (!IsIdentifier(parts[2])) return Fail("'" + std::string(parts[2]) + "' is not a variable name");
  for (size_t i = 3; i < parts.size(); ++i) {
    std::string_view p = parts[i];
    if (auto shared = SharedByteOption(p, &m)) {
      if (*shared) return *shared;
    } else if (p.starts_with("multiplier")) {
      auto n = ParseUint(Trim(p.substr(10)));
      if (!n || *n == 0 || *n > 65535) return Fail("bad multiplier");
      m.multiplier = static_cast<uint32_t>(*n);
    } else if (p.starts_with("align")) {
      auto n = ParseUint(Trim(p.substr(5)));
      if (!n || (*n != 2 && *n != 4)) return Fail("align must be 2 or 4");
      m.align = true;
      m.align_value = static_cast<uint8_t>(*n);
    } else {
      return Fail("unknown option '" + std::string(p) + "'");
    }
  }
  if (!m.string && m.nbytes > 8) return Fail("binary byte_extract reads at most 8 bytes");
  auto vi = NewVar(parts[2]);
  if (!vi) return Fail("too many byte_extract/byte_math variables");
  m.var = *vi;
  return AddPayloadMatch(m, m.relative);
}

KwStatus Parser::ByteMath(const std::string& value) {
  ByteMathMatch m;
  bool have_bytes = false, have_offset = false, have_oper = false, have_rvalue = false;
  std::string result;
  for (auto p : Split(value, ',')) {
    if (p.empty()) continue;
    size_t sp = p.find(' ');
    std::string_view key = sp == std::string_view::npos ? p : p.substr(0, sp);
    std::string_view arg = sp == std::string_view::npos ? std::string_view() : Trim(p.substr(sp + 1));
    if (key == "bytes") {
      if (auto n = ParseUint(arg)) {
        if (*n < 1 || *n > 10) return Fail("bytes must be 1 to 10");
        m.nbytes = static_cast<uint8_t>(*n);
      } else if (auto vi = VarByName(arg)) {
        m.nbytes_var = *vi;
      } else {
        return Fail("bad bytes '" + std::string(arg) + "'");
      }
      have_bytes = true;
    } else if (key == "offset") {
      auto n = ParseInt(arg);
      if (!n || *n < -65535 || *n > 65535) return Fail("bad offset");
      m.offset = static_cast<int32_t>(*n);
      have_offset = true;
    } else if (key == "oper") {
      if (arg == "+") {
        m.op = ByteMathMatch::Op::kAdd;
      } else if (arg == "-") {
        m.op = ByteMathMatch::Op::kSub;
      } else if (arg == "*") {
        m.op = ByteMathMatch::Op::kMul;
      } else if (arg == "/") {
        m.op = ByteMathMatch::Op::kDiv;
      } else if (arg == "<<") {
        m.op = ByteMathMatch::Op::kShl;
      } else if (arg == ">>") {
        m.op = ByteMathMatch::Op::kShr;
      } else {
        return Fail("unknown oper '" + std::string(arg) + "'");
      }
      have_oper = true;
    } else if (key == "rvalue") {
      if (auto n = ParseUint(arg)) {
        if (*n > UINT32_MAX) return Fail("rvalue out of range");
        m.rvalue = *n;
      } else if (auto vi = VarByName(arg)) {
        m.rvalue_var = *vi;
      } else {
        return Fail("bad rvalue '" + std::string(arg) + "'");
      }
      have_rvalue = true;
    } else if (key == "result") {
      if (!IsIdentifier(arg)) return Fail("bad result name");
      result = std::string(arg);
    } else if (key == "relative") {
      m.relative = true;
    } else if (key == "endian") {
      if (arg == "little") {
        m.little = true;
      } else if (arg == "big") {
        m.little = false;
      } else if (arg == "dce") {
        m.dce = true;
      } else {
        return Fail("endian must be big, little or dce");
      }
    } else if (key == "string") {
      m.string = true;
      if (auto e = ParseNumBase(arg, &m.base)) return e;
    } else if (key == "dce") {
      m.dce = true;
    } else if (key == "bitmask") {
      auto n = ParseUint(arg);
      if (!n || *n == 0 || *n > UINT32_MAX) return Fail("bad bitmask");
      m.bitmask = static_cast<uint32_t>(*n);
    } else {
      return Fail("unknown option '" + std::string(key) + "'");
    }
  }
  if (!have_bytes || !have_offset || !have_oper || !have_rvalue || result.empty()) {
    return Fail("needs bytes, offset, oper, rvalue and result");
  }
  if (!m.string && m.nbytes > 4) return Fail("binary byte_math reads at most 4 bytes");
  auto vi = NewVar(result);
  if (!vi) return Fail("too many byte_extract/byte_math variables");
  m.var = *vi;
  return AddPayloadMatch(m, m.relative);
}

}  // namespace rampart::detect::parser
