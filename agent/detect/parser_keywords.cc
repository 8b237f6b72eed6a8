// The keyword table: every rule keyword the parser knows, with the value it
// takes and its handler, and the lookup that adds the sticky buffers and
// legacy content modifiers of the buffer table (buffers.h). A keyword that
// is in neither is not supported: its rule is skipped, the keyword named.

#include <cstdint>
#include <unordered_map>

#include "agent/detect/rule_parser_internal.h"
#include "agent/detect/text_util.h"
#include "common/status/check.h"

namespace rampart::detect::parser {

using V = ValuePolicy;
using K = Check::Kind;
using D = Check::CounterDir;
using O = RawOption;

// Rows whose handler only passes a constant on.
template <TransformKind kind>
KwStatus Parser::TransformRow(Parser& p, const RawOption& o) {
  return p.TransformKw(kind, o.value, o.has_value);
}
template <Check::Kind kind, uint64_t max>
KwStatus Parser::NumCheckRow(Parser& p, const RawOption& o) {
  return p.NumCheck(kind, o.value, max);
}

// clang-format off
constexpr Parser::Keyword Parser::kKeywords[] = {
    // Identity and metadata.
    {"msg", V::kRequired, [](Parser& p, const O& o) -> KwStatus { p.rule_->msg = Unescape(Unquote(o.value)); return std::nullopt; }},
    {"sid", V::kRequired, [](Parser& p, const O& o) { return p.Sid(o.value); }},
    {"rev", V::kHandler, [](Parser& p, const O& o) -> KwStatus {
       auto n = ParseUint(o.value);
       if (!n || *n > UINT32_MAX) return Fail("'" + o.value + "' is not a valid rev");
       p.rule_->rev = static_cast<uint32_t>(*n);
       return std::nullopt;
     }},
    {"gid", V::kHandler, [](Parser& p, const O& o) -> KwStatus {
       auto n = ParseUint(o.value);
       if (!n || *n > UINT32_MAX) return Fail("'" + o.value + "' is not a valid gid");
       p.rule_->gid = static_cast<uint32_t>(*n);
       return std::nullopt;
     }},
    {"classtype", V::kRequired, [](Parser& p, const O& o) { return p.Classtype(o.value); }},
    {"priority", V::kHandler, [](Parser& p, const O& o) -> KwStatus {
       auto n = ParseUint(o.value);
       if (!n || *n < 1 || *n > 255) return Fail("'" + o.value + "' is not a priority (1-255)");
       p.rule_->priority = static_cast<int>(*n);
       p.rule_->priority_set = true;
       return std::nullopt;
     }},
    {"reference", V::kRequired, [](Parser& p, const O& o) { return p.Reference(o.value); }},
    {"metadata", V::kHandler, [](Parser& p, const O& o) -> KwStatus {
       for (auto part : Split(o.value, ',')) {
         if (!part.empty()) p.rule_->metadata.emplace_back(part);
       }
       return std::nullopt;
     }},
    {"target", V::kHandler, [](Parser& p, const O& o) -> KwStatus {
       std::string t = ToLower(Trim(o.value));
       if (t != "src_ip" && t != "dest_ip") return Fail("must be src_ip or dest_ip");
       p.rule_->target = t;
       return std::nullopt;
     }},
    {"noalert", V::kHandler, [](Parser& p, const O&) -> KwStatus { p.rule_->noalert = true; return std::nullopt; }},
    {"requires", V::kHandler, [](Parser& p, const O& o) { return p.Requires(o.value); }},
    {"config", V::kHandler, [](Parser&, const O&) { return Unsupported("config rules only change logging"); }},
    // Logging, storage and IPS output only: accepted and ignored, since
    // they never change which alerts are raised.
    {"tag", V::kHandler, [](Parser&, const O&) -> KwStatus { return std::nullopt; }},
    {"filestore", V::kHandler, [](Parser&, const O&) -> KwStatus { return std::nullopt; }},
    {"prefilter", V::kHandler, [](Parser&, const O&) -> KwStatus { return std::nullopt; }},
    {"replace", V::kHandler, [](Parser&, const O&) -> KwStatus { return std::nullopt; }},
    {"rawbytes", V::kHandler, [](Parser&, const O&) -> KwStatus { return std::nullopt; }},
    {"classtype_ignore", V::kHandler, [](Parser&, const O&) -> KwStatus { return std::nullopt; }},

    // Content and its modifiers (the buffer modifiers, http_uri..., are in the buffer table).
    {"content", V::kRequired, [](Parser& p, const O& o) { return p.Content(o.value, p.CurrentList()); }},
    {"uricontent", V::kRequired, [](Parser& p, const O& o) { return p.Content(o.value, p.ListFor(BufferId::kHttpUri, false)); }},
    {"nocase", V::kNone, [](Parser& p, const O&) { return p.Nocase(); }},
    {"depth", V::kHandler, [](Parser& p, const O& o) { return p.Positional("depth", o.value); }},
    {"offset", V::kHandler, [](Parser& p, const O& o) { return p.Positional("offset", o.value); }},
    {"distance", V::kHandler, [](Parser& p, const O& o) { return p.Positional("distance", o.value); }},
    {"within", V::kHandler, [](Parser& p, const O& o) { return p.Positional("within", o.value); }},
    {"startswith", V::kHandler, [](Parser& p, const O&) { return p.StartsOrEndsWith(true); }},
    {"endswith", V::kHandler, [](Parser& p, const O&) { return p.StartsOrEndsWith(false); }},
    {"fast_pattern", V::kHandler, [](Parser& p, const O& o) { return p.FastPattern(o.value); }},

    // The payload again after a sticky buffer (the sticky buffers are in the buffer table).
    {"pkt_data", V::kHandler, [](Parser& p, const O&) -> KwStatus { p.current_list_ = -1; return std::nullopt; }},

    // Transforms of the active sticky buffer.
    {"dotprefix", V::kHandler, &Parser::TransformRow<TransformKind::kDotPrefix>},
    {"strip_whitespace", V::kHandler, &Parser::TransformRow<TransformKind::kStripWhitespace>},
    {"compress_whitespace", V::kHandler, &Parser::TransformRow<TransformKind::kCompressWhitespace>},
    {"to_lowercase", V::kHandler, &Parser::TransformRow<TransformKind::kToLower>},
    {"to_uppercase", V::kHandler, &Parser::TransformRow<TransformKind::kToUpper>},
    {"to_md5", V::kHandler, &Parser::TransformRow<TransformKind::kToMd5>},
    {"to_sha1", V::kHandler, &Parser::TransformRow<TransformKind::kToSha1>},
    {"to_sha256", V::kHandler, &Parser::TransformRow<TransformKind::kToSha256>},
    {"url_decode", V::kHandler, &Parser::TransformRow<TransformKind::kUrlDecode>},
    {"xor", V::kHandler, &Parser::TransformRow<TransformKind::kXor>},
    {"from_base64", V::kHandler, &Parser::TransformRow<TransformKind::kFromBase64>},
    {"pcrexform", V::kHandler, &Parser::TransformRow<TransformKind::kPcreXform>},
    {"header_lowercase", V::kHandler, &Parser::TransformRow<TransformKind::kHeaderLowercase>},
    {"strip_pseudo_headers", V::kHandler, &Parser::TransformRow<TransformKind::kStripPseudoHeaders>},
    {"gunzip", V::kHandler, &Parser::TransformRow<TransformKind::kGunzip>},
    {"zlib_deflate", V::kHandler, &Parser::TransformRow<TransformKind::kZlibDeflate>},
    {"subslice", V::kHandler, &Parser::TransformRow<TransformKind::kSubslice>},

    // Payload keywords.
    {"pcre", V::kRequired, [](Parser& p, const O& o) { return p.Pcre(o.value); }},
    {"isdataat", V::kHandler, [](Parser& p, const O& o) { return p.IsDataAt(o.value); }},
    {"byte_test", V::kHandler, [](Parser& p, const O& o) { return p.ByteTest(o.value); }},
    {"byte_jump", V::kHandler, [](Parser& p, const O& o) { return p.ByteJump(o.value); }},
    {"byte_extract", V::kHandler, [](Parser& p, const O& o) { return p.ByteExtract(o.value); }},
    {"byte_math", V::kHandler, [](Parser& p, const O& o) { return p.ByteMath(o.value); }},
    {"bsize", V::kHandler, [](Parser& p, const O& o) { return p.Bsize(o.value); }},
    {"urilen", V::kHandler, [](Parser& p, const O& o) { return p.Urilen(o.value); }},
    {"krb5_msg_type", V::kHandler, [](Parser& p, const O& o) { return p.Krb5MsgType(o.value); }},
    {"base64_decode", V::kHandler, [](Parser& p, const O& o) { return p.Base64Decode(o.value, o.has_value); }},
    {"base64_data", V::kHandler, [](Parser& p, const O&) { return p.Base64Data(); }},
    {"dataset", V::kHandler, [](Parser& p, const O& o) { return p.DatasetKeyword(o.value, false); }},
    {"datarep", V::kHandler, [](Parser& p, const O& o) { return p.DatasetKeyword(o.value, true); }},
    {"absent", V::kHandler, [](Parser& p, const O& o) { return p.Absent(o.value); }},

    // Packet and flow keywords.
    {"flow", V::kHandler, [](Parser& p, const O& o) { return p.Flow(o.value); }},
    {"dsize", V::kHandler, [](Parser& p, const O& o) { return p.Dsize(o.value); }},
    {"ttl", V::kHandler, &Parser::NumCheckRow<K::kTtl, 255>},
    {"tos", V::kHandler, &Parser::NumCheckRow<K::kTos, 255>},
    {"id", V::kHandler, &Parser::NumCheckRow<K::kIpId, 65535>},
    {"window", V::kHandler, &Parser::NumCheckRow<K::kWindow, 65535>},
    {"seq", V::kHandler, &Parser::NumCheckRow<K::kSeq, UINT32_MAX>},
    {"ack", V::kHandler, &Parser::NumCheckRow<K::kAck, UINT32_MAX>},
    {"itype", V::kHandler, &Parser::NumCheckRow<K::kItype, 255>},
    {"icode", V::kHandler, &Parser::NumCheckRow<K::kIcode, 255>},
    {"icmp_id", V::kHandler, &Parser::NumCheckRow<K::kIcmpId, 65535>},
    {"icmp_seq", V::kHandler, &Parser::NumCheckRow<K::kIcmpSeq, 65535>},
    {"tcp.mss", V::kHandler, &Parser::NumCheckRow<K::kTcpMss, 65535>},
    {"icmpv6.mtu", V::kHandler, &Parser::NumCheckRow<K::kIcmpv6Mtu, UINT32_MAX>},
    {"fragoffset", V::kHandler, &Parser::NumCheckRow<K::kFragOffset, 65535>},
    {"ip_proto", V::kHandler, [](Parser& p, const O& o) { return p.IpProto(o.value); }},
    {"flags", V::kHandler, [](Parser& p, const O& o) { return p.Flags(o.value); }},
    {"tcp.flags", V::kHandler, [](Parser& p, const O& o) { return p.Flags(o.value); }},
    {"fragbits", V::kHandler, [](Parser& p, const O& o) { return p.Fragbits(o.value); }},
    {"ipopts", V::kHandler, [](Parser& p, const O& o) { return p.Ipopts(o.value); }},
    {"sameip", V::kHandler, [](Parser& p, const O&) -> KwStatus { p.rule_->checks.push_back(Check{K::kSameIp}); return std::nullopt; }},
    {"stream_size", V::kHandler, [](Parser& p, const O& o) { return p.StreamSize(o.value); }},
    {"flow.age", V::kHandler, &Parser::NumCheckRow<K::kFlowAge, UINT32_MAX>},
    {"flow.pkts", V::kHandler, [](Parser& p, const O& o) { return p.FlowCounter(true, o.value, std::nullopt); }},
    {"flow.bytes", V::kHandler, [](Parser& p, const O& o) { return p.FlowCounter(false, o.value, std::nullopt); }},
    {"flow.pkts_toserver", V::kHandler, [](Parser& p, const O& o) { return p.FlowCounter(true, o.value, D::kToServer); }},
    {"flow.pkts_toclient", V::kHandler, [](Parser& p, const O& o) { return p.FlowCounter(true, o.value, D::kToClient); }},
    {"flow.bytes_toserver", V::kHandler, [](Parser& p, const O& o) { return p.FlowCounter(false, o.value, D::kToServer); }},
    {"flow.bytes_toclient", V::kHandler, [](Parser& p, const O& o) { return p.FlowCounter(false, o.value, D::kToClient); }},
    {"app-layer-protocol", V::kHandler, [](Parser& p, const O& o) { return p.AppLayerProtocol(o.value); }},
    {"decode-event", V::kRequired, [](Parser& p, const O& o) { return p.Event(K::kDecodeEvent, o.value); }},
    {"app-layer-event", V::kRequired, [](Parser& p, const O& o) { return p.Event(K::kAppLayerEvent, o.value); }},
    {"stream-event", V::kRequired, [](Parser& p, const O& o) { return p.Event(K::kStreamEvent, o.value); }},
    {"filesize", V::kHandler, [](Parser& p, const O& o) { return p.FileSize(o.value); }},

    // State: flowbits, flowint, xbits, thresholds.
    {"flowbits", V::kHandler, [](Parser& p, const O& o) { return p.Flowbits(o.value); }},
    {"flowint", V::kHandler, [](Parser& p, const O& o) { return p.Flowint(o.value); }},
    {"xbits", V::kHandler, [](Parser& p, const O& o) { return p.Xbits(o.value, false); }},
    {"hostbits", V::kHandler, [](Parser& p, const O& o) { return p.Xbits(o.value, true); }},
    {"threshold", V::kHandler, [](Parser& p, const O& o) { return p.Threshold(o.value, false); }},
    {"detection_filter", V::kHandler, [](Parser& p, const O& o) { return p.Threshold(o.value, true); }},

    // TLS.
    {"tls.subject", V::kHandler, [](Parser& p, const O& o) { return p.TlsField(K::kTlsSubject, o); }},
    {"tls.issuerdn", V::kHandler, [](Parser& p, const O& o) { return p.TlsField(K::kTlsIssuer, o); }},
    {"tls.fingerprint", V::kHandler, [](Parser& p, const O& o) { return p.TlsField(K::kTlsFingerprint, o); }},
    {"tls_cert_notbefore", V::kHandler, [](Parser& p, const O& o) { return p.CertDate(true, o.value); }},
    {"tls_cert_notafter", V::kHandler, [](Parser& p, const O& o) { return p.CertDate(false, o.value); }},
    {"tls_cert_expired", V::kHandler, [](Parser& p, const O&) { return p.TlsCertState(K::kTlsCertExpired); }},
    {"tls_cert_valid", V::kHandler, [](Parser& p, const O&) { return p.TlsCertState(K::kTlsCertValid); }},
    {"ssl_version", V::kHandler, [](Parser& p, const O& o) { return p.SslVersion(o.value); }},
    {"tls.version", V::kHandler, [](Parser& p, const O& o) { return p.TlsVersion(o.value); }},
    {"ssl_state", V::kHandler, [](Parser&, const O&) { return Unsupported("ssl_state is not supported"); }},
};
// clang-format on

namespace {

// What a lowered keyword name stands for.
struct KeywordRef {
  enum class Use : uint8_t { kKeyword, kStickyBuffer, kModifier } use = Use::kKeyword;
  const Parser::Keyword* keyword = nullptr;  // kKeyword
  BufferId buffer = BufferId::kPayload;      // kStickyBuffer, kModifier
};

// Every keyword spelling: the keyword table, the buffers' sticky names and
// aliases, and their legacy modifiers. Built once; a spelling listed twice
// is a bug in the tables.
std::unordered_map<std::string_view, KeywordRef> BuildKeywordIndex() {
  std::unordered_map<std::string_view, KeywordRef> m;
  auto add = [&](std::string_view name, KeywordRef ref) {
    RAMPART_CHECK(m.emplace(name, ref).second) << "rule keyword '" << name << "' is declared twice";
  };
  for (const Parser::Keyword& k : Parser::kKeywords) add(k.name, {KeywordRef::Use::kKeyword, &k, BufferId::kPayload});
  for (const BufferInfo& b : AllBuffers()) {
    if (b.sticky) {
      add(b.name, {KeywordRef::Use::kStickyBuffer, nullptr, b.id});
      for (std::string_view alias : b.aliases) {
        if (!alias.empty()) add(alias, {KeywordRef::Use::kStickyBuffer, nullptr, b.id});
      }
    }
    if (!b.modifier.empty()) add(b.modifier, {KeywordRef::Use::kModifier, nullptr, b.id});
  }
  return m;
}

}  // namespace

KwStatus Parser::Option(const RawOption& o) {
  const std::string name = ToLower(o.name);
  static const std::unordered_map<std::string_view, KeywordRef> index = BuildKeywordIndex();
  const auto it = index.find(name);
  if (it == index.end()) return Unsupported("keyword '" + name + "' is not supported");
  const KeywordRef& ref = it->second;
  switch (ref.use) {
    case KeywordRef::Use::kStickyBuffer: return StickyBuffer(ref.buffer, o);
    case KeywordRef::Use::kModifier: return Modifier(ref.buffer, name);
    case KeywordRef::Use::kKeyword: break;
  }
  const bool has_value = o.has_value && !Trim(o.value).empty();
  if (ref.keyword->value == ValuePolicy::kRequired && !has_value) return Fail("needs a value");
  if (ref.keyword->value == ValuePolicy::kNone && has_value) return Fail("takes no value");
  return ref.keyword->handler(*this, o);
}

// ------------------------------------------------------- identity keywords

KwStatus Parser::Sid(const std::string& v) {
  auto n = ParseUint(v);
  if (!n || *n == 0 || *n > UINT32_MAX) return Fail("'" + v + "' is not a valid sid");
  if (have_sid_) return Fail("sid given twice");
  have_sid_ = true;
  rule_->sid = static_cast<uint32_t>(*n);
  return std::nullopt;
}

KwStatus Parser::Classtype(const std::string& v) {
  std::string cls = ToLower(Trim(v));
  const ClassInfo* ci = env_.classes->Find(cls);
  if (ci == nullptr) return Fail("unknown classtype '" + cls + "' (not in the classification file)");
  Rule& r = *rule_;
  r.classtype = ci->name;
  r.category = ci->description;
  if (!r.priority_set) r.priority = ci->priority;
  return std::nullopt;
}

KwStatus Parser::Reference(const std::string& v) {
  size_t comma = v.find(',');
  if (comma == std::string::npos) return Fail("expected 'type,value'");
  rule_->references.push_back({std::string(Trim(v.substr(0, comma))), Unescape(Trim(v.substr(comma + 1)))});
  return std::nullopt;
}

// "requires: feature X, version >= 7.0". A rule whose requirement this
// engine cannot meet is skipped, as Suricata skips it.
KwStatus Parser::Requires(const std::string& value) {
  for (auto p : Split(value, ',')) {
    if (p.starts_with("feature")) {
      return Unsupported("requires " + std::string(p));
    }
  }
  return std::nullopt;
}

}  // namespace rampart::detect::parser
