#include "agent/detect/rule_parser.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <optional>

#include "agent/detect/text_util.h"

namespace rampart::detect {

uint32_t NameTable::Id(std::string_view name) {
  auto it = ids_.find(std::string(name));
  if (it != ids_.end()) return it->second;
  const uint32_t id = static_cast<uint32_t>(names_.size());
  names_.emplace_back(name);
  ids_.emplace(std::string(name), id);
  return id;
}

const MatchList* FindList(const Rule& r, BufferId id) {
  for (const auto& l : r.lists) {
    if (l.buffer == id) return &l;
  }
  return nullptr;
}

namespace {

// How a keyword handler ends: fine, the rule is invalid, or the keyword
// (or one of its forms) is not implemented here.
struct KwError {
  bool unsupported = false;
  std::string message;
};
using KwStatus = std::optional<KwError>;  // nullopt = OK

KwStatus Fail(std::string m) { return KwError{false, std::move(m)}; }
KwStatus Unsupported(std::string m) { return KwError{true, std::move(m)}; }

// Splits the option block on unescaped ';' into (name, value) pairs.
struct RawOption {
  std::string name;
  std::string value;
  bool has_value = false;
};

bool SplitOptions(std::string_view body, std::vector<RawOption>* out, std::string* error) {
  std::string cur;
  auto flush = [&]() -> bool {
    std::string_view t = Trim(cur);
    if (t.empty()) {
      cur.clear();
      return true;
    }
    RawOption o;
    // The name ends at the first unescaped ':'.
    size_t colon = std::string_view::npos;
    for (size_t i = 0; i < t.size(); ++i) {
      if (t[i] == '\\') {
        ++i;
        continue;
      }
      if (t[i] == ':') {
        colon = i;
        break;
      }
    }
    if (colon == std::string_view::npos) {
      o.name = std::string(Trim(t));
    } else {
      o.name = std::string(Trim(t.substr(0, colon)));
      o.value = std::string(Trim(t.substr(colon + 1)));
      o.has_value = true;
    }
    if (o.has_value && !o.value.empty() && o.value.front() == '"') {
      // As Suricata: a value that opens a quote closes it (an unescaped ';'
      // inside quotes ends the option early, so this is usually that).
      size_t backslashes = 0;
      for (size_t i = o.value.size() - 1; i > 0 && o.value[i - 1] == '\\'; --i) ++backslashes;
      if (o.value.size() < 2 || o.value.back() != '"' || backslashes % 2 == 1) {
        *error = "'" + o.name + "': quoted value " + o.value +
                 " is not closed (possible missing semicolon, or a ';' inside quotes not escaped as '\\;')";
        return false;
      }
    }
    if (o.name.empty()) {
      *error = "empty keyword name in '" + std::string(t) + "'";
      return false;
    }
    for (char c : o.name) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) {
        *error = "bad keyword name '" + o.name + "'";
        return false;
      }
    }
    out->push_back(std::move(o));
    cur.clear();
    return true;
  };
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '\\' && i + 1 < body.size()) {
      cur.push_back(c);
      cur.push_back(body[++i]);
      continue;
    }
    if (c == ';') {
      // Suricata requires ';' inside a quoted value to be escaped; an
      // unescaped one ends the option there, as it does in Suricata.
      if (!flush()) return false;
      continue;
    }
    cur.push_back(c);
  }
  if (!Trim(cur).empty()) {
    *error = "the last option '" + std::string(Trim(cur)) + "' is not terminated by ';'";
    return false;
  }
  return true;
}

// Splits the header on whitespace, keeping [ ... ] groups together.
std::vector<std::string_view> SplitHeader(std::string_view h) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < h.size()) {
    while (i < h.size() && std::isspace(static_cast<unsigned char>(h[i]))) ++i;
    if (i >= h.size()) break;
    size_t start = i;
    int depth = 0;
    while (i < h.size()) {
      if (h[i] == '[') ++depth;
      if (h[i] == ']') --depth;
      if (depth <= 0 && std::isspace(static_cast<unsigned char>(h[i]))) break;
      ++i;
    }
    out.push_back(h.substr(start, i - start));
  }
  return out;
}

// Decodes a content string: |hex| sections and backslash escapes.
std::optional<std::string> DecodeContent(std::string_view s, std::string* error) {
  std::string out;
  bool hex = false;
  int nib = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (hex) {
      if (c == '|') {
        if (nib != -1) {
          *error = "odd number of hex digits in content";
          return std::nullopt;
        }
        hex = false;
        continue;
      }
      if (c == ' ' || c == '\t') continue;
      int v;
      if (c >= '0' && c <= '9') {
        v = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        v = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        v = c - 'A' + 10;
      } else {
        *error = std::string("invalid hex character '") + c + "' in content";
        return std::nullopt;
      }
      if (nib == -1) {
        nib = v;
      } else {
        out.push_back(static_cast<char>((nib << 4) | v));
        nib = -1;
      }
      continue;
    }
    if (c == '|') {
      hex = true;
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= s.size()) {
        *error = "content ends in a lone backslash";
        return std::nullopt;
      }
      out.push_back(s[++i]);
      continue;
    }
    if (c == '"') {
      *error = "unescaped '\"' inside content";
      return std::nullopt;
    }
    out.push_back(c);
  }
  if (hex) {
    *error = "content has an unterminated |hex| section";
    return std::nullopt;
  }
  return out;
}

// Legacy content modifiers that move the previous content into a buffer.
struct ModifierName {
  std::string_view name;
  BufferId buffer;
};
constexpr ModifierName kModifiers[] = {
    {"http_uri", BufferId::kHttpUri},
    {"http_raw_uri", BufferId::kHttpUriRaw},
    {"http_method", BufferId::kHttpMethod},
    {"http_header", BufferId::kHttpHeader},
    {"http_raw_header", BufferId::kHttpHeaderRaw},
    {"http_cookie", BufferId::kHttpCookie},
    {"http_client_body", BufferId::kHttpRequestBody},
    {"http_server_body", BufferId::kHttpResponseBody},
    {"http_stat_code", BufferId::kHttpStatCode},
    {"http_stat_msg", BufferId::kHttpStatMsg},
    {"http_user_agent", BufferId::kHttpUserAgent},
    {"http_host", BufferId::kHttpHost},
    {"http_raw_host", BufferId::kHttpHostRaw},
};

// Sticky buffer keywords, with Suricata's older underscore names.
struct StickyName {
  std::string_view name;
  BufferId buffer;
};
constexpr StickyName kSticky[] = {
    {"http.uri", BufferId::kHttpUri},
    {"http.uri.raw", BufferId::kHttpUriRaw},
    {"http.method", BufferId::kHttpMethod},
    {"http.request_line", BufferId::kHttpRequestLine},
    {"http_request_line", BufferId::kHttpRequestLine},
    {"http.host", BufferId::kHttpHost},
    {"http.host.raw", BufferId::kHttpHostRaw},
    {"http.user_agent", BufferId::kHttpUserAgent},
    {"http.referer", BufferId::kHttpReferer},
    {"http_referer", BufferId::kHttpReferer},
    {"http.accept", BufferId::kHttpAccept},
    {"http_accept", BufferId::kHttpAccept},
    {"http.accept_enc", BufferId::kHttpAcceptEnc},
    {"http_accept_enc", BufferId::kHttpAcceptEnc},
    {"http.accept_lang", BufferId::kHttpAcceptLang},
    {"http_accept_lang", BufferId::kHttpAcceptLang},
    {"http.request_body", BufferId::kHttpRequestBody},
    {"http.request_header", BufferId::kHttpRequestHeader},
    {"http.stat_code", BufferId::kHttpStatCode},
    {"http.stat_msg", BufferId::kHttpStatMsg},
    {"http.response_line", BufferId::kHttpResponseLine},
    {"http_response_line", BufferId::kHttpResponseLine},
    {"http.location", BufferId::kHttpLocation},
    {"http_location", BufferId::kHttpLocation},
    {"http.server", BufferId::kHttpServer},
    {"http_server", BufferId::kHttpServer},
    {"http.response_body", BufferId::kHttpResponseBody},
    {"http_response_body", BufferId::kHttpResponseBody},
    {"http.response_header", BufferId::kHttpResponseHeader},
    {"http.protocol", BufferId::kHttpProtocol},
    {"http_protocol", BufferId::kHttpProtocol},
    {"http.header", BufferId::kHttpHeader},
    {"http.header.raw", BufferId::kHttpHeaderRaw},
    {"http.cookie", BufferId::kHttpCookie},
    {"http.header_names", BufferId::kHttpHeaderNames},
    {"http_header_names", BufferId::kHttpHeaderNames},
    {"http.connection", BufferId::kHttpConnection},
    {"http_connection", BufferId::kHttpConnection},
    {"http.content_type", BufferId::kHttpContentType},
    {"http_content_type", BufferId::kHttpContentType},
    {"http.content_len", BufferId::kHttpContentLen},
    {"http_content_len", BufferId::kHttpContentLen},
    {"http.start", BufferId::kHttpStart},
    {"http_start", BufferId::kHttpStart},
    {"file.data", BufferId::kFileData},
    {"file_data", BufferId::kFileData},
    {"dns.query", BufferId::kDnsQuery},
    {"dns_query", BufferId::kDnsQuery},
    {"tls.sni", BufferId::kTlsSni},
    {"tls_sni", BufferId::kTlsSni},
    {"tls.cert_subject", BufferId::kTlsCertSubject},
    {"tls_cert_subject", BufferId::kTlsCertSubject},
    {"tls.cert_issuer", BufferId::kTlsCertIssuer},
    {"tls_cert_issuer", BufferId::kTlsCertIssuer},
    {"tls.cert_serial", BufferId::kTlsCertSerial},
    {"tls_cert_serial", BufferId::kTlsCertSerial},
    {"tls.cert_fingerprint", BufferId::kTlsCertFingerprint},
    {"tls_cert_fingerprint", BufferId::kTlsCertFingerprint},
    {"tls.certs", BufferId::kTlsCerts},
    {"ja3.hash", BufferId::kJa3Hash},
    {"ja3_hash", BufferId::kJa3Hash},
    {"ja3.string", BufferId::kJa3String},
    {"ja3_string", BufferId::kJa3String},
    {"ja3s.hash", BufferId::kJa3sHash},
    {"ja3s.string", BufferId::kJa3sString},
    {"tls.random", BufferId::kTlsRandom},
    {"tls.random_time", BufferId::kTlsRandomTime},
    {"tls.random_bytes", BufferId::kTlsRandomBytes},
    {"quic.version", BufferId::kQuicVersion},
    {"sip.method", BufferId::kSipMethod},
    {"sip.uri", BufferId::kSipUri},
    {"sip.request_line", BufferId::kSipRequestLine},
    {"sip.protocol", BufferId::kSipProtocol},
    {"sip.stat_code", BufferId::kSipStatCode},
    {"sip.stat_msg", BufferId::kSipStatMsg},
    {"sip.response_line", BufferId::kSipResponseLine},
    {"sip.from", BufferId::kSipFrom},
    {"sip.to", BufferId::kSipTo},
    {"sip.via", BufferId::kSipVia},
    {"sip.user_agent", BufferId::kSipUserAgent},
    {"sip.content_type", BufferId::kSipContentType},
    {"sip.content_length", BufferId::kSipContentLength},
    {"sdp.origin", BufferId::kSdpOrigin},
    {"sdp.session_name", BufferId::kSdpSessionName},
    {"sdp.session_info", BufferId::kSdpSessionInfo},
    {"sdp.uri", BufferId::kSdpUri},
    {"sdp.email", BufferId::kSdpEmail},
    {"sdp.phone_number", BufferId::kSdpPhoneNumber},
    {"sdp.connection_data", BufferId::kSdpConnectionData},
    {"sdp.bandwidth", BufferId::kSdpBandwidth},
    {"sdp.time", BufferId::kSdpTime},
    {"sdp.repeat_time", BufferId::kSdpRepeatTime},
    {"sdp.timezone", BufferId::kSdpTimezone},
    {"sdp.encryption_key", BufferId::kSdpEncryptionKey},
    {"sdp.attribute", BufferId::kSdpAttribute},
    {"sdp.media.media", BufferId::kSdpMediaMedia},
    {"sdp.media.media_info", BufferId::kSdpMediaInfo},
    {"sdp.media.connection_data", BufferId::kSdpMediaConnectionData},
    {"sdp.media.encryption_key", BufferId::kSdpMediaEncryptionKey},
    {"sdp.media.bandwidth", BufferId::kSdpMediaBandwidth},
    {"sdp.media.attribute", BufferId::kSdpMediaAttribute},
    {"ssh.proto", BufferId::kSshProto},
    {"ssh_proto", BufferId::kSshProto},
    {"ssh.software", BufferId::kSshSoftware},
    {"ssh_software", BufferId::kSshSoftware},
    {"ssh.hassh", BufferId::kSshHassh},
    {"ssh-hassh", BufferId::kSshHassh},
    {"ssh.hassh.string", BufferId::kSshHasshString},
    {"ssh-hassh-string", BufferId::kSshHasshString},
    {"ssh.hassh.server", BufferId::kSshHasshServer},
    {"ssh-hassh-server", BufferId::kSshHasshServer},
    {"ssh.hassh.server.string", BufferId::kSshHasshServerString},
    {"ssh-hassh-server-string", BufferId::kSshHasshServerString},
    {"snmp.community", BufferId::kSnmpCommunity},
    {"smb.share", BufferId::kSmbShare},
    {"smb_share", BufferId::kSmbShare},
    {"smb.named_pipe", BufferId::kSmbNamedPipe},
    {"smb_named_pipe", BufferId::kSmbNamedPipe},
    {"llmnr.queries.rrname", BufferId::kLlmnrQueriesRrname},
    {"llmnr.answers.rrname", BufferId::kLlmnrAnswersRrname},
    {"ipv4.hdr", BufferId::kIpv4Hdr},
    {"ipv6.hdr", BufferId::kIpv6Hdr},
    {"tcp.hdr", BufferId::kTcpHdr},
    {"udp.hdr", BufferId::kUdpHdr},
    {"icmpv4.hdr", BufferId::kIcmpv4Hdr},
    {"icmpv6.hdr", BufferId::kIcmpv6Hdr},
    {"ip.src", BufferId::kIpSrc},
    {"ip.dst", BufferId::kIpDst},
};

