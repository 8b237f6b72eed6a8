// TLS keywords: tls.subject / tls.issuerdn / tls.fingerprint with a value,
// tls.version, ssl_version, certificate dates and validity. Each is a Check
// on the TLS transaction and ties the rule to TLS.

#include <cctype>

#include "agent/detect/rule_parser_internal.h"
#include "agent/detect/text_util.h"

namespace rampart::detect::parser {
namespace {

// "2015", "2015-10", "2015-10-22", "2015-10-22T10:20" or "...T10:20:30" as Unix seconds (UTC).
std::optional<int64_t> ParseCertDate(std::string_view s) {
  s = Trim(s);
  int vals[6] = {0, 1, 1, 0, 0, 0};
  const char seps[6] = {0, '-', '-', 'T', ':', ':'};
  size_t pos = 0;
  for (int i = 0; i < 6; ++i) {
    if (i > 0) {
      if (pos >= s.size()) break;
      if (s[pos] != seps[i] && !(i == 3 && s[pos] == ' ')) return std::nullopt;
      ++pos;
    }
    const size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
    auto n = ParseUint(s.substr(start, pos - start));
    if (!n || *n > 9999) return std::nullopt;
    vals[i] = static_cast<int>(*n);
  }
  if (pos != s.size()) return std::nullopt;
  if (vals[0] < 1970 || vals[1] < 1 || vals[1] > 12 || vals[2] < 1 || vals[2] > 31) return std::nullopt;
  // Days from the civil date (proleptic Gregorian), then seconds.
  int y = vals[0];
  const unsigned m = static_cast<unsigned>(vals[1]), d = static_cast<unsigned>(vals[2]);
  y -= m <= 2;
  const int era = y / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = static_cast<int64_t>(era) * 146097 + static_cast<int64_t>(doe) - 719468;
  return days * 86400 + vals[3] * 3600 + vals[4] * 60 + vals[5];
}

}  // namespace

// tls.subject:"CN=..." (a substring), tls.issuerdn, tls.fingerprint; without
// a value tls.subject and tls.issuerdn are the sticky buffers of the same field.
KwStatus Parser::TlsField(Check::Kind kind, const RawOption& o) {
  const std::string& v = o.value;
  if (!o.has_value || Trim(v).empty()) {
    if (kind == Check::Kind::kTlsFingerprint) return Fail("needs a value");
    current_list_ = ListFor(kind == Check::Kind::kTlsSubject ? BufferId::kTlsCertSubject : BufferId::kTlsCertIssuer, false);
    return std::nullopt;
  }
  Check c{kind};
  std::string_view t = Trim(v);
  if (!t.empty() && t[0] == '!') {
    c.negated = true;
    t = Trim(t.substr(1));
  }
  c.name = Unescape(Unquote(t));
  if (c.name.empty()) return Fail("needs a value");
  rule_->checks.push_back(std::move(c));
  if (rule_->proto.app == AppProto::kUnknown) rule_->proto.app = AppProto::kTls;
  return std::nullopt;
}

// tls_cert_expired, tls_cert_valid.
KwStatus Parser::TlsCertState(Check::Kind kind) {
  rule_->checks.push_back(Check{kind});
  if (rule_->proto.app == AppProto::kUnknown) rule_->proto.app = AppProto::kTls;
  return std::nullopt;
}

KwStatus Parser::SslVersion(const std::string& value) {
  Check c{Check::Kind::kSslVersion};
  uint32_t neg = 0;
  const std::string lowered = ToLower(value);
  for (auto p : Split(lowered, ',')) {
    bool n = false;
    if (!p.empty() && p[0] == '!') {
      n = true;
      p = Trim(p.substr(1));
    }
    uint32_t bit;
    if (p == "sslv2") {
      bit = 1;
    } else if (p == "sslv3") {
      bit = 2;
    } else if (p == "tls1.0") {
      bit = 4;
    } else if (p == "tls1.1") {
      bit = 8;
    } else if (p == "tls1.2") {
      bit = 16;
    } else if (p == "tls1.3") {
      bit = 32;
    } else {
      return Fail("unknown version '" + std::string(p) + "'");
    }
    if (n) {
      neg |= bit;
    } else {
      c.versions |= bit;
    }
  }
  // An entry matches when the version is (or, negated, is not) the one
  // named; the keyword matches when any entry does.
  c.bits = static_cast<uint16_t>(neg);
  c.proto = AppProto::kTls;
  rule_->checks.push_back(c);
  if (rule_->proto.app == AppProto::kUnknown) rule_->proto.app = AppProto::kTls;
  return std::nullopt;
}

KwStatus Parser::TlsVersion(const std::string& value) {
  Check c{Check::Kind::kTlsVersion};
  std::string v = ToLower(Trim(Unquote(value)));
  uint32_t ver;
  if (v == "1.0") {
    ver = 0x0301;
  } else if (v == "1.1") {
    ver = 0x0302;
  } else if (v == "1.2") {
    ver = 0x0303;
  } else if (v == "1.3") {
    ver = 0x0304;
  } else if (auto n = ParseUint(v); n && *n <= 0xffff) {
    ver = static_cast<uint32_t>(*n);
  } else {
    return Fail("unknown TLS version '" + v + "'");
  }
  c.versions = ver;
  rule_->checks.push_back(c);
  if (rule_->proto.app == AppProto::kUnknown) rule_->proto.app = AppProto::kTls;
  return std::nullopt;
}

KwStatus Parser::CertDate(bool not_before, const std::string& value) {
  Check c{not_before ? Check::Kind::kTlsNotBefore : Check::Kind::kTlsNotAfter};
  std::string_view v = Trim(value);
  const size_t range = v.find("<>");
  if (range != std::string_view::npos) {
    auto a = ParseCertDate(v.substr(0, range));
    auto b = ParseCertDate(v.substr(range + 2));
    if (!a || !b || *a >= *b) return Fail("expected DATE<>DATE with the first date earlier");
    c.num.mode = UintCheck::Mode::kRange;
    c.num.a = static_cast<uint64_t>(*a);
    c.num.b = static_cast<uint64_t>(*b);
  } else {
    UintCheck::Mode mode = UintCheck::Mode::kEq;
    if (!v.empty() && (v[0] == '<' || v[0] == '>')) {
      mode = v[0] == '<' ? UintCheck::Mode::kLt : UintCheck::Mode::kGt;
      v = Trim(v.substr(1));
    }
    auto a = ParseCertDate(v);
    if (!a) return Fail("'" + value + "' is not a date (YYYY[-MM[-DD[THH:MM[:SS]]]])");
    c.num.mode = mode;
    c.num.a = static_cast<uint64_t>(*a);
  }
  rule_->checks.push_back(c);
  if (rule_->proto.app == AppProto::kUnknown) rule_->proto.app = AppProto::kTls;
  return std::nullopt;
}

}  // namespace rampart::detect::parser
