#include "agent/detect/types.h"

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

}  // namespace rampart::detect