struct TransformName {
  std::string_view name;
  TransformKind kind;
};
constexpr TransformName kTransforms[] = {
    {"dotprefix", TransformKind::kDotPrefix},
    {"strip_whitespace", TransformKind::kStripWhitespace},
    {"compress_whitespace", TransformKind::kCompressWhitespace},
    {"to_lowercase", TransformKind::kToLower},
    {"to_uppercase", TransformKind::kToUpper},
    {"to_md5", TransformKind::kToMd5},
    {"to_sha1", TransformKind::kToSha1},
    {"to_sha256", TransformKind::kToSha256},
    {"url_decode", TransformKind::kUrlDecode},
    {"xor", TransformKind::kXor},
    {"from_base64", TransformKind::kFromBase64},
    {"pcrexform", TransformKind::kPcreXform},
    {"header_lowercase", TransformKind::kHeaderLowercase},
    {"strip_pseudo_headers", TransformKind::kStripPseudoHeaders},
    {"gunzip", TransformKind::kGunzip},
    {"zlib_deflate", TransformKind::kZlibDeflate},
    {"subslice", TransformKind::kSubslice},
};

// Keywords Suricata knows that only affect logging, storage or IPS output:
// accepted and ignored, since they never change which alerts are raised.
constexpr std::string_view kIgnored[] = {"tag", "filestore", "prefilter", "replace", "rawbytes", "classtype_ignore"};

// Rule keywords of Suricata that this engine does not implement; a rule
// using one is skipped (the loader names the keyword in its summary).
// Unknown names are treated the same way.

class Parser {
 public:
  explicit Parser(const ParseEnv& env) : env_(env) {}

  ParseResult Run(std::string_view text) {
    ParseResult res;
    rule_ = std::make_unique<Rule>();
    if (auto err = ParseAll(text)) {
      res.outcome = err->unsupported ? ParseResult::Outcome::kSkipped : ParseResult::Outcome::kFailed;
      res.message = err->message;
      res.keyword = skipped_keyword_;
      return res;
    }
    res.outcome = ParseResult::Outcome::kOk;
    res.rule = std::move(rule_);
    return res;
  }

 private:
  KwStatus ParseAll(std::string_view text) {
    text = Trim(text);
    size_t open = text.find('(');
    if (open == std::string_view::npos) return Fail("no option block '(...)'");
    if (text.back() != ')') return Fail("the option block does not end with ')'");
    std::string_view header = text.substr(0, open);
    std::string_view body = text.substr(open + 1, text.size() - open - 2);
    if (auto e = ParseHeader(header)) return e;
    std::vector<RawOption> opts;
    std::string err;
    if (!SplitOptions(body, &opts, &err)) return Fail(err);
    for (const RawOption& o : opts) {
      if (auto e = Option(o)) {
        if (e->unsupported && skipped_keyword_.empty()) skipped_keyword_ = ToLower(o.name);
        if (!e->unsupported) e->message = o.name + ": " + e->message;
        return e;
      }
    }
    return Finish();
  }

  // ---------------------------------------------------------------- header
  KwStatus ParseHeader(std::string_view header) {
    auto toks = SplitHeader(header);
    if (toks.size() != 7) {
      return Fail("the header needs 7 fields (action proto src sport dir dst dport), found " +
                  std::to_string(toks.size()));
    }
    std::string action = ToLower(toks[0]);
    Rule& r = *rule_;
    if (action == "alert") {
      r.action = Action::kAlert;
    } else if (action == "pass") {
      r.action = Action::kPass;
    } else if (action == "drop") {
      r.action = Action::kDrop;
    } else if (action == "reject" || action == "rejectsrc" || action == "rejectdst" || action == "rejectboth") {
      r.action = Action::kReject;
    } else if (action == "config") {
      r.action = Action::kConfig;
    } else {
      return Fail("unknown action '" + std::string(toks[0]) + "'");
    }
    if (auto e = ParseProto(ToLower(toks[1]))) return e;
    const VarLookup lookup = env_.vars->Lookup();
    auto src = IpSet::Parse(toks[2], lookup);
    if (!src) return Fail(src.error().message());
    auto sport = PortSet::Parse(toks[3], lookup);
    if (!sport) return Fail(sport.error().message());
    auto dst = IpSet::Parse(toks[5], lookup);
    if (!dst) return Fail(dst.error().message());
    auto dport = PortSet::Parse(toks[6], lookup);
    if (!dport) return Fail(dport.error().message());
    r.src = std::move(*src);
    r.sport = std::move(*sport);
    r.dst = std::move(*dst);
    r.dport = std::move(*dport);
    r.addr_negated = ExpandsToNegation(toks[2], 0) || ExpandsToNegation(toks[5], 0);
    if (toks[4] == "->") {
      r.bidirectional = false;
    } else if (toks[4] == "<>") {
      r.bidirectional = true;
    } else if (toks[4] == "=>") {
      r.bidirectional = false;
      r.txbothdir = true;
    } else {
      return Fail("bad direction '" + std::string(toks[4]) + "' (use ->, <> or =>)");
    }
    if ((!r.sport.IsAny() || !r.dport.IsAny())) {
      // Ports need a protocol that has them.
      const bool ported = r.proto.any_ip || r.proto.ip_protos.test(6) || r.proto.ip_protos.test(17) ||
                          r.proto.ip_protos.test(132);
      if (!ported) return Fail("ports are given but the protocol has no ports");
    }
    return std::nullopt;
  }

  // Whether an address spec uses negation, after expanding variables.
  bool ExpandsToNegation(std::string_view spec, int depth) const {
    if (depth > 16) return false;
    for (size_t i = 0; i < spec.size(); ++i) {
      if (spec[i] == '!') return true;
      if (spec[i] == '$') {
        size_t j = i + 1;
        while (j < spec.size() && (std::isalnum(static_cast<unsigned char>(spec[j])) || spec[j] == '_')) ++j;
        auto v = env_.vars->Get(spec.substr(i + 1, j - i - 1));
        if (v && ExpandsToNegation(*v, depth + 1)) return true;
        i = j - 1;
      }
    }
    return false;
  }

  KwStatus ParseProto(const std::string& p) {
    ProtoSpec& ps = rule_->proto;
    auto set_all = [&] {
      ps.ip_protos.set();
      ps.any_ip = true;
    };
    if (p == "ip" || p == "any") {
      set_all();
    } else if (p == "ipv4" || p == "ip4") {
      set_all();
      ps.ipv4_only = true;
    } else if (p == "ipv6" || p == "ip6") {
      set_all();
      ps.ipv6_only = true;
    } else if (p == "tcp") {
      ps.ip_protos.set(6);
    } else if (p == "tcp-pkt") {
      ps.ip_protos.set(6);
      ps.tcp_pkt = true;
    } else if (p == "tcp-stream") {
      ps.ip_protos.set(6);
      ps.tcp_stream = true;
    } else if (p == "udp") {
      ps.ip_protos.set(17);
    } else if (p == "icmp") {
      ps.ip_protos.set(1);
      ps.ip_protos.set(58);
    } else if (p == "icmpv4") {
      ps.ip_protos.set(1);
    } else if (p == "icmpv6") {
      ps.ip_protos.set(58);
    } else if (p == "sctp") {
      ps.ip_protos.set(132);
    } else if (p == "igmp") {
      ps.ip_protos.set(2);
    } else if (p == "gre") {
      ps.ip_protos.set(47);
    } else if (p == "esp") {
      ps.ip_protos.set(50);
    } else if (p == "pkthdr") {
      set_all();
      ps.pkthdr = true;
    } else if (p == "arp") {
      ps.arp = true;
    } else if (p.find(':') != std::string::npos) {
      skipped_keyword_ = "protocol:" + p;
      return Unsupported("protocol hook '" + p + "' is not supported");
    } else if (auto app = AppProtoFromName(p); app && *app != AppProto::kFailed) {
      ps.app = *app;
      // App-layer protocols run over TCP, UDP or both.
      switch (*app) {
        case AppProto::kDns:
        case AppProto::kSip:
        case AppProto::kLlmnr:
          ps.ip_protos.set(6);
          ps.ip_protos.set(17);
          break;
        case AppProto::kSnmp:
        case AppProto::kTftp:
        case AppProto::kNtp:
        case AppProto::kIkev2:
        case AppProto::kDhcp:
        case AppProto::kQuic:
        case AppProto::kBittorrentDht:
        case AppProto::kMdns:
          ps.ip_protos.set(17);
          break;
        case AppProto::kKrb5:
        case AppProto::kNfs:
        case AppProto::kDcerpc:
          ps.ip_protos.set(6);
          ps.ip_protos.set(17);
          break;
        default:
          ps.ip_protos.set(6);
          break;
      }
    } else {
      skipped_keyword_ = "protocol:" + p;
      return Unsupported("protocol '" + p + "' is not supported");
    }
    return std::nullopt;
  }

