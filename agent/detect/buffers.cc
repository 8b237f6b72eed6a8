#include "agent/detect/buffers.h"

#include <algorithm>
#include <cstddef>

namespace rampart::detect {
namespace {

using B = BufferId;
using S = BufferStage;
using P = AppProto;
constexpr uint8_t TS = kDirToServer;
constexpr uint8_t TC = kDirToClient;
constexpr uint8_t BOTH = kDirBoth;

// One row of the table, written as a base (Packet, Http, Tx) and the
// properties in which it differs from that base.
struct Row {
  BufferInfo info;
  constexpr Row Stage(BufferStage s) const {
    Row r = *this;
    r.info.stage = s;
    return r;
  }
  constexpr Row Multi() const {
    Row r = *this;
    r.info.multi = true;
    return r;
  }
  constexpr Row NotSticky() const {
    Row r = *this;
    r.info.sticky = false;
    return r;
  }
  constexpr Row Modifier(std::string_view m) const {
    Row r = *this;
    r.info.modifier = m;
    return r;
  }
  constexpr Row Pcre(char f) const {
    Row r = *this;
    r.info.pcre_flag = f;
    return r;
  }
  constexpr Row Alias(std::string_view a) const {
    Row r = *this;
    r.info.aliases[r.info.aliases[0].empty() ? 0 : 1] = a;
    return r;
  }
  constexpr operator BufferInfo() const { return info; }
};

// Every property a row must give; the rest keep BufferInfo's defaults.
constexpr Row Base(B id, std::string_view name, BufferKind kind, uint8_t dirs, AppProto proto, BufferStage stage) {
  BufferInfo i{};
  i.id = id;
  i.name = name;
  // Assigned although they are empty already: GCC 12 cannot read a
  // value-initialized string_view in a constant expression.
  i.aliases = {std::string_view(), std::string_view()};
  i.modifier = std::string_view();
  i.kind = kind;
  i.dirs = dirs;
  i.proto = proto;
  i.stage = stage;
  return Row{i};
}
// A packet header buffer (either direction, any protocol).
constexpr Row Packet(B id, std::string_view name) {
  return Base(id, name, BufferKind::kHeader, BOTH, P::kUnknown, S::kWhole);
}
// An HTTP/1 transaction buffer on `dirs`, from the part of the message `stage` names.
constexpr Row Http(B id, std::string_view name, uint8_t dirs, BufferStage stage) {
  return Base(id, name, BufferKind::kTx, dirs, P::kHttp1, stage);
}
// A transaction buffer of another protocol, a message of its own (.Stage() when not).
constexpr Row Tx(B id, std::string_view name, AppProto proto, uint8_t dirs) {
  return Base(id, name, BufferKind::kTx, dirs, proto, S::kWhole);
}

// clang-format off
constexpr std::array<BufferInfo, kBufferCount> kBuffers = {{
    Base(B::kPayload, "payload", BufferKind::kPayload, BOTH, P::kUnknown, S::kWhole).NotSticky(),
    Packet(B::kIpv4Hdr, "ipv4.hdr"),
    Packet(B::kIpv6Hdr, "ipv6.hdr"),
    Packet(B::kTcpHdr, "tcp.hdr"),
    Packet(B::kUdpHdr, "udp.hdr"),
    Packet(B::kIcmpv4Hdr, "icmpv4.hdr"),
    Packet(B::kIcmpv6Hdr, "icmpv6.hdr"),
    Packet(B::kIpSrc, "ip.src"),
    Packet(B::kIpDst, "ip.dst"),
    Http(B::kHttpUri, "http.uri", TS, S::kLine).Modifier("http_uri").Pcre('U'),
    Http(B::kHttpUriRaw, "http.uri.raw", TS, S::kLine).Modifier("http_raw_uri").Pcre('I'),
    Http(B::kHttpMethod, "http.method", TS, S::kLine).Modifier("http_method").Pcre('M'),
    Http(B::kHttpRequestLine, "http.request_line", TS, S::kLine).Alias("http_request_line"),
    Http(B::kHttpHost, "http.host", TS, S::kHeaders).Modifier("http_host").Pcre('W'),
    Http(B::kHttpHostRaw, "http.host.raw", TS, S::kHeaders).Modifier("http_raw_host").Pcre('Z'),
    Http(B::kHttpUserAgent, "http.user_agent", TS, S::kHeaders).Modifier("http_user_agent").Pcre('V'),
    Http(B::kHttpReferer, "http.referer", TS, S::kHeaders).Alias("http_referer"),
    Http(B::kHttpAccept, "http.accept", TS, S::kHeaders).Alias("http_accept"),
    Http(B::kHttpAcceptEnc, "http.accept_enc", TS, S::kHeaders).Alias("http_accept_enc"),
    Http(B::kHttpAcceptLang, "http.accept_lang", TS, S::kHeaders).Alias("http_accept_lang"),
    Http(B::kHttpRequestBody, "http.request_body", TS, S::kBody).Modifier("http_client_body").Pcre('P'),
    Http(B::kHttpRequestHeader, "http.request_header", TS, S::kHeaders).Multi(),
    Http(B::kHttpStatCode, "http.stat_code", TC, S::kLine).Modifier("http_stat_code").Pcre('S'),
    Http(B::kHttpStatMsg, "http.stat_msg", TC, S::kLine).Modifier("http_stat_msg").Pcre('Y'),
    Http(B::kHttpResponseLine, "http.response_line", TC, S::kLine).Alias("http_response_line"),
    Http(B::kHttpLocation, "http.location", TC, S::kHeaders).Alias("http_location"),
    Http(B::kHttpServer, "http.server", TC, S::kHeaders).Alias("http_server"),
    Http(B::kHttpResponseBody, "http.response_body", TC, S::kBody).Alias("http_response_body").Modifier("http_server_body"),
    Http(B::kHttpResponseHeader, "http.response_header", TC, S::kHeaders).Multi(),
    Http(B::kHttpProtocol, "http.protocol", BOTH, S::kLine).Alias("http_protocol"),
    Http(B::kHttpHeader, "http.header", BOTH, S::kHeaders).Modifier("http_header").Pcre('H'),
    Http(B::kHttpHeaderRaw, "http.header.raw", BOTH, S::kHeaders).Modifier("http_raw_header").Pcre('D'),
    Http(B::kHttpCookie, "http.cookie", BOTH, S::kHeaders).Modifier("http_cookie").Pcre('C'),
    Http(B::kHttpHeaderNames, "http.header_names", BOTH, S::kHeaders).Alias("http_header_names"),
    Http(B::kHttpConnection, "http.connection", BOTH, S::kHeaders).Alias("http_connection"),
    Http(B::kHttpContentType, "http.content_type", BOTH, S::kHeaders).Alias("http_content_type"),
    Http(B::kHttpContentLen, "http.content_len", BOTH, S::kHeaders).Alias("http_content_len"),
    Http(B::kHttpStart, "http.start", BOTH, S::kHeaders).Alias("http_start"),
    Http(B::kFileData, "file.data", BOTH, S::kBody).Alias("file_data").Pcre('Q'),
    Tx(B::kDnsQuery, "dns.query", P::kDns, TS).Alias("dns_query").Multi(),
    Tx(B::kTlsSni, "tls.sni", P::kTls, TS).Alias("tls_sni"),
    Tx(B::kTlsCertSubject, "tls.cert_subject", P::kTls, TC).Alias("tls_cert_subject"),
    Tx(B::kTlsCertIssuer, "tls.cert_issuer", P::kTls, TC).Alias("tls_cert_issuer"),
    Tx(B::kTlsCertSerial, "tls.cert_serial", P::kTls, TC).Alias("tls_cert_serial"),
    Tx(B::kTlsCertFingerprint, "tls.cert_fingerprint", P::kTls, TC).Alias("tls_cert_fingerprint"),
    Tx(B::kTlsCerts, "tls.certs", P::kTls, TC).Multi(),
    Tx(B::kJa3Hash, "ja3.hash", P::kTls, TS).Alias("ja3_hash"),
    Tx(B::kJa3String, "ja3.string", P::kTls, TS).Alias("ja3_string"),
    Tx(B::kJa3sHash, "ja3s.hash", P::kTls, TC),
    Tx(B::kJa3sString, "ja3s.string", P::kTls, TC),
    Tx(B::kTlsRandom, "tls.random", P::kTls, BOTH),
    Tx(B::kTlsRandomTime, "tls.random_time", P::kTls, BOTH),
    Tx(B::kTlsRandomBytes, "tls.random_bytes", P::kTls, BOTH),
    Tx(B::kQuicVersion, "quic.version", P::kQuic, BOTH),
    Tx(B::kSipMethod, "sip.method", P::kSip, TS),
    Tx(B::kSipUri, "sip.uri", P::kSip, TS),
    Tx(B::kSipRequestLine, "sip.request_line", P::kSip, TS),
    Tx(B::kSipProtocol, "sip.protocol", P::kSip, BOTH),
    Tx(B::kSipStatCode, "sip.stat_code", P::kSip, TC),
    Tx(B::kSipStatMsg, "sip.stat_msg", P::kSip, TC),
    Tx(B::kSipResponseLine, "sip.response_line", P::kSip, TC),
    Tx(B::kSipFrom, "sip.from", P::kSip, BOTH),
    Tx(B::kSipTo, "sip.to", P::kSip, BOTH),
    Tx(B::kSipVia, "sip.via", P::kSip, BOTH).Multi(),
    Tx(B::kSipUserAgent, "sip.user_agent", P::kSip, BOTH),
    Tx(B::kSipContentType, "sip.content_type", P::kSip, BOTH),
    Tx(B::kSipContentLength, "sip.content_length", P::kSip, BOTH),
    Tx(B::kSdpOrigin, "sdp.origin", P::kSip, BOTH),
    Tx(B::kSdpSessionName, "sdp.session_name", P::kSip, BOTH),
    Tx(B::kSdpSessionInfo, "sdp.session_info", P::kSip, BOTH),
    Tx(B::kSdpUri, "sdp.uri", P::kSip, BOTH),
    Tx(B::kSdpEmail, "sdp.email", P::kSip, BOTH),
    Tx(B::kSdpPhoneNumber, "sdp.phone_number", P::kSip, BOTH),
    Tx(B::kSdpConnectionData, "sdp.connection_data", P::kSip, BOTH),
    Tx(B::kSdpBandwidth, "sdp.bandwidth", P::kSip, BOTH).Multi(),
    Tx(B::kSdpTime, "sdp.time", P::kSip, BOTH).Multi(),
    Tx(B::kSdpRepeatTime, "sdp.repeat_time", P::kSip, BOTH).Multi(),
    Tx(B::kSdpTimezone, "sdp.timezone", P::kSip, BOTH),
    Tx(B::kSdpEncryptionKey, "sdp.encryption_key", P::kSip, BOTH),
    Tx(B::kSdpAttribute, "sdp.attribute", P::kSip, BOTH).Multi(),
    Tx(B::kSdpMediaMedia, "sdp.media.media", P::kSip, BOTH).Multi(),
    Tx(B::kSdpMediaInfo, "sdp.media.media_info", P::kSip, BOTH).Multi(),
    Tx(B::kSdpMediaConnectionData, "sdp.media.connection_data", P::kSip, BOTH).Multi(),
    Tx(B::kSdpMediaEncryptionKey, "sdp.media.encryption_key", P::kSip, BOTH).Multi(),
    Tx(B::kSdpMediaBandwidth, "sdp.media.bandwidth", P::kSip, BOTH).Multi(),
    Tx(B::kSdpMediaAttribute, "sdp.media.attribute", P::kSip, BOTH).Multi(),
    Tx(B::kSshProto, "ssh.proto", P::kSsh, BOTH).Alias("ssh_proto"),
    Tx(B::kSshSoftware, "ssh.software", P::kSsh, BOTH).Alias("ssh_software"),
    Tx(B::kSshHassh, "ssh.hassh", P::kSsh, TS).Stage(S::kHeaders).Alias("ssh-hassh"),
    Tx(B::kSshHasshString, "ssh.hassh.string", P::kSsh, TS).Stage(S::kHeaders).Alias("ssh-hassh-string"),
    Tx(B::kSshHasshServer, "ssh.hassh.server", P::kSsh, TC).Stage(S::kHeaders).Alias("ssh-hassh-server"),
    Tx(B::kSshHasshServerString, "ssh.hassh.server.string", P::kSsh, TC).Stage(S::kHeaders).Alias("ssh-hassh-server-string"),
    Tx(B::kKrb5MsgType, "krb5.msg_type", P::kKrb5, BOTH).NotSticky(),
    Tx(B::kSnmpCommunity, "snmp.community", P::kSnmp, BOTH),
    Tx(B::kSmbShare, "smb.share", P::kSmb, TS).Alias("smb_share"),
    Tx(B::kSmbNamedPipe, "smb.named_pipe", P::kSmb, TS).Alias("smb_named_pipe"),
    Tx(B::kLlmnrQueriesRrname, "llmnr.queries.rrname", P::kLlmnr, TS).Multi(),
    Tx(B::kLlmnrAnswersRrname, "llmnr.answers.rrname", P::kLlmnr, TC).Multi(),
}};
// clang-format on

// Each id has its row, at its index.
constexpr bool RowsInIdOrder() {
  for (size_t i = 0; i < kBuffers.size(); ++i) {
    if (kBuffers[i].id != static_cast<BufferId>(i) || kBuffers[i].name.empty()) return false;
  }
  return true;
}
static_assert(RowsInIdOrder(), "kBuffers needs one row per BufferId, in the enum's order");

// No keyword spelling (name, alias, modifier) or pcre flag names two
// buffers: all of them sorted, then neighbours compared.
constexpr bool SpellingsUnique() {
  std::array<std::string_view, kBufferCount * 4> all{};
  std::array<char, kBufferCount> flags{};
  size_t n = 0, nf = 0;
  for (const BufferInfo& b : kBuffers) {
    for (std::string_view s : {b.name, b.aliases[0], b.aliases[1], b.modifier}) {
      if (!s.empty()) all[n++] = s;
    }
    if (b.pcre_flag != 0) flags[nf++] = b.pcre_flag;
  }
  std::sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
  std::sort(flags.begin(), flags.begin() + static_cast<std::ptrdiff_t>(nf));
  for (size_t i = 1; i < n; ++i) {
    if (all[i] == all[i - 1]) return false;
  }
  for (size_t i = 1; i < nf; ++i) {
    if (flags[i] == flags[i - 1]) return false;
  }
  return true;
}
static_assert(SpellingsUnique(), "a buffer keyword, modifier or pcre flag is listed twice");

}  // namespace

TxProgress ReadyAt(BufferStage s) {
  switch (s) {
    case BufferStage::kWhole:
    case BufferStage::kLine: return TxProgress::kLine;
    case BufferStage::kHeaders:
    case BufferStage::kBody: return TxProgress::kHeaders;  // Body bytes follow the header block.
  }
  return TxProgress::kLine;
}

TxProgress FinalAt(BufferStage s) {
  switch (s) {
    case BufferStage::kWhole:
    case BufferStage::kLine: return TxProgress::kLine;
    case BufferStage::kHeaders: return TxProgress::kHeaders;
    case BufferStage::kBody: return TxProgress::kComplete;
  }
  return TxProgress::kComplete;
}

const BufferInfo& GetBufferInfo(BufferId id) { return kBuffers[static_cast<size_t>(id)]; }

std::span<const BufferInfo> AllBuffers() { return kBuffers; }

std::optional<BufferId> BufferForPcreFlag(char flag) {
  if (flag == 0) return std::nullopt;
  for (const BufferInfo& b : kBuffers) {
    if (b.pcre_flag == flag) return b.id;
  }
  return std::nullopt;
}

}  // namespace rampart::detect
