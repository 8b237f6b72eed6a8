#include "agent/detect/types.h"

#include <array>

#include "agent/detect/text_util.h"

namespace rampart::detect {

std::string_view ActionName(Action a) {
  switch (a) {
    case Action::kPass: return "pass";
    case Action::kDrop: return "drop";
    case Action::kReject: return "reject";
    case Action::kAlert: return "alert";
    case Action::kConfig: return "config";
  }
  return "alert";
}

namespace {

struct ProtoName {
  AppProto proto;
  std::string_view name;
};

constexpr ProtoName kProtoNames[] = {
    {AppProto::kHttp1, "http"},     {AppProto::kHttp1, "http1"},   {AppProto::kHttp2, "http2"},
    {AppProto::kDns, "dns"},        {AppProto::kTls, "tls"},       {AppProto::kTls, "ssl"},
    {AppProto::kSmtp, "smtp"},      {AppProto::kFtp, "ftp"},       {AppProto::kFtpData, "ftp-data"},
    {AppProto::kSsh, "ssh"},        {AppProto::kSmb, "smb"},       {AppProto::kDcerpc, "dcerpc"},
    {AppProto::kKrb5, "krb5"},      {AppProto::kSip, "sip"},       {AppProto::kSnmp, "snmp"},
    {AppProto::kNfs, "nfs"},        {AppProto::kDhcp, "dhcp"},     {AppProto::kTftp, "tftp"},
    {AppProto::kNtp, "ntp"},        {AppProto::kIkev2, "ike"},     {AppProto::kIkev2, "ikev2"},
    {AppProto::kRdp, "rdp"},        {AppProto::kRfb, "rfb"},       {AppProto::kMqtt, "mqtt"},
    {AppProto::kModbus, "modbus"},  {AppProto::kDnp3, "dnp3"},     {AppProto::kEnip, "enip"},
    {AppProto::kImap, "imap"},      {AppProto::kPop3, "pop3"},     {AppProto::kQuic, "quic"},
    {AppProto::kPgsql, "pgsql"},    {AppProto::kTelnet, "telnet"}, {AppProto::kBittorrentDht, "bittorrent-dht"},
    {AppProto::kWebsocket, "websocket"}, {AppProto::kLdap, "ldap"}, {AppProto::kDoh2, "doh2"},
    {AppProto::kLlmnr, "llmnr"},    {AppProto::kMdns, "mdns"},     {AppProto::kIrc, "irc"},
    {AppProto::kFailed, "failed"},
};

}  // namespace

std::optional<AppProto> AppProtoFromName(std::string_view name) {
  for (const auto& p : kProtoNames) {
    if (EqualsIgnoreCase(p.name, name)) return p.proto;
  }
  return std::nullopt;
}

std::string_view AppProtoName(AppProto p) {
  if (p == AppProto::kUnknown) return "";
  for (const auto& n : kProtoNames) {
    if (n.proto == p) return n.name;
  }
  return "";
}

namespace {
using K = BufferKind;
constexpr uint8_t TS = kDirToServer;
constexpr uint8_t TC = kDirToClient;
constexpr uint8_t BOTH = kDirBoth;
constexpr AppProto H = AppProto::kHttp1;
constexpr AppProto U = AppProto::kUnknown;

constexpr std::array<BufferInfo, kBufferCount> kBuffers = {{
    {"payload", K::kPayload, BOTH, U, false, 0},
    {"ipv4.hdr", K::kHeader, BOTH, U, false, 0},
    {"ipv6.hdr", K::kHeader, BOTH, U, false, 0},
    {"tcp.hdr", K::kHeader, BOTH, U, false, 0},
    {"udp.hdr", K::kHeader, BOTH, U, false, 0},
    {"icmpv4.hdr", K::kHeader, BOTH, U, false, 0},
    {"icmpv6.hdr", K::kHeader, BOTH, U, false, 0},
    {"ip.src", K::kHeader, BOTH, U, false, 0},
    {"ip.dst", K::kHeader, BOTH, U, false, 0},
    {"http.uri", K::kTx, TS, H, false, 1},
    {"http.uri.raw", K::kTx, TS, H, false, 1},
    {"http.method", K::kTx, TS, H, false, 1},
    {"http.request_line", K::kTx, TS, H, false, 1},
    {"http.host", K::kTx, TS, H, false, 2},
    {"http.host.raw", K::kTx, TS, H, false, 2},
    {"http.user_agent", K::kTx, TS, H, false, 2},
    {"http.referer", K::kTx, TS, H, false, 2},
    {"http.accept", K::kTx, TS, H, false, 2},
    {"http.accept_enc", K::kTx, TS, H, false, 2},
    {"http.accept_lang", K::kTx, TS, H, false, 2},
    {"http.request_body", K::kTx, TS, H, false, 3},
    {"http.request_header", K::kTx, TS, H, true, 2},
    {"http.stat_code", K::kTx, TC, H, false, 1},
    {"http.stat_msg", K::kTx, TC, H, false, 1},
    {"http.response_line", K::kTx, TC, H, false, 1},
    {"http.location", K::kTx, TC, H, false, 2},
    {"http.server", K::kTx, TC, H, false, 2},
    {"http.response_body", K::kTx, TC, H, false, 3},
    {"http.response_header", K::kTx, TC, H, true, 2},
    {"http.protocol", K::kTx, BOTH, H, false, 1},
    {"http.header", K::kTx, BOTH, H, false, 2},
    {"http.header.raw", K::kTx, BOTH, H, false, 2},
    {"http.cookie", K::kTx, BOTH, H, false, 2},
    {"http.header_names", K::kTx, BOTH, H, false, 2},
    {"http.connection", K::kTx, BOTH, H, false, 2},
    {"http.content_type", K::kTx, BOTH, H, false, 2},
    {"http.content_len", K::kTx, BOTH, H, false, 2},
    {"http.start", K::kTx, BOTH, H, false, 2},
    {"file.data", K::kTx, BOTH, H, false, 3},
    {"dns.query", K::kTx, TS, AppProto::kDns, true, 0},
    {"tls.sni", K::kTx, TS, AppProto::kTls, false, 0},
    {"tls.cert_subject", K::kTx, TC, AppProto::kTls, false, 0},
    {"tls.cert_issuer", K::kTx, TC, AppProto::kTls, false, 0},
    {"tls.cert_serial", K::kTx, TC, AppProto::kTls, false, 0},
    {"tls.cert_fingerprint", K::kTx, TC, AppProto::kTls, false, 0},
    {"tls.certs", K::kTx, TC, AppProto::kTls, true, 0},
    {"ja3.hash", K::kTx, TS, AppProto::kTls, false, 0},
    {"ja3.string", K::kTx, TS, AppProto::kTls, false, 0},
    {"ja3s.hash", K::kTx, TC, AppProto::kTls, false, 0},
    {"ja3s.string", K::kTx, TC, AppProto::kTls, false, 0},
    {"tls.random", K::kTx, BOTH, AppProto::kTls, false, 0},
    {"tls.random_time", K::kTx, BOTH, AppProto::kTls, false, 0},
    {"tls.random_bytes", K::kTx, BOTH, AppProto::kTls, false, 0},
    {"quic.version", K::kTx, BOTH, AppProto::kQuic, false, 0},
    {"sip.method", K::kTx, TS, AppProto::kSip, false, 0},
    {"sip.uri", K::kTx, TS, AppProto::kSip, false, 0},
    {"sip.request_line", K::kTx, TS, AppProto::kSip, false, 0},
    {"sip.protocol", K::kTx, BOTH, AppProto::kSip, false, 0},
    {"sip.stat_code", K::kTx, TC, AppProto::kSip, false, 0},
    {"sip.stat_msg", K::kTx, TC, AppProto::kSip, false, 0},
    {"sip.response_line", K::kTx, TC, AppProto::kSip, false, 0},
    {"sip.from", K::kTx, BOTH, AppProto::kSip, false, 0},
    {"sip.to", K::kTx, BOTH, AppProto::kSip, false, 0},
    {"sip.via", K::kTx, BOTH, AppProto::kSip, true, 0},
    {"sip.user_agent", K::kTx, BOTH, AppProto::kSip, false, 0},
    {"sip.content_type", K::kTx, BOTH, AppProto::kSip, false, 0},
    {"sip.content_length", K::kTx, BOTH, AppProto::kSip, false, 0},
    {"sdp.origin", K::kTx, BOTH, AppProto::kSip, false, 0},
    {"sdp.session_name", K::kTx, BOTH, AppProto::kSip, false, 0},
    {"sdp.session_info", K::kTx, BOTH, AppProto::kSip, false, 0},
    {"sdp.uri", K::kTx, BOTH, AppProto::kSip, false, 0},
    {"sdp.email", K::kTx, BOTH, AppProto::kSip, false, 0},
    {"sdp.phone_number", K::kTx, BOTH, AppProto::kSip, false, 0},
    {"sdp.connection_data", K::kTx, BOTH, AppProto::kSip, false, 0},
    {"sdp.bandwidth", K::kTx, BOTH, AppProto::kSip, true, 0},
    {"sdp.time", K::kTx, BOTH, AppProto::kSip, true, 0},
    {"sdp.repeat_time", K::kTx, BOTH, AppProto::kSip, true, 0},
    {"sdp.timezone", K::kTx, BOTH, AppProto::kSip, false, 0},
    {"sdp.encryption_key", K::kTx, BOTH, AppProto::kSip, false, 0},
    {"sdp.attribute", K::kTx, BOTH, AppProto::kSip, true, 0},
    {"sdp.media.media", K::kTx, BOTH, AppProto::kSip, true, 0},
    {"sdp.media.media_info", K::kTx, BOTH, AppProto::kSip, true, 0},
    {"sdp.media.connection_data", K::kTx, BOTH, AppProto::kSip, true, 0},
    {"sdp.media.encryption_key", K::kTx, BOTH, AppProto::kSip, true, 0},
    {"sdp.media.bandwidth", K::kTx, BOTH, AppProto::kSip, true, 0},
    {"sdp.media.attribute", K::kTx, BOTH, AppProto::kSip, true, 0},
    {"ssh.proto", K::kTx, BOTH, AppProto::kSsh, false, 0},
    {"ssh.software", K::kTx, BOTH, AppProto::kSsh, false, 0},
    {"ssh.hassh", K::kTx, TS, AppProto::kSsh, false, 2},
    {"ssh.hassh.string", K::kTx, TS, AppProto::kSsh, false, 2},
    {"ssh.hassh.server", K::kTx, TC, AppProto::kSsh, false, 2},
    {"ssh.hassh.server.string", K::kTx, TC, AppProto::kSsh, false, 2},
    {"krb5.msg_type", K::kTx, BOTH, AppProto::kKrb5, false, 0},
    {"snmp.community", K::kTx, BOTH, AppProto::kSnmp, false, 0},
    {"smb.share", K::kTx, TS, AppProto::kSmb, false, 0},
    {"smb.named_pipe", K::kTx, TS, AppProto::kSmb, false, 0},
    {"llmnr.queries.rrname", K::kTx, TS, AppProto::kLlmnr, true, 0},
    {"llmnr.answers.rrname", K::kTx, TC, AppProto::kLlmnr, true, 0},
}};
}  // namespace

const BufferInfo& GetBufferInfo(BufferId id) { return kBuffers[static_cast<size_t>(id)]; }

}  // namespace rampart::detect