  // --------------------------------------------------------------- options
  KwStatus Option(const RawOption& o) {
    const std::string name = ToLower(o.name);
    const std::string& v = o.value;
    auto need_value = [&]() -> KwStatus {
      if (!o.has_value || Trim(v).empty()) return Fail("needs a value");
      return std::nullopt;
    };
    auto no_value = [&]() -> KwStatus {
      if (o.has_value && !Trim(v).empty()) return Fail("takes no value");
      return std::nullopt;
    };
    Rule& r = *rule_;

    // Identity and metadata.
    if (name == "msg") {
      if (auto e = need_value()) return e;
      r.msg = Unescape(Unquote(v));
      return std::nullopt;
    }
    if (name == "sid") {
      if (auto e = need_value()) return e;
      auto n = ParseUint(v);
      if (!n || *n == 0 || *n > UINT32_MAX) return Fail("'" + v + "' is not a valid sid");
      if (have_sid_) return Fail("sid given twice");
      have_sid_ = true;
      r.sid = static_cast<uint32_t>(*n);
      return std::nullopt;
    }
    if (name == "rev") {
      auto n = ParseUint(v);
      if (!n || *n > UINT32_MAX) return Fail("'" + v + "' is not a valid rev");
      r.rev = static_cast<uint32_t>(*n);
      return std::nullopt;
    }
    if (name == "gid") {
      auto n = ParseUint(v);
      if (!n || *n > UINT32_MAX) return Fail("'" + v + "' is not a valid gid");
      r.gid = static_cast<uint32_t>(*n);
      return std::nullopt;
    }
    if (name == "classtype") {
      if (auto e = need_value()) return e;
      std::string cls = ToLower(Trim(v));
      const ClassInfo* ci = env_.classes->Find(cls);
      if (ci == nullptr) return Fail("unknown classtype '" + cls + "' (not in the classification file)");
      r.classtype = ci->name;
      r.category = ci->description;
      if (!r.priority_set) r.priority = ci->priority;
      return std::nullopt;
    }
    if (name == "priority") {
      auto n = ParseUint(v);
      if (!n || *n < 1 || *n > 255) return Fail("'" + v + "' is not a priority (1-255)");
      r.priority = static_cast<int>(*n);
      r.priority_set = true;
      return std::nullopt;
    }
    if (name == "reference") {
      if (auto e = need_value()) return e;
      size_t comma = v.find(',');
      if (comma == std::string::npos) return Fail("expected 'type,value'");
      r.references.push_back({std::string(Trim(v.substr(0, comma))), Unescape(Trim(v.substr(comma + 1)))});
      return std::nullopt;
    }
    if (name == "metadata") {
      for (auto part : Split(v, ',')) {
        if (!part.empty()) r.metadata.emplace_back(part);
      }
      return std::nullopt;
    }
    if (name == "target") {
      std::string t = ToLower(Trim(v));
      if (t != "src_ip" && t != "dest_ip") return Fail("must be src_ip or dest_ip");
      r.target = t;
      return std::nullopt;
    }
    if (name == "noalert") {
      r.noalert = true;
      return std::nullopt;
    }
    if (name == "requires") return Requires(v);
    if (name == "config") return Unsupported("config rules only change logging");
    for (auto ign : kIgnored) {
      if (name == ign) return std::nullopt;
    }

    // Content and its modifiers.
    if (name == "content") {
      if (auto e = need_value()) return e;
      return Content(v, CurrentList());
    }
    if (name == "uricontent") {
      if (auto e = need_value()) return e;
      return Content(v, ListFor(BufferId::kHttpUri, false));
    }
    if (name == "nocase") {
      if (auto e = no_value()) return e;
      ContentMatch* c = LastContent();
      if (c == nullptr) return Fail("no preceding content");
      if (c->nocase) return Fail("nocase given twice for one content");
      c->nocase = true;
      return std::nullopt;
    }
    if (name == "depth" || name == "offset" || name == "distance" || name == "within") return Positional(name, v);
    if (name == "startswith" || name == "endswith") {
      ContentMatch* c = LastContent();
      if (c == nullptr) return Fail("no preceding content");
      if (name == "startswith") {
        if (c->has_depth || c->has_offset || c->relative()) return Fail("cannot be mixed with depth, offset, distance or within");
        c->startswith = true;
        c->depth = static_cast<uint32_t>(c->pattern.size());
        c->has_depth = true;
      } else {
        c->endswith = true;
      }
      return std::nullopt;
    }
    if (name == "fast_pattern") return FastPattern(v);
    for (const auto& m : kModifiers) {
      if (name == m.name) return Modifier(m.buffer, name);
    }

    // Sticky buffers and transforms.
    if (name == "pkt_data") {
      current_list_ = -1;
      return std::nullopt;
    }
    for (const auto& s : kSticky) {
      if (name == s.name) {
        uint8_t side = 0;
        if (o.has_value && !Trim(v).empty()) {
          // "http.connection: to_client;": which side of a '=>' rule's
          // transaction a two-sided buffer is read from.
          const std::string sv = ToLower(Trim(v));
          if (sv != "to_client" && sv != "to_server") return Fail("takes no value (or to_client / to_server in a '=>' rule)");
          if (!r.txbothdir) return Fail("a direction ('" + sv + "') needs a '=>' rule");
          if (GetBufferInfo(s.buffer).dirs != kDirBoth) return Fail("has one side only; it takes no direction");
          side = sv == "to_client" ? kDirToClient : kDirToServer;
        }
        current_list_ = ListFor(s.buffer, GetBufferInfo(s.buffer).multi, side);
        return std::nullopt;
      }
    }
    for (const auto& t : kTransforms) {
      if (name == t.name) return TransformKw(t.kind, v, o.has_value);
    }

    // Payload keywords.
    if (name == "pcre") {
      if (auto e = need_value()) return e;
      return Pcre(v);
    }
    if (name == "isdataat") return IsDataAt(v);
    if (name == "byte_test") return ByteTest(v);
    if (name == "byte_jump") return ByteJump(v);
    if (name == "byte_extract") return ByteExtract(v);
    if (name == "byte_math") return ByteMath(v);
    if (name == "bsize") {
      auto c = ParseUintCheck(v, UINT64_MAX);
      if (!c) return Fail(c.error().message());
      int li = CurrentList();
      if (li < 0 || GetBufferInfo(rule_->lists[static_cast<size_t>(li)].buffer).kind == BufferKind::kPayload) {
        return Fail("needs a sticky buffer");
      }
      rule_->lists[static_cast<size_t>(li)].matches.push_back(LengthMatch{*c});
      return std::nullopt;
    }
    if (name == "urilen") {
      auto parts = Split(v, ',');
      auto c = ParseUintCheck(parts[0], UINT16_MAX);
      if (!c) return Fail(c.error().message());
      BufferId b = BufferId::kHttpUri;
      if (parts.size() > 1 && EqualsIgnoreCase(parts[1], "raw")) b = BufferId::kHttpUriRaw;
      int li = ListFor(b, false);
      auto& ms = rule_->lists[static_cast<size_t>(li)].matches;
      ms.insert(ms.begin(), LengthMatch{*c});
      return std::nullopt;
    }
    if (name == "krb5_msg_type") {
      // The message type's decimal text, matched whole.
      auto n = ParseUint(v);
      if (!n || *n > 255) return Fail("'" + v + "' is not a Kerberos message type (0-255)");
      const int saved = current_list_;
      if (auto e = Content("\"" + std::to_string(*n) + "\"", ListFor(BufferId::kKrb5MsgType, false))) return e;
      current_list_ = saved;
      ContentMatch* c = LastContent();
      c->startswith = c->endswith = true;
      c->depth = static_cast<uint32_t>(c->pattern.size());
      c->has_depth = true;
      return std::nullopt;
    }
    if (name == "base64_decode") return Base64Decode(v, o.has_value);
    if (name == "base64_data") {
      if (base64_decode_list_ < 0) return Fail("needs a preceding base64_decode");
      in_base64_data_ = true;
      return std::nullopt;
    }
    if (name == "dataset") return DatasetKeyword(v, false);
    if (name == "datarep") return DatasetKeyword(v, true);
    if (name == "absent") {
      int li = CurrentList();
      if (li < 0) return Fail("needs a sticky buffer");
      AbsentMatch a;
      std::string_view t = Trim(v);
      if (t == "or_else") {
        a.or_else = true;
      } else if (!t.empty()) {
        return Unsupported("absent mode '" + std::string(t) + "' is not supported");
      }
      rule_->lists[static_cast<size_t>(li)].matches.push_back(a);
      return std::nullopt;
    }

    // Packet and flow keywords.
    if (name == "flow") return Flow(v);
    if (name == "dsize") {
      auto c = ParseUintCheck(v, 65535);
      if (!c) return Fail(c.error().message());
      r.checks.push_back(Check{Check::Kind::kDsize, *c});
      r.require_packet = true;
      return std::nullopt;
    }
    if (name == "ttl") return NumCheck(Check::Kind::kTtl, v, 255);
    if (name == "tos") return NumCheck(Check::Kind::kTos, v, 255);
    if (name == "id") return NumCheck(Check::Kind::kIpId, v, 65535);
    if (name == "window") return NumCheck(Check::Kind::kWindow, v, 65535);
    if (name == "seq") return NumCheck(Check::Kind::kSeq, v, UINT32_MAX);
    if (name == "ack") return NumCheck(Check::Kind::kAck, v, UINT32_MAX);
    if (name == "itype") return NumCheck(Check::Kind::kItype, v, 255);
    if (name == "icode") return NumCheck(Check::Kind::kIcode, v, 255);
    if (name == "icmp_id") return NumCheck(Check::Kind::kIcmpId, v, 65535);
    if (name == "icmp_seq") return NumCheck(Check::Kind::kIcmpSeq, v, 65535);
    if (name == "tcp.mss") return NumCheck(Check::Kind::kTcpMss, v, 65535);
    if (name == "icmpv6.mtu") return NumCheck(Check::Kind::kIcmpv6Mtu, v, UINT32_MAX);
    if (name == "fragoffset") return NumCheck(Check::Kind::kFragOffset, v, 65535);
    if (name == "ip_proto") return IpProto(v);
    if (name == "flags" || name == "tcp.flags") return Flags(v);
    if (name == "fragbits") return Fragbits(v);
    if (name == "ipopts") return Ipopts(v);
    if (name == "sameip") {
      r.checks.push_back(Check{Check::Kind::kSameIp});
      return std::nullopt;
    }
    if (name == "stream_size") return StreamSize(v);
    if (name == "flow.age") return NumCheck(Check::Kind::kFlowAge, v, UINT32_MAX);
    if (name == "flow.pkts" || name == "flow.bytes") return FlowCounter(name == "flow.pkts", v, -1);
    if (name == "flow.pkts_toserver") return FlowCounter(true, v, 0);
    if (name == "flow.pkts_toclient") return FlowCounter(true, v, 1);
    if (name == "flow.bytes_toserver") return FlowCounter(false, v, 0);
    if (name == "flow.bytes_toclient") return FlowCounter(false, v, 1);
    if (name == "flowbits") return Flowbits(v);
    if (name == "flowint") return Flowint(v);
    if (name == "xbits" || name == "hostbits") return Xbits(v, name == "hostbits");
    if (name == "app-layer-protocol") return AppLayerProtocol(v);
    if (name == "decode-event" || name == "app-layer-event" || name == "stream-event") {
      if (auto e = need_value()) return e;
      Check c{name == "decode-event"    ? Check::Kind::kDecodeEvent
              : name == "stream-event" ? Check::Kind::kStreamEvent
                                       : Check::Kind::kAppLayerEvent};
      std::string ev = ToLower(Trim(v));
      if (!ev.empty() && ev[0] == '!') {
        c.negated = true;
        ev = std::string(Trim(std::string_view(ev).substr(1)));
      }
      c.name = ev;
      if (c.kind == Check::Kind::kAppLayerEvent) {
        // "http.request_header_invalid": the protocol prefix ties the rule to it.
        size_t dot = ev.find('.');
        if (dot != std::string::npos) {
          auto ap = AppProtoFromName(ev.substr(0, dot));
          if (ap && rule_->proto.app == AppProto::kUnknown) {
            rule_->proto.app = *ap;
          }
        }
      }
      r.checks.push_back(std::move(c));
      return std::nullopt;
    }
    if (name == "threshold" || name == "detection_filter") return Threshold(v, name == "detection_filter");
    if (name == "tls.subject" || name == "tls.issuerdn" || name == "tls.fingerprint") {
      if (!o.has_value || Trim(v).empty()) {
        // Without a value: the sticky buffer of the same field.
        if (name == "tls.fingerprint") return Fail("needs a value");
        current_list_ = ListFor(name == "tls.subject" ? BufferId::kTlsCertSubject : BufferId::kTlsCertIssuer, false);
        return std::nullopt;
      }
      Check c{name == "tls.subject"    ? Check::Kind::kTlsSubject
              : name == "tls.issuerdn" ? Check::Kind::kTlsIssuer
                                       : Check::Kind::kTlsFingerprint};
      std::string_view t = Trim(v);
      if (!t.empty() && t[0] == '!') {
        c.negated = true;
        t = Trim(t.substr(1));
      }
      c.name = Unescape(Unquote(t));
      if (c.name.empty()) return Fail("needs a value");
      r.checks.push_back(std::move(c));
      if (r.proto.app == AppProto::kUnknown) r.proto.app = AppProto::kTls;
      return std::nullopt;
    }
    if (name == "tls_cert_notbefore" || name == "tls_cert_notafter") return CertDate(name == "tls_cert_notbefore", v);
    if (name == "tls_cert_expired" || name == "tls_cert_valid") {
      r.checks.push_back(Check{name == "tls_cert_expired" ? Check::Kind::kTlsCertExpired : Check::Kind::kTlsCertValid});
      if (r.proto.app == AppProto::kUnknown) r.proto.app = AppProto::kTls;
      return std::nullopt;
    }
    if (name == "filesize") return FileSize(v);
    if (name == "ssl_version") return SslVersion(v);
    if (name == "tls.version") return TlsVersion(v);
    if (name == "ssl_state") return SslState(v);
    return Unsupported("keyword '" + name + "' is not supported");
  }

