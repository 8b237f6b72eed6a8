#pragma once
// Small vocabulary types of the detection engine: rule actions, directions,
// the inspection buffers a rule can match on, and the app-layer protocol
// names Suricata rules use. Values only; no state.

#include <cstdint>
#include <optional>
#include <string_view>

namespace rampart::detect {

// A rule's action. The order of the enumerators is Suricata's default
// action order (pass, drop, reject, alert): rules are inspected in that
// order, so a pass rule that matches suppresses the alerts after it.
enum class Action : uint8_t { kPass, kDrop, kReject, kAlert, kConfig };
std::string_view ActionName(Action a);

// Which side of a flow a packet or a buffer belongs to.
enum class Dir : uint8_t { kToServer = 0, kToClient = 1 };

// Bit set of directions a rule or a buffer applies to.
inline constexpr uint8_t kDirToServer = 1;
inline constexpr uint8_t kDirToClient = 2;
inline constexpr uint8_t kDirBoth = kDirToServer | kDirToClient;
inline constexpr uint8_t DirBit(Dir d) { return d == Dir::kToServer ? kDirToServer : kDirToClient; }

// App-layer protocols a rule header or app-layer-protocol can name. Rules for
// protocols the agent does not parse load and never match (they are counted
// as accepted; see docs/COMPATIBILITY.md).
enum class AppProto : uint8_t {
  kUnknown = 0,
  kHttp1,
  kHttp2,
  kDns,
  kTls,
  kSmtp,
  kFtp,
  kFtpData,
  kSsh,
  kSmb,
  kDcerpc,
  kKrb5,
  kSip,
  kSnmp,
  kNfs,
  kDhcp,
  kTftp,
  kNtp,
  kIkev2,
  kRdp,
  kRfb,
  kMqtt,
  kModbus,
  kDnp3,
  kEnip,
  kImap,
  kPop3,
  kQuic,
  kPgsql,
  kTelnet,
  kBittorrentDht,
  kWebsocket,
  kLdap,
  kDoh2,
  kLlmnr,
  kMdns,
  kIrc,
  kFailed,
  kCount,
};
// "http" names HTTP/1 (and HTTP/2 in Suricata 7+); accepted spellings
// include "http1", "tls"/"ssl", "dns", "smb"...
std::optional<AppProto> AppProtoFromName(std::string_view name);
std::string_view AppProtoName(AppProto p);

// The inspection buffers. kPayload is the packet payload or, for TCP, the
// reassembled stream; the header buffers are the raw protocol headers; the
// rest are app-layer buffers filled from transactions.
enum class BufferId : uint8_t {
  kPayload = 0,
  kIpv4Hdr,
  kIpv6Hdr,
  kTcpHdr,
  kUdpHdr,
  kIcmpv4Hdr,
  kIcmpv6Hdr,
  kIpSrc,  // The packet's source address: 4 (IPv4) or 16 bytes.
  kIpDst,
  // HTTP request side.
  kHttpUri,
  kHttpUriRaw,
  kHttpMethod,
  kHttpRequestLine,
  kHttpHost,
  kHttpHostRaw,
  kHttpUserAgent,
  kHttpReferer,
  kHttpAccept,
  kHttpAcceptEnc,
  kHttpAcceptLang,
  kHttpRequestBody,
  kHttpRequestHeader,  // One instance per header line, "Name: value".
  // HTTP response side.
  kHttpStatCode,
  kHttpStatMsg,
  kHttpResponseLine,
  kHttpLocation,
  kHttpServer,
  kHttpResponseBody,
  kHttpResponseHeader,  // One instance per header line.
  // HTTP, either side (the rule's direction picks the side).
  kHttpProtocol,
  kHttpHeader,
  kHttpHeaderRaw,
  kHttpCookie,
  kHttpHeaderNames,
  kHttpConnection,
  kHttpContentType,
  kHttpContentLen,
  kHttpStart,
  // File data: HTTP bodies (response to the client, request to the server).
  kFileData,
  // DNS.
  kDnsQuery,  // One instance per query name.
  // TLS.
  kTlsSni,
  kTlsCertSubject,
  kTlsCertIssuer,
  kTlsCertSerial,
  kTlsCertFingerprint,
  kTlsCerts,  // One instance per certificate (DER).
  kJa3Hash,
  kJa3String,
  kJa3sHash,
  kJa3sString,
  kTlsRandom,
  kTlsRandomTime,
  kTlsRandomBytes,
  kQuicVersion,  // The version of a QUIC long-header packet, 4 bytes big-endian.
  // SIP, SDP, SSH, Kerberos 5, SNMP: fields of sensor::FieldRecordView,
  // named as the buffer (GetBufferInfo(id).name).
  kSipMethod,
  kSipUri,
  kSipRequestLine,
  kSipProtocol,
  kSipStatCode,
  kSipStatMsg,
  kSipResponseLine,
  kSipFrom,
  kSipTo,
  kSipVia,
  kSipUserAgent,
  kSipContentType,
  kSipContentLength,
  kSdpOrigin,
  kSdpSessionName,
  kSdpSessionInfo,
  kSdpUri,
  kSdpEmail,
  kSdpPhoneNumber,
  kSdpConnectionData,
  kSdpBandwidth,
  kSdpTime,
  kSdpRepeatTime,
  kSdpTimezone,
  kSdpEncryptionKey,
  kSdpAttribute,
  kSdpMediaMedia,
  kSdpMediaInfo,
  kSdpMediaConnectionData,
  kSdpMediaEncryptionKey,
  kSdpMediaBandwidth,
  kSdpMediaAttribute,
  kSshProto,
  kSshSoftware,
  kSshHassh,
  kSshHasshString,
  kSshHasshServer,
  kSshHasshServerString,
  kKrb5MsgType,
  kSnmpCommunity,
  kSmbShare,
  kSmbNamedPipe,
  kLlmnrQueriesRrname,
  kLlmnrAnswersRrname,
  kCount,
};

inline constexpr int kBufferCount = static_cast<int>(BufferId::kCount);

enum class BufferKind : uint8_t {
  kPayload,  // Packet payload / stream.
  kHeader,   // A packet header.
  kTx,       // An app-layer transaction field.
};

struct BufferInfo {
  std::string_view name;   // Suricata's sticky-buffer name ("http.uri").
  BufferKind kind;
  uint8_t dirs;            // kDirToServer / kDirToClient / both.
  AppProto proto;          // kUnknown for packet buffers.
  bool multi;              // Several instances per transaction.
  // HTTP progress needed before the buffer is complete in its direction:
  // 1 line, 2 headers, 3 body; 0 for non-HTTP.
  uint8_t progress;
};

const BufferInfo& GetBufferInfo(BufferId id);

}  // namespace rampart::detect