  // -------------------------------------------------------------- datasets
  // dataset:CMD,NAME[,type T][,load F][,save F][,state F][,memcap M][,hashsize H][,match subdomain]...
  // datarep:NAME,OP,VALUE[,type T][,load F][,memcap M][,hashsize H]
  KwStatus DatasetKeyword(const std::string& v, bool rep) {
    std::vector<std::string> parts;
    for (std::string_view t : Split(v, ',')) parts.emplace_back(Trim(t));
    DatasetMatch m;
    DatasetRegistry::Spec spec;
    spec.rep = rep;
    size_t next = 0;
    if (!rep) {
      if (parts.size() < 2) return Fail("needs a command and a name");
      const std::string& cmd = parts[0];
      if (cmd == "set") {
        m.cmd = DatasetMatch::Cmd::kSet;
      } else if (cmd == "isset") {
        m.cmd = DatasetMatch::Cmd::kIsSet;
      } else if (cmd == "isnotset") {
        m.cmd = DatasetMatch::Cmd::kIsNotSet;
      } else if (cmd == "unset") {
        m.cmd = DatasetMatch::Cmd::kUnset;
      } else {
        return Fail("unknown command '" + cmd + "' (set, isset, isnotset, unset)");
      }
      spec.name = parts[1];
      next = 2;
    } else {
      if (parts.size() < 3) return Fail("needs a name, an operator and a value");
      m.cmd = DatasetMatch::Cmd::kRep;
      spec.name = parts[0];
      const std::string& op = parts[1];
      if (op == ">") {
        m.rep_op = DatasetMatch::RepOp::kGt;
      } else if (op == "<") {
        m.rep_op = DatasetMatch::RepOp::kLt;
      } else if (op == ">=") {
        m.rep_op = DatasetMatch::RepOp::kGe;
      } else if (op == "<=") {
        m.rep_op = DatasetMatch::RepOp::kLe;
      } else if (op == "==") {
        m.rep_op = DatasetMatch::RepOp::kEq;
      } else {
        return Fail("unknown operator '" + op + "' (>, <, >=, <=, ==)");
      }
      auto value = ParseUint(parts[2]);
      if (!value || *value > UINT32_MAX) return Fail("'" + parts[2] + "' is not a reputation value");
      m.rep_value = static_cast<uint32_t>(*value);
      next = 3;
    }
    if (spec.name.empty() || spec.name.size() > 64) return Fail("a set name of 1 to 64 characters is needed");
    bool have_type = false;
    std::string format;
    auto path = [&](const std::string& f) -> std::string {
      if (f.empty() || f[0] == '/' || env_.rule_dir.empty()) return f;
      return env_.rule_dir + "/" + f;
    };
    for (size_t i = next; i < parts.size(); ++i) {
      const std::string& opt = parts[i];
      const size_t sp = opt.find_first_of(" \t");
      const std::string key = opt.substr(0, sp);
      const std::string val = sp == std::string::npos ? std::string() : std::string(Trim(opt.substr(sp + 1)));
      if (key == "type") {
        auto t = ParseDatasetType(val);
        if (!t) return Fail("unknown type '" + val + "' (string, md5, sha256, ipv4, ip)");
        spec.type = *t;
        have_type = true;
      } else if (key == "load" || key == "save" || key == "state") {
        if (val.empty()) return Fail(key + " needs a file name");
        if (rep && key != "load") return Fail(key + " is not a datarep option");
        (key == "load" ? spec.load : key == "save" ? spec.save : spec.state) = path(val);
      } else if (key == "memcap" || key == "hashsize") {
        if (val.empty()) return Fail(key + " needs a value");  // Sizes: the sets grow as needed.
      } else if (key == "match") {
        if (val != "subdomain") return Fail("unknown match mode '" + val + "'");
        m.subdomain = true;
      } else if (key == "format" || key == "value_key" || key == "context_key" || key == "array_key" ||
                 key == "enrichment_key" || key == "remove_key") {
        if (key == "format") format = val;
      } else {
        return Fail("unknown option '" + key + "'");
      }
    }
    if (!have_type) return Fail("needs 'type string|md5|sha256|ipv4|ip'");
    if (m.cmd == DatasetMatch::Cmd::kRep && (!spec.save.empty() || !spec.state.empty())) {
      return Fail("datarep sets cannot be saved");
    }
    if (env_.datasets == nullptr) return Unsupported("datasets are not available here");
    if (!spec.load.empty()) {
      std::ifstream probe(spec.load);
      if (!probe && env_.datasets->files_allowed()) {
        return Unsupported((rep ? "datarep '" : "dataset '") + spec.name + "': load file " + spec.load +
                           " not found");
      }
    }
    if (!format.empty() && format != "csv") {
      return Unsupported("dataset '" + spec.name + "': format " + format + " is not supported");
    }
    auto set = env_.datasets->Get(spec);
    if (!set) {
      if (set.error().code() == StatusCode::kNotFound) return Unsupported(set.error().message());
      return Fail(set.error().message());
    }
    m.set = *set;
    const int li = CurrentList();
    if (li < 0) return Fail("needs a sticky buffer");
    rule_->lists[static_cast<size_t>(li)].matches.push_back(std::move(m));
    return std::nullopt;
  }

  // ----------------------------------------------------------------- lists
  // The list that content and payload keywords go into now.
  int CurrentList() {
    if (current_list_ >= 0) return current_list_;
    return ListFor(BufferId::kPayload, false);
  }

  // Where a payload keyword goes: the sticky buffer; else, for a relative
  // keyword, the list of the keyword it is relative to (a content moved by
  // http_uri takes its relative pcre along); else the payload.
  int TargetList(bool relative) {
    if (current_list_ >= 0) return current_list_;
    if (relative && last_sm_list_ >= 0 && last_sm_list_ < static_cast<int>(rule_->lists.size())) {
      return last_sm_list_;
    }
    return ListFor(BufferId::kPayload, false);
  }

  // Index of the list for `b`; a new instance if `fresh` (multi buffers).
  int ListFor(BufferId b, bool fresh, uint8_t side = 0) {
    auto& lists = rule_->lists;
    if (!fresh) {
      for (size_t i = 0; i < lists.size(); ++i) {
        if (lists[i].buffer == b && lists[i].side == side) return static_cast<int>(i);
      }
    }
    lists.push_back(MatchList{b, side, {}, {}, {}});
    return static_cast<int>(lists.size() - 1);
  }

  std::vector<SigMatch>& Matches(int li) {
    MatchList& l = rule_->lists[static_cast<size_t>(li)];
    return in_base64_data_ && li == base64_decode_list_ ? l.base64_matches : l.matches;
  }

  ContentMatch* LastContent() {
    if (last_content_list_ < 0) return nullptr;
    auto& ms = last_content_b64_ ? rule_->lists[static_cast<size_t>(last_content_list_)].base64_matches
                                 : rule_->lists[static_cast<size_t>(last_content_list_)].matches;
    if (last_content_idx_ >= ms.size()) return nullptr;
    return std::get_if<ContentMatch>(&ms[last_content_idx_]);
  }

  KwStatus Content(const std::string& value, int li) {
    std::string_view s = Trim(value);
    ContentMatch c;
    if (!s.empty() && s[0] == '!') {
      c.negated = true;
      s = Trim(s.substr(1));
    }
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
      s = s.substr(1, s.size() - 2);
    } else if (!s.empty() && (s.front() == '"' || s.back() == '"')) {
      return Fail("unbalanced quotes in '" + value + "'");
    }
    std::string err;
    auto bytes = DecodeContent(s, &err);
    if (!bytes) return Fail(err);
    if (bytes->empty()) return Fail("content is empty");
    if (bytes->size() > 65535) return Fail("content is longer than 65535 bytes");
    c.pattern = std::move(*bytes);
    auto& ms = Matches(li);
    ms.push_back(std::move(c));
    last_sm_list_ = li;
    last_content_list_ = li;
    last_content_idx_ = ms.size() - 1;
    last_content_b64_ = in_base64_data_ && li == base64_decode_list_;
    return std::nullopt;
  }

  // Resolves a byte_extract / byte_math variable name, or a number.
  std::optional<VarIndex> VarByName(std::string_view name) const {
    for (size_t i = 0; i < var_names_.size(); ++i) {
      if (var_names_[i] == name) return static_cast<VarIndex>(i);
    }
    return std::nullopt;
  }
  bool IsIdentifier(std::string_view s) const {
    return !s.empty() && (std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_');
  }

  KwStatus Positional(const std::string& name, const std::string& value) {
    ContentMatch* c = LastContent();
    if (c == nullptr) return Fail("no preceding content");
    std::string_view v = Trim(value);
    if (v.empty()) return Fail("needs a value");
    std::optional<int64_t> n;
    VarIndex var = -1;
    if (IsIdentifier(v)) {
      auto vi = VarByName(v);
      if (!vi) return Fail("unknown variable '" + std::string(v) + "'");
      var = *vi;
    } else {
      n = ParseInt(v);
      if (!n) return Fail("'" + std::string(v) + "' is not a number");
    }
    const int64_t len = static_cast<int64_t>(c->pattern.size());
    if (name == "depth" || name == "offset") {
      if (c->relative()) return Fail("cannot be mixed with distance or within on one content");
      if (c->startswith) return Fail("cannot be mixed with startswith");
      if (n && *n < 0) return Fail("must not be negative");
      if (n && *n > 65535) return Fail("is larger than 65535");
    } else {
      if (c->has_depth || c->has_offset) return Fail("cannot be mixed with depth or offset on one content");
      if (n && (*n < -65535 || *n > 65535)) return Fail("is out of range");
    }
    if (name == "depth") {
      if (c->has_depth) return Fail("depth given twice");
      if (n && *n < len) return Fail("depth " + std::to_string(*n) + " is smaller than the content length");
      c->has_depth = true;
      c->depth_var = var;
      c->depth = static_cast<uint32_t>(n.value_or(0)) + (var < 0 ? c->offset : 0);
    } else if (name == "offset") {
      if (c->has_offset) return Fail("offset given twice");
      c->has_offset = true;
      c->offset_var = var;
      c->offset = static_cast<uint32_t>(n.value_or(0));
      if (c->has_depth && var < 0 && c->depth_var < 0) c->depth += c->offset;
    } else if (name == "distance") {
      if (c->has_distance) return Fail("distance given twice");
      c->has_distance = true;
      c->distance_var = var;
      c->distance = static_cast<int32_t>(n.value_or(0));
    } else {
      if (c->has_within) return Fail("within given twice");
      if (n && *n < len) return Fail("within " + std::to_string(*n) + " is smaller than the content length");
      if (n && *n == 0) return Fail("within must be at least the content length");
      c->has_within = true;
      c->within_var = var;
      c->within = static_cast<int32_t>(n.value_or(0));
    }
    return std::nullopt;
  }

  KwStatus FastPattern(const std::string& value) {
    ContentMatch* c = LastContent();
    if (c == nullptr) return Fail("no preceding content");
    std::string_view v = Trim(value);
    if (v.empty()) {
      c->fast_pattern = true;
      return std::nullopt;
    }
    if (v == "only") {
      c->fast_pattern = true;
      c->fast_pattern_only = true;
      return std::nullopt;
    }
    auto parts = Split(v, ',');
    if (parts.size() != 2) return Fail("expected 'only' or 'offset,length'");
    auto off = ParseUint(parts[0]);
    auto len = ParseUint(parts[1]);
    if (!off || !len || *len == 0 || *off + *len > c->pattern.size()) {
      return Fail("offset,length must lie within the content");
    }
    c->fast_pattern = true;
    c->fp_chop_offset = static_cast<int>(*off);
    c->fp_chop_length = static_cast<int>(*len);
    return std::nullopt;
  }

  // http_uri and friends: move the previous content into the buffer's list.
  KwStatus Modifier(BufferId b, const std::string& name) {
    if (last_content_list_ < 0) return Fail("no preceding content");
    const int from_idx = last_content_list_;
    {
      MatchList& from = rule_->lists[static_cast<size_t>(from_idx)];
      if (from.buffer != BufferId::kPayload || last_content_b64_ || current_list_ >= 0) {
        return Fail("'" + name + "' can only modify a payload content (a sticky buffer is active)");
      }
      if (last_content_idx_ + 1 != from.matches.size()) {
        return Fail("'" + name + "' must directly follow its content's modifiers");
      }
    }
    SigMatch m = std::move(rule_->lists[static_cast<size_t>(from_idx)].matches.back());
    rule_->lists[static_cast<size_t>(from_idx)].matches.pop_back();
    // ListFor may grow the list vector: no references across it.
    const int li = ListFor(b, false);
    auto& to = rule_->lists[static_cast<size_t>(li)].matches;
    to.push_back(std::move(m));
    last_sm_list_ = li;
    last_content_list_ = li;
    last_content_idx_ = to.size() - 1;
    // Remove an empty payload list left behind.
    const MatchList& from = rule_->lists[static_cast<size_t>(from_idx)];
    if (from.matches.empty() && from.transforms.empty() && from.base64_matches.empty()) {
      rule_->lists.erase(rule_->lists.begin() + from_idx);
      if (current_list_ > from_idx) --current_list_;
      if (last_content_list_ > from_idx) --last_content_list_;
      if (last_sm_list_ > from_idx) --last_sm_list_;
      if (base64_decode_list_ > from_idx) --base64_decode_list_;
    }
    return std::nullopt;
  }

  KwStatus TransformKw(TransformKind kind, const std::string& value, bool has_value) {
    if (current_list_ < 0) return Fail("transforms must follow a sticky buffer");
    // Keywords before a transform inspect the buffer as it was; those after
    // it inspect the transformed buffer, a new instance of the buffer that
    // keeps the transforms given so far ("http.uri; content:a; xor:..;
    // content:b" checks a in the URI and b in the xored URI).
    if (!rule_->lists[static_cast<size_t>(current_list_)].matches.empty()) {
      const std::vector<Transform> so_far = rule_->lists[static_cast<size_t>(current_list_)].transforms;
      current_list_ = ListFor(rule_->lists[static_cast<size_t>(current_list_)].buffer, true);
      rule_->lists[static_cast<size_t>(current_list_)].transforms = so_far;
    }
    MatchList& l = rule_->lists[static_cast<size_t>(current_list_)];
    Transform t{kind};
    std::string_view v = Trim(value);
    if (kind == TransformKind::kXor && !v.empty() && v[0] != '"') {
      // Suricata 9: "[offset N,] extract LEN KEY_OFFSET".
      for (auto part : Split(v, ',')) {
        auto words = Split(part, ' ');
        std::erase_if(words, [](std::string_view w) { return w.empty(); });
        if (words.size() == 2 && words[0] == "offset") {
          auto n = ParseUint(words[1]);
          if (!n || *n > 65535) return Fail("bad xor offset");
          t.data_offset = static_cast<uint32_t>(*n);
        } else if (words.size() == 3 && words[0] == "extract") {
          auto len = ParseUint(words[1]);
          auto off = ParseUint(words[2]);
          if (!len || *len == 0 || *len > 255 || !off || *off > 65535) return Fail("bad xor extract");
          t.key_len = static_cast<uint32_t>(*len);
          t.key_offset = static_cast<uint32_t>(*off);
        } else {
          return Fail("expected a \"hex key\" or [offset N,] extract LEN OFFSET");
        }
      }
      if (t.key_len == 0) return Fail("needs a key: \"hex\" or extract LEN OFFSET");
    } else if (kind == TransformKind::kXor) {
      std::string_view key = Unquote(v);
      if (key.empty() || key.size() % 2 != 0) return Fail("xor key must be an even number of hex digits");
      std::string err;
      std::string hex = "|" + std::string(key) + "|";
      auto bytes = DecodeContent(hex, &err);
      if (!bytes) return Fail("xor key: " + err);
      t.key = *bytes;
    } else if (kind == TransformKind::kPcreXform) {
      std::string_view p = Unquote(v);
      if (p.size() >= 2 && p.front() == '/' && p.back() == '/') p = p.substr(1, p.size() - 2);
      if (p.empty()) return Fail("needs a regular expression");
      auto re = Regex::Compile(p, {});
      if (!re) return Fail(re.error().message());
      t.re = *re;
    } else if (kind == TransformKind::kFromBase64) {
      if (has_value && !v.empty()) {
        for (auto part : Split(v, ',')) {
          if (part.empty()) continue;
          size_t sp = part.find(' ');
          std::string_view key = sp == std::string_view::npos ? part : part.substr(0, sp);
          std::string_view arg = sp == std::string_view::npos ? std::string_view() : Trim(part.substr(sp + 1));
          if (key == "bytes" || key == "offset") {
            auto n = ParseUint(arg);
            if (!n || *n > 65535) return Fail("from_base64 " + std::string(key) + " must be a number");
            (key == "bytes" ? t.b64_bytes : t.b64_offset) = static_cast<uint32_t>(*n);
          } else if (key == "mode") {
            if (arg == "rfc4648") {
              t.b64_mode = Transform::B64Mode::kRfc4648;
            } else if (arg == "rfc2045") {
              t.b64_mode = Transform::B64Mode::kRfc2045;
            } else if (arg == "strict") {
              t.b64_mode = Transform::B64Mode::kStrict;
            } else {
              return Fail("from_base64 mode must be rfc4648, rfc2045 or strict");
            }
          } else {
            return Fail("from_base64: unknown option '" + std::string(key) + "'");
          }
        }
      }
    } else if (kind == TransformKind::kGunzip || kind == TransformKind::kZlibDeflate) {
      if (has_value && !v.empty()) {
        std::string_view arg = v;
        if (!arg.starts_with("max-size")) return Fail("expected 'max-size N'");
        auto n = ParseUint(Trim(arg.substr(8)));
        if (!n || *n == 0 || *n > (1u << 24)) return Fail("max-size must be 1 to 16777216");
        t.max_size = static_cast<uint32_t>(*n);
      }
    } else if (kind == TransformKind::kSubslice) {
      auto parts = Split(v, ',');
      auto off = ParseInt(parts[0]);
      if (!off || *off < -65535 || *off > 65535) return Fail("expected 'offset[, length]'");
      t.slice_offset = static_cast<int32_t>(*off);
      size_t next = 1;
      if (parts.size() > next && parts[next] != "truncate") {
        auto len = ParseInt(parts[next]);
        if (!len || *len < -65535 || *len > 65535 || *len == 0) return Fail("bad length");
        t.slice_length = static_cast<int32_t>(*len);
        ++next;
      }
      if (parts.size() > next && parts[next] == "truncate") {
        t.slice_truncate = true;
        ++next;
      }
      if (parts.size() > next) return Fail("expected 'offset[, length][, truncate]'");
    } else if (has_value && !v.empty()) {
      return Fail("takes no value");
    }
    l.transforms.push_back(std::move(t));
    return std::nullopt;
  }

  KwStatus Pcre(const std::string& value) {
    std::string_view s = Trim(value);
    PcreMatch pm;
    if (!s.empty() && s[0] == '!') {
      pm.negated = true;
      s = Trim(s.substr(1));
    }
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
    if (!s.empty() && s[0] == '!') {
      pm.negated = true;
      s = s.substr(1);
    }
    if (s.empty() || s[0] != '/') return Fail("expected \"/regex/flags\"");
    size_t end = s.rfind('/');
    if (end == 0) return Fail("expected \"/regex/flags\"");
    std::string_view pattern = s.substr(1, end - 1);
    std::string_view flags = s.substr(end + 1);
    RegexOptions ro;
    std::optional<BufferId> buffer;
    for (char f : flags) {
      switch (f) {
        case 'i': ro.caseless = true; break;
        case 's': ro.dotall = true; break;
        case 'm': ro.multiline = true; break;
        case 'x': ro.extended = true; break;
        case 'A': ro.anchored = true; break;
        case 'E': ro.dollar_endonly = true; break;
        case 'G': ro.ungreedy = true; break;
        case 'O': ro.unlimited = true; break;
        case 'R': pm.relative = true; break;
        case 'B': break;  // rawbytes
        case 'U': buffer = BufferId::kHttpUri; break;
        case 'I': buffer = BufferId::kHttpUriRaw; break;
        case 'P': buffer = BufferId::kHttpRequestBody; break;
        case 'Q': buffer = BufferId::kFileData; break;
        case 'H': buffer = BufferId::kHttpHeader; break;
        case 'D': buffer = BufferId::kHttpHeaderRaw; break;
        case 'M': buffer = BufferId::kHttpMethod; break;
        case 'C': buffer = BufferId::kHttpCookie; break;
        case 'S': buffer = BufferId::kHttpStatCode; break;
        case 'Y': buffer = BufferId::kHttpStatMsg; break;
        case 'V': buffer = BufferId::kHttpUserAgent; break;
        case 'W': buffer = BufferId::kHttpHost; break;
        case 'Z': buffer = BufferId::kHttpHostRaw; break;
        default: return Fail(std::string("unknown pcre flag '") + f + "'");
      }
    }
    if (buffer && current_list_ >= 0) {
      // "http.uri; pcre:/.../U" names the same buffer twice: fine.
      // Q (http_server_body) is the response body that http.response_body names too.
      const BufferId active = rule_->lists[static_cast<size_t>(current_list_)].buffer;
      const bool same_body = *buffer == BufferId::kFileData && active == BufferId::kHttpResponseBody;
      if (active != *buffer && !same_body) {
        return Fail("pcre buffer flag names another buffer than the active sticky buffer");
      }
      buffer.reset();
    }
    // Suricata's rule text escapes ';' as "\;", which PCRE reads as ';'.
    auto re = Regex::Compile(pattern, ro);
    if (!re) return Fail(re.error().message());
    pm.re = *re;
    const int li = buffer ? ListFor(*buffer, false) : TargetList(pm.relative);
    last_sm_list_ = li;
    auto& ms = Matches(li);
    ms.push_back(std::move(pm));
    return std::nullopt;
  }

  KwStatus IsDataAt(const std::string& value) {
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
    const int li = TargetList(m.relative);
    last_sm_list_ = li;
    Matches(li).push_back(m);
    return std::nullopt;
  }

  KwStatus ParseNumBase(std::string_view s, NumBase* base) {
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

  KwStatus ByteTest(const std::string& value) {
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
      if (p == "relative") {
        m.relative = true;
      } else if (p == "big") {
        m.little = false;
      } else if (p == "little") {
        m.little = true;
      } else if (p == "string") {
        m.string = true;
      } else if (p == "hex" || p == "dec" || p == "oct") {
        if (auto e = ParseNumBase(p, &m.base)) return e;
      } else if (p == "dce") {
        m.dce = true;
      } else if (p.starts_with("bitmask")) {
        auto n = ParseUint(Trim(p.substr(7)));
        if (!n || *n == 0 || *n > UINT32_MAX) return Fail("bad bitmask");
        m.bitmask = static_cast<uint32_t>(*n);
      } else {
        return Fail("unknown option '" + std::string(p) + "'");
      }
    }
    if (!m.string && m.nbytes > 8) return Fail("binary byte_test reads at most 8 bytes");
    if (!m.string && m.nbytes == 0 && m.nbytes_var < 0) return Fail("number of bytes must be 1 to 8");
    const int li = TargetList(m.relative);
    last_sm_list_ = li;
    Matches(li).push_back(m);
    return std::nullopt;
  }

  KwStatus ByteJump(const std::string& value) {
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
      if (p == "relative") {
        m.relative = true;
      } else if (p == "big") {
        m.little = false;
      } else if (p == "little") {
        m.little = true;
      } else if (p == "string") {
        m.string = true;
      } else if (p == "hex" || p == "dec" || p == "oct") {
        if (auto e = ParseNumBase(p, &m.base)) return e;
      } else if (p == "align") {
        m.align = true;
      } else if (p == "from_beginning") {
        m.from_beginning = true;
      } else if (p == "from_end") {
        m.from_end = true;
      } else if (p == "dce") {
        m.dce = true;
      } else if (p.starts_with("multiplier")) {
        auto n = ParseUint(Trim(p.substr(10)));
        if (!n || *n == 0 || *n > 65535) return Fail("bad multiplier");
        m.multiplier = static_cast<uint32_t>(*n);
      } else if (p.starts_with("post_offset")) {
        auto n = ParseInt(Trim(p.substr(11)));
        if (!n || *n < -65535 || *n > 65535) return Fail("bad post_offset");
        m.post_offset = static_cast<int32_t>(*n);
      } else if (p.starts_with("bitmask")) {
        auto n = ParseUint(Trim(p.substr(7)));
        if (!n || *n == 0 || *n > UINT32_MAX) return Fail("bad bitmask");
        m.bitmask = static_cast<uint32_t>(*n);
      } else {
        return Fail("unknown option '" + std::string(p) + "'");
      }
    }
    if (!m.string && m.nbytes > 8) return Fail("binary byte_jump reads at most 8 bytes");
    if (m.from_beginning && m.from_end) return Fail("from_beginning and from_end exclude each other");
    const int li = TargetList(m.relative);
    last_sm_list_ = li;
    Matches(li).push_back(m);
    return std::nullopt;
  }

  KwStatus ByteExtract(const std::string& value) {
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
      if (p == "relative") {
        m.relative = true;
      } else if (p == "big") {
        m.little = false;
      } else if (p == "little") {
        m.little = true;
      } else if (p == "string") {
        m.string = true;
      } else if (p == "hex" || p == "dec" || p == "oct") {
        if (auto e = ParseNumBase(p, &m.base)) return e;
      } else if (p == "dce") {
        m.dce = true;
      } else if (p.starts_with("multiplier")) {
        auto n = ParseUint(Trim(p.substr(10)));
        if (!n || *n == 0 || *n > 65535) return Fail("bad multiplier");
        m.multiplier = static_cast<uint32_t>(*n);
      } else if (p.starts_with("align")) {
        auto n = ParseUint(Trim(p.substr(5)));
        if (!n || (*n != 2 && *n != 4)) return Fail("align must be 2 or 4");
        m.align = true;
        m.align_value = static_cast<uint8_t>(*n);
      } else if (p.starts_with("bitmask")) {
        auto n = ParseUint(Trim(p.substr(7)));
        if (!n || *n == 0 || *n > UINT32_MAX) return Fail("bad bitmask");
        m.bitmask = static_cast<uint32_t>(*n);
      } else {
        return Fail("unknown option '" + std::string(p) + "'");
      }
    }
    if (!m.string && m.nbytes > 8) return Fail("binary byte_extract reads at most 8 bytes");
    auto vi = NewVar(parts[2]);
    if (!vi) return Fail("too many byte_extract/byte_math variables");
    m.var = *vi;
    const int li = TargetList(m.relative);
    last_sm_list_ = li;
    Matches(li).push_back(m);
    return std::nullopt;
  }

  std::optional<VarIndex> NewVar(std::string_view name) {
    if (auto vi = VarByName(name)) return vi;
    if (var_names_.size() >= kMaxRuleVars) return std::nullopt;
    var_names_.emplace_back(name);
    rule_->num_vars = static_cast<int>(var_names_.size());
    return static_cast<VarIndex>(var_names_.size() - 1);
  }

  KwStatus ByteMath(const std::string& value) {
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
    const int li = TargetList(m.relative);
    last_sm_list_ = li;
    Matches(li).push_back(m);
    return std::nullopt;
  }

  KwStatus Base64Decode(const std::string& value, bool has_value) {
    Base64DecodeMatch m;
    if (has_value && !Trim(value).empty()) {
      for (auto p : Split(value, ',')) {
        if (p.empty()) continue;
        size_t sp = p.find(' ');
        std::string_view key = sp == std::string_view::npos ? p : p.substr(0, sp);
        std::string_view arg = sp == std::string_view::npos ? std::string_view() : Trim(p.substr(sp + 1));
        if (key == "bytes" || key == "offset") {
          auto n = ParseUint(arg);
          if (!n || *n > 65535) return Fail("bad " + std::string(key));
          (key == "bytes" ? m.bytes : m.offset) = static_cast<uint32_t>(*n);
        } else if (key == "relative") {
          m.relative = true;
        } else {
          return Fail("unknown option '" + std::string(key) + "'");
        }
      }
    }
    const int li = TargetList(m.relative);
    if (base64_decode_list_ >= 0) return Fail("only one base64_decode per rule");
    Matches(li).push_back(m);
    base64_decode_list_ = li;
    return std::nullopt;
  }

  KwStatus Flow(const std::string& value) {
    FlowOptions& f = rule_->flow;
    const std::string lowered = ToLower(value);
    for (auto p : Split(lowered, ',')) {
      if (p == "established") {
        f.established = true;
      } else if (p == "not_established") {
        f.not_established = true;
      } else if (p == "stateless") {
        f.stateless = true;
      } else if (p == "to_server" || p == "from_client") {
        f.to_server = true;
      } else if (p == "to_client" || p == "from_server") {
        f.to_client = true;
      } else if (p == "only_stream") {
        f.only_stream = true;
      } else if (p == "no_stream") {
        f.no_stream = true;
      } else if (p == "only_frag") {
        f.only_frag = true;
      } else if (p == "no_frag") {
        f.no_frag = true;
      } else {
        return Fail("unknown flow option '" + std::string(p) + "'");
      }
    }
    if (f.to_server && f.to_client) return Fail("to_server and to_client exclude each other");
    if (f.established && f.not_established) return Fail("established and not_established exclude each other");
    if (f.only_stream && f.no_stream) return Fail("only_stream and no_stream exclude each other");
    if (f.no_stream) rule_->require_packet = true;
    if (f.only_stream) rule_->stream_only = true;
    return std::nullopt;
  }

  KwStatus NumCheck(Check::Kind kind, const std::string& value, uint64_t max) {
    auto c = ParseUintCheck(value, max);
    if (!c) return Fail(c.error().message());
    rule_->checks.push_back(Check{kind, *c});
    return std::nullopt;
  }

  KwStatus IpProto(const std::string& value) {
    std::string_view v = Trim(value);
    Check c{Check::Kind::kIpProto};
    static constexpr std::pair<std::string_view, uint8_t> kNames[] = {
        {"tcp", 6}, {"udp", 17}, {"icmp", 1}, {"igmp", 2}, {"gre", 47}, {"esp", 50}, {"ah", 51},
        {"ipv6-icmp", 58}, {"icmpv6", 58}, {"sctp", 132}, {"ipip", 4}, {"pim", 103}};
    char mode = 0;
    if (!v.empty() && (v[0] == '!' || v[0] == '<' || v[0] == '>')) {
      mode = v[0];
      v = Trim(v.substr(1));
    }
    std::optional<uint64_t> n = ParseUint(v);
    if (!n) {
      for (auto& [nm, num] : kNames) {
        if (EqualsIgnoreCase(nm, v)) n = num;
      }
    }
    if (!n || *n > 255) return Fail("'" + value + "' is not an IP protocol");
    c.num.a = *n;
    c.num.mode = mode == '!'   ? UintCheck::Mode::kNe
                 : mode == '<' ? UintCheck::Mode::kLt
                 : mode == '>' ? UintCheck::Mode::kGt
                               : UintCheck::Mode::kEq;
    rule_->checks.push_back(c);
    return std::nullopt;
  }

  static int TcpFlagBit(char ch) {
    switch (std::toupper(static_cast<unsigned char>(ch))) {
      case 'F': return 0x01;
      case 'S': return 0x02;
      case 'R': return 0x04;
      case 'P': return 0x08;
      case 'A': return 0x10;
      case 'U': return 0x20;
      case 'E': case '2': return 0x40;
      case 'C': case '1': return 0x80;
      case '0': return 0;
      default: return -1;
    }
  }

  KwStatus Flags(const std::string& value) {
    Check c{Check::Kind::kTcpFlags};
    std::string_view v = Trim(value);
    size_t comma = v.find(',');
    std::string_view main = Trim(v.substr(0, comma));
    if (comma != std::string_view::npos) {
      uint16_t ignore = 0;
      for (char ch : Trim(v.substr(comma + 1))) {
        int b = TcpFlagBit(ch);
        if (b < 0) return Fail(std::string("unknown flag '") + ch + "'");
        ignore |= static_cast<uint16_t>(b);
      }
      c.mask = static_cast<uint16_t>(~ignore & 0xff);
    } else {
      c.mask = 0xff;
    }
    for (char ch : main) {
      if (ch == '+' || ch == '*' || ch == '!') {
        c.mode = ch;
        continue;
      }
      int b = TcpFlagBit(ch);
      if (b < 0) return Fail(std::string("unknown flag '") + ch + "'");
      c.bits |= static_cast<uint16_t>(b);
    }
    if (main.empty()) return Fail("needs flags");
    rule_->checks.push_back(c);
    return std::nullopt;
  }

  KwStatus Fragbits(const std::string& value) {
    Check c{Check::Kind::kFragbits};
    for (char ch : Trim(value)) {
      switch (std::toupper(static_cast<unsigned char>(ch))) {
        case 'M': c.bits |= 0x1; break;
        case 'D': c.bits |= 0x2; break;
        case 'R': c.bits |= 0x4; break;
        case '+': case '*': case '!': c.mode = ch; break;
        case ' ': break;
        default: return Fail(std::string("unknown fragbit '") + ch + "'");
      }
    }
    rule_->checks.push_back(c);
    return std::nullopt;
  }

  KwStatus Ipopts(const std::string& value) {
    static constexpr std::pair<std::string_view, uint16_t> kOpts[] = {
        {"eol", 0x0001}, {"nop", 0x0002}, {"rr", 0x0004}, {"ts", 0x0008}, {"sec", 0x0010}, {"esec", 0x0020},
        {"lsrr", 0x0040}, {"ssrr", 0x0080}, {"satid", 0x0100}, {"any", 0xffff}};
    Check c{Check::Kind::kIpopts};
    std::string v = ToLower(Trim(value));
    for (auto& [n, b] : kOpts) {
      if (v == n) c.bits = b;
    }
    if (c.bits == 0) return Fail("unknown ip option '" + v + "'");
    rule_->checks.push_back(c);
    return std::nullopt;
  }

  KwStatus StreamSize(const std::string& value) {
    auto parts = Split(value, ',');
    if (parts.size() != 3) return Fail("expected side, operator, size");
    Check c{Check::Kind::kStreamSize};
    std::string side = ToLower(parts[0]);
    if (side == "server") {
      c.side = 0;
    } else if (side == "client") {
      c.side = 1;
    } else if (side == "both") {
      c.side = 2;
    } else if (side == "either") {
      c.side = 3;
    } else {
      return Fail("side must be server, client, both or either");
    }
    std::string expr = std::string(parts[1]) + std::string(parts[2]);
    if (parts[1] == "=") expr = std::string(parts[2]);
    if (parts[1] == "!=") expr = "!" + std::string(parts[2]);
    auto u = ParseUintCheck(expr, UINT32_MAX);
    if (!u) return Fail(u.error().message());
    c.num = *u;
    rule_->checks.push_back(c);
    return std::nullopt;
  }

  KwStatus FlowCounter(bool packets, const std::string& value, int fixed_dir) {
    Check c{packets ? Check::Kind::kFlowPkts : Check::Kind::kFlowBytes};
    std::string_view v = Trim(value);
    if (fixed_dir >= 0) {
      c.side = static_cast<uint8_t>(fixed_dir);
    } else {
      size_t comma = v.find(',');
      if (comma == std::string_view::npos) return Fail("expected direction,value");
      std::string d = ToLower(Trim(v.substr(0, comma)));
      if (d == "toserver") {
        c.side = 0;
      } else if (d == "toclient") {
        c.side = 1;
      } else if (d == "either") {
        c.side = 2;
      } else if (d == "both") {
        c.side = 3;
      } else {
        return Fail("direction must be toserver, toclient, either or both");
      }
      v = Trim(v.substr(comma + 1));
    }
    auto u = ParseUintCheck(v, UINT64_MAX);
    if (!u) return Fail(u.error().message());
    c.num = *u;
    rule_->checks.push_back(c);
    return std::nullopt;
  }

  std::vector<uint32_t> Names(std::string_view list, NameTable* table, char sep) {
    std::vector<uint32_t> ids;
    for (auto n : Split(list, sep)) {
      if (!n.empty()) ids.push_back(table->Id(n));
    }
    return ids;
  }

  KwStatus Flowbits(const std::string& value) {
    auto parts = Split(value, ',');
    std::string cmd = ToLower(parts[0]);
    if (cmd == "noalert") {
      if (parts.size() != 1) return Fail("noalert takes no name");
      rule_->noalert = true;
      return std::nullopt;
    }
    if (parts.size() != 2 || parts[1].empty()) return Fail("expected command,name");
    std::string_view names = parts[1];
    const bool has_or = names.find('|') != std::string_view::npos;
    const bool has_and = names.find('&') != std::string_view::npos;
    if (has_or && has_and) return Fail("cannot mix '|' and '&'");
    if (cmd == "isset" || cmd == "isnotset") {
      Check c{Check::Kind::kFlowbits};
      c.ids = Names(names, env_.flowbits, has_or ? '|' : '&');
      if (cmd == "isset") {
        c.bit_op = has_or ? Check::BitOp::kIsSetAny : Check::BitOp::kIsSetAll;
      } else {
        c.bit_op = has_or ? Check::BitOp::kIsNotSetAny : Check::BitOp::kIsNotSetAll;
      }
      rule_->checks.push_back(std::move(c));
      rule_->flowbits_order = std::max(rule_->flowbits_order, 2);
      return std::nullopt;
    }
    PostAction a;
    if (cmd == "set") {
      a.kind = PostAction::Kind::kFlowbitSet;
    } else if (cmd == "unset") {
      a.kind = PostAction::Kind::kFlowbitUnset;
    } else if (cmd == "toggle") {
      a.kind = PostAction::Kind::kFlowbitToggle;
    } else {
      return Fail("unknown command '" + cmd + "'");
    }
    if (has_or) return Fail("'|' is only valid with isset/isnotset");
    a.ids = Names(names, env_.flowbits, '&');
    rule_->post.push_back(std::move(a));
    rule_->flowbits_order = 3;
    return std::nullopt;
  }

  KwStatus Flowint(const std::string& value) {
    auto parts = Split(value, ',');
    if (parts.size() < 2) return Fail("expected name, operator[, value]");
    const uint32_t id = env_.flowints->Id(parts[0]);
    std::string op = std::string(parts[1]);
    if (op == "isset" || op == "notset" || op == "isnotset") {
      if (parts.size() != 2) return Fail(op + " takes no value");
      Check c{Check::Kind::kFlowint};
      c.ids = {id};
      c.int_op = op == "isset" ? Check::IntOp::kIsSet : Check::IntOp::kIsNotSet;
      rule_->checks.push_back(std::move(c));
      rule_->flowint_order = std::max(rule_->flowint_order, 2);
      return std::nullopt;
    }
    if (parts.size() != 3) return Fail("expected name, operator, value");
    uint32_t num = 0;
    int32_t var = -1;
    if (auto n = ParseUint(parts[2])) {
      if (*n > UINT32_MAX) return Fail("value out of range");
      num = static_cast<uint32_t>(*n);
    } else if (IsIdentifier(parts[2])) {
      var = static_cast<int32_t>(env_.flowints->Id(parts[2]));
    } else {
      return Fail("'" + std::string(parts[2]) + "' is not a value");
    }
    if (op == "=" || op == "+" || op == "-") {
      PostAction a;
      a.kind = op == "=" ? PostAction::Kind::kFlowintSet
               : op == "+" ? PostAction::Kind::kFlowintAdd
                           : PostAction::Kind::kFlowintSub;
      a.ids = {id};
      a.value = num;
      a.value_var = var;
      rule_->post.push_back(std::move(a));
      rule_->flowint_order = 3;
      return std::nullopt;
    }
    Check c{Check::Kind::kFlowint};
    c.ids = {id};
    c.int_value = num;
    c.int_var = var;
    if (op == "==") {
      c.int_op = Check::IntOp::kEq;
    } else if (op == "!=") {
      c.int_op = Check::IntOp::kNe;
    } else if (op == "<") {
      c.int_op = Check::IntOp::kLt;
    } else if (op == "<=") {
      c.int_op = Check::IntOp::kLe;
    } else if (op == ">") {
      c.int_op = Check::IntOp::kGt;
    } else if (op == ">=") {
      c.int_op = Check::IntOp::kGe;
    } else {
      return Fail("unknown operator '" + op + "'");
    }
    rule_->checks.push_back(std::move(c));
    rule_->flowint_order = std::max(rule_->flowint_order, 2);
    return std::nullopt;
  }

  KwStatus Xbits(const std::string& value, bool hostbits) {
    auto parts = Split(value, ',');
    std::string cmd = ToLower(parts[0]);
    if (cmd == "noalert") {
      rule_->noalert = true;
      return std::nullopt;
    }
    if (parts.size() < 2) return Fail("expected command,name[,track ...]");
    uint8_t track = hostbits ? 1 : 0;
    uint32_t expire = 0;
    bool have_track = false;
    for (size_t i = 2; i < parts.size(); ++i) {
      std::string_view p = parts[i];
      if (p.starts_with("track")) {
        std::string t = ToLower(Trim(p.substr(5)));
        if (t == "ip_src" || t == "by_src") {
          track = 1;
        } else if (t == "ip_dst" || t == "by_dst") {
          track = 2;
        } else if (t == "ip_pair") {
          track = 3;
        } else if (t == "tx") {
          return Unsupported("xbits track tx is not supported");
        } else {
          return Fail("track must be ip_src, ip_dst or ip_pair");
        }
        have_track = true;
      } else if (p.starts_with("expire")) {
        auto n = ParseUint(Trim(p.substr(6)));
        if (!n || *n == 0 || *n > UINT32_MAX) return Fail("bad expire");
        expire = static_cast<uint32_t>(*n);
      } else if (hostbits && (p == "src" || p == "dst" || p == "both")) {
        track = p == "dst" ? 2 : 1;
        have_track = true;
      } else {
        return Fail("unknown option '" + std::string(p) + "'");
      }
    }
    if (!hostbits && !have_track) return Fail("xbits needs 'track ip_src|ip_dst|ip_pair'");
    const std::string prefix = hostbits ? "host:" : "xbits:";
    if (cmd == "isset" || cmd == "isnotset") {
      Check c{Check::Kind::kXbits};
      c.ids = {env_.xbits->Id(prefix + std::string(parts[1]))};
      c.bit_op = cmd == "isset" ? Check::BitOp::kIsSet : Check::BitOp::kIsNotSet;
      c.track = track;
      rule_->checks.push_back(std::move(c));
      return std::nullopt;
    }
    PostAction a;
    if (cmd == "set") {
      a.kind = PostAction::Kind::kXbitSet;
    } else if (cmd == "unset") {
      a.kind = PostAction::Kind::kXbitUnset;
    } else if (cmd == "toggle") {
      a.kind = PostAction::Kind::kXbitToggle;
    } else {
      return Fail("unknown command '" + cmd + "'");
    }
    a.ids = {env_.xbits->Id(prefix + std::string(parts[1]))};
    a.track = track;
    a.expire = expire;
    rule_->post.push_back(std::move(a));
    return std::nullopt;
  }

  KwStatus AppLayerProtocol(const std::string& value) {
    Check c{Check::Kind::kAppLayerProtocol};
    auto parts = Split(value, ',');
    std::string_view p = parts[0];
    if (!p.empty() && p[0] == '!') {
      c.negated = true;
      p = Trim(p.substr(1));
    }
    for (size_t i = 1; i < parts.size(); ++i) {
      if (parts[i] == "exact") {
        c.exact = true;
      } else if (parts[i] == "either") {
        c.side = 2;  // Either direction's detection result.
      } else if (parts[i] == "to_server") {
        c.side = 3;
      } else if (parts[i] == "to_client") {
        c.side = 4;
      } else if (parts[i] == "direction" || parts[i] == "final" || parts[i] == "original") {
        // The flow's protocol (the packet's own direction detects the same in all but mismatched flows).
      } else {
        return Fail("unknown option '" + std::string(parts[i]) + "'");
      }
    }
    if (p == "unknown") {
      c.proto = AppProto::kUnknown;
    } else {
      auto ap = AppProtoFromName(p);
      if (!ap) return Fail("unknown protocol '" + std::string(p) + "'");
      c.proto = *ap;
    }
    rule_->checks.push_back(c);
    return std::nullopt;
  }

  KwStatus Threshold(const std::string& value, bool detection_filter) {
    ThresholdSpec& t = rule_->threshold;
    if (t.type != ThresholdSpec::Type::kNone) return Fail("only one threshold or detection_filter per rule");
    t.type = detection_filter ? ThresholdSpec::Type::kDetectionFilter : ThresholdSpec::Type::kNone;
    bool have_track = false, have_count = false, have_seconds = false;
    for (auto p : Split(value, ',')) {
      if (p.empty()) continue;
      size_t sp = p.find(' ');
      if (sp == std::string_view::npos) return Fail("expected 'key value' pairs, got '" + std::string(p) + "'");
      std::string key = ToLower(Trim(p.substr(0, sp)));
      std::string arg = ToLower(Trim(p.substr(sp + 1)));
      if (key == "type" && !detection_filter) {
        if (arg == "limit") {
          t.type = ThresholdSpec::Type::kLimit;
        } else if (arg == "threshold") {
          t.type = ThresholdSpec::Type::kThreshold;
        } else if (arg == "both") {
          t.type = ThresholdSpec::Type::kBoth;
        } else if (arg == "backoff") {
          return Unsupported("threshold type backoff is not supported");
        } else {
          return Fail("type must be limit, threshold or both");
        }
      } else if (key == "track") {
        if (arg == "by_src") {
          t.track = ThresholdSpec::Track::kBySrc;
        } else if (arg == "by_dst") {
          t.track = ThresholdSpec::Track::kByDst;
        } else if (arg == "by_rule") {
          t.track = ThresholdSpec::Track::kByRule;
        } else if (arg == "by_both") {
          t.track = ThresholdSpec::Track::kByBoth;
        } else if (arg == "by_flow") {
          t.track = ThresholdSpec::Track::kByFlow;
        } else {
          return Fail("track must be by_src, by_dst, by_rule, by_both or by_flow");
        }
        have_track = true;
      } else if (key == "count") {
        auto n = ParseUint(arg);
        if (!n || *n > UINT32_MAX) return Fail("bad count");
        t.count = static_cast<uint32_t>(*n);
        have_count = true;
      } else if (key == "seconds") {
        auto n = ParseUint(arg);
        if (!n || *n > UINT32_MAX) return Fail("bad seconds");
        t.seconds = static_cast<uint32_t>(*n);
        have_seconds = true;
      } else if (key == "unique_on" && detection_filter) {
        if (arg == "src_port") {
          t.unique_on = 1;
        } else if (arg == "dst_port") {
          t.unique_on = 2;
        } else {
          return Fail("unique_on must be src_port or dst_port");
        }
      } else {
        return Fail("unknown option '" + key + "'");
      }
    }
    if (t.type == ThresholdSpec::Type::kNone) return Fail("needs a type");
    if (!have_track || !have_count || !have_seconds) return Fail("needs track, count and seconds");
    if (t.count == 0 && t.type != ThresholdSpec::Type::kDetectionFilter) return Fail("count must be at least 1");
    return std::nullopt;
  }

  KwStatus SslVersion(const std::string& value) {
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

  KwStatus TlsVersion(const std::string& value) {
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

  // "2015", "2015-10", "2015-10-22", "2015-10-22T10:20" or "...T10:20:30" as Unix seconds (UTC).
  static std::optional<int64_t> ParseCertDate(std::string_view s) {
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

  KwStatus CertDate(bool not_before, const std::string& value) {
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

  KwStatus SslState(const std::string& value) {
    (void)value;
    return Unsupported("ssl_state is not supported");
  }

  // filesize:[to_client|to_server,] <uint>: the size of the file (message
  // body) of the transaction.
  KwStatus FileSize(const std::string& value) {
    std::string_view v = Trim(value);
    Check c{Check::Kind::kFileSize};
    const size_t comma = v.find(',');
    if (comma != std::string_view::npos) {
      const std::string side = ToLower(Trim(v.substr(0, comma)));
      if (side == "to_client") {
        c.side = kDirToClient;
      } else if (side == "to_server") {
        c.side = kDirToServer;
      } else {
        return Fail("filesize: unknown direction '" + side + "' (to_client or to_server)");
      }
      v = Trim(v.substr(comma + 1));
    }
    auto n = ParseUintCheck(v, UINT64_MAX);
    if (!n) return Fail("filesize: " + n.error().message());
    c.num = *n;
    rule_->checks.push_back(std::move(c));
    if (rule_->proto.app == AppProto::kUnknown && rule_->proto.ip_protos.test(6)) rule_->proto.app = AppProto::kHttp1;
    return std::nullopt;
  }

  KwStatus Requires(const std::string& value) {
    // "requires: feature X, version >= 7.0". A rule whose requirement this
    // engine cannot meet is skipped, as Suricata skips it.
    for (auto p : Split(value, ',')) {
      if (p.starts_with("feature")) {
        return Unsupported("requires " + std::string(p));
      }
    }
    return std::nullopt;
  }

  // ------------------------------------------------------------- finishing
  KwStatus Finish() {
    Rule& r = *rule_;
    if (!have_sid_) return Fail("rule has no sid");
    // Drop empty lists (a sticky buffer with no keywords after it).
    std::erase_if(r.lists, [](const MatchList& l) { return l.matches.empty() && l.base64_matches.empty(); });
    // App-layer protocol from buffers.
    bool has_tx = false;
    uint8_t dirs = kDirBoth;
    uint8_t sides_seen = 0;  // '=>': which sides the rule's buffers read.
    for (const MatchList& l : r.lists) {
      const BufferInfo& bi = GetBufferInfo(l.buffer);
      if (bi.kind != BufferKind::kTx) continue;
      has_tx = true;
      sides_seen |= l.side != 0 ? l.side : bi.dirs;
      if (l.buffer == BufferId::kFileData) {
        // file_data serves several protocols; only HTTP bodies are inspected here.
        if (r.proto.app == AppProto::kUnknown && !r.proto.ip_protos.test(6)) {
          return Fail("file_data needs a TCP protocol");
        }
      } else if (r.proto.app == AppProto::kUnknown) {
        if (!r.proto.ip_protos.test(6) && bi.proto != AppProto::kDns) {
          return Fail(std::string(bi.name) + " needs a protocol that runs over TCP");
        }
        r.proto.app = bi.proto;
      } else if (r.proto.app != bi.proto && !(r.proto.app == AppProto::kHttp2 && bi.proto == AppProto::kHttp1)) {
        return Fail(std::string(bi.name) + " cannot be used in a rule for " + std::string(AppProtoName(r.proto.app)));
      }
      dirs &= l.side != 0 ? l.side : bi.dirs;
      if (dirs == 0) {
        // Request and response buffers together: Suricata inspects the
        // rule on the response, when the request is complete.
        dirs = kDirToClient;
      }
    }
    for (const Check& c : r.checks) {
      if (c.kind == Check::Kind::kFileSize && c.side != 0) sides_seen |= c.side;
    }
    if (r.txbothdir) {
      // Suricata's transactional rules: both sides of one transaction,
      // inspected once its response is in.
      if (r.proto.app == AppProto::kUnknown) return Fail("'=>' needs an app-layer protocol with transactions");
      if (sides_seen != kDirBoth) return Fail("'=>' needs keywords for both directions of the transaction");
      if (r.flow.to_server || r.flow.to_client) return Fail("'=>' cannot be combined with flow:to_server/to_client");
      dirs = kDirToClient;
    }
    if (r.flow.to_server) {
      if (has_tx && !(dirs & kDirToServer)) {
        return Fail("flow:to_server conflicts with a response buffer");
      }
      dirs = kDirToServer;
    } else if (r.flow.to_client) {
      if (has_tx && !(dirs & kDirToClient)) {
        return Fail("flow:to_client conflicts with a request buffer");
      }
      dirs = kDirToClient;
    }
    r.dirs = dirs;
    for (MatchList& l : r.lists) {
      SetRetryFlags(l.matches);
      SetRetryFlags(l.base64_matches);
      for (auto* ms : {&l.matches, &l.base64_matches}) {
        for (SigMatch& m : *ms) {
          if (auto* c = std::get_if<ContentMatch>(&m); c != nullptr && c->nocase) c->folded = ToLower(c->pattern);
        }
      }
    }
    // Packet vs stream payload inspection.
    const MatchList* payload = FindList(r, BufferId::kPayload);
    if (r.proto.tcp_pkt) r.require_packet = true;
    if (r.proto.tcp_stream) r.stream_only = true;
    if (payload != nullptr && r.proto.ip_protos.test(6) && !r.proto.tcp_pkt && !r.flow.no_stream) {
      r.require_stream = true;
    }
    if (r.stream_only) r.require_stream = true;
    // Header buffers need the matching protocol.
    for (const MatchList& l : r.lists) {
      switch (l.buffer) {
        case BufferId::kTcpHdr:
          if (!r.proto.ip_protos.test(6)) return Fail("tcp.hdr needs a TCP rule");
          break;
        case BufferId::kUdpHdr:
          if (!r.proto.ip_protos.test(17)) return Fail("udp.hdr needs a UDP rule");
          break;
        default:
          break;
      }
    }
    // Rules for app-layer protocols without transactions keep their header proto.
    if (r.noalert && r.action == Action::kAlert && r.post.empty()) {
      // A noalert rule that changes nothing is legal; nothing to do.
    }
    return std::nullopt;
  }

  // Suricata retries a content (or pcre) at its next occurrence when a
  // relative keyword after it fails and that keyword's window depends on
  // where the content matched: a within, a relative pcre or byte_* or
  // isdataat. A following content with only a distance does not need it.
  static void SetRetryFlags(std::vector<SigMatch>& ms) {
    for (SigMatch& m : ms) {
      if (auto* c = std::get_if<ContentMatch>(&m)) c->retry_next = false;
      if (auto* p = std::get_if<PcreMatch>(&m)) p->retry_next = false;
    }
    for (size_t j = 0; j < ms.size(); ++j) {
      bool relative = false, within = false;
      if (const auto* c = std::get_if<ContentMatch>(&ms[j])) {
        relative = c->relative();
        within = c->has_within;
      } else if (const auto* p = std::get_if<PcreMatch>(&ms[j])) {
        relative = within = p->relative;
      } else if (const auto* bt = std::get_if<ByteTestMatch>(&ms[j])) {
        relative = within = bt->relative;
      } else if (const auto* bj = std::get_if<ByteJumpMatch>(&ms[j])) {
        relative = within = bj->relative;
      } else if (const auto* be = std::get_if<ByteExtractMatch>(&ms[j])) {
        relative = within = be->relative;
      } else if (const auto* bm = std::get_if<ByteMathMatch>(&ms[j])) {
        relative = within = bm->relative;
      } else if (const auto* id = std::get_if<IsDataAtMatch>(&ms[j])) {
        relative = within = id->relative;
      } else if (const auto* bd = std::get_if<Base64DecodeMatch>(&ms[j])) {
        relative = within = bd->relative;
      }
      if (!relative) continue;
      for (size_t i = j; i-- > 0;) {
        if (auto* c = std::get_if<ContentMatch>(&ms[i])) {
          if (within) c->retry_next = true;
          break;
        }
        if (auto* p = std::get_if<PcreMatch>(&ms[i])) {
          p->retry_next = true;
          break;
        }
      }
    }
  }

  const ParseEnv& env_;
  std::unique_ptr<Rule> rule_;
  std::string skipped_keyword_;
  bool have_sid_ = false;
  int current_list_ = -1;
  int last_content_list_ = -1;
  int last_sm_list_ = -1;
  size_t last_content_idx_ = 0;
  bool last_content_b64_ = false;
  int base64_decode_list_ = -1;
  bool in_base64_data_ = false;
  std::vector<std::string> var_names_;
};

}  // namespace

ParseResult ParseRule(std::string_view text, const ParseEnv& env) {
  Parser p(env);
  return p.Run(text);
}

}  // namespace rampart::detect
