#pragma once
// The inspection buffers, declared in one table (buffers.cc): for each
// buffer its Suricata name, the older spellings of its sticky-buffer
// keyword, the legacy content modifier and pcre flag that select it, which
// side of a transaction carries it, how far the transaction must have got
// before it is inspected, and whether it has several instances. The rule
// parser builds its sticky-buffer and modifier keywords from the table; the
// engine reads sides, stages and instances from it. Values only; no state.
//
// A new buffer is one BufferId enumerator and one row of the table (the
// build checks that they agree), plus the code that fills it: the TxView of
// its protocol (rule_inspector.cc) or, for a packet header, the engine's
// header buffers (detector.cc). See README.md.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "agent/detect/types.h"

namespace rampart::detect {

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
  // SIP, SDP, SSH, Kerberos 5, SNMP, SMB, LLMNR: fields of
  // sensor::FieldRecordView, named as the buffer (GetBufferInfo(id).name).
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

// Which part of a transaction side a buffer comes from, and so how far the
// side must have got (TxProgress) before the buffer is inspected and before
// it can no longer change.
enum class BufferStage : uint8_t {
  kWhole,    // A message of its own (DNS, TLS, SIP...): ready and final at TxProgress::kLine.
  kLine,     // The first line (HTTP start line): ready and final at kLine.
  kHeaders,  // What follows it (HTTP header block, SSH key exchange): ready and final at kHeaders.
  kBody,     // HTTP body: inspected from kHeaders on as it grows, final at kComplete.
};
TxProgress ReadyAt(BufferStage s);
TxProgress FinalAt(BufferStage s);

struct BufferInfo {
  BufferId id;
  std::string_view name;  // Suricata's name ("http.uri"): the sticky-buffer keyword, and a field's name.
  std::array<std::string_view, 2> aliases{};  // Older keyword spellings ("http_referer"); empty: none.
  BufferKind kind = BufferKind::kTx;
  uint8_t dirs = kDirBoth;  // kDirToServer / kDirToClient / both: the sides that carry it.
  AppProto proto = AppProto::kUnknown;  // kUnknown for packet buffers.
  BufferStage stage = BufferStage::kWhole;
  bool multi = false;   // Several instances per transaction (one per header line, query, certificate).
  bool sticky = true;   // `name` and the aliases select the buffer as a sticky-buffer keyword.
  std::string_view modifier;  // Legacy content modifier that moves the previous content here ("http_uri").
  char pcre_flag = 0;         // pcre flag letter that inspects this buffer ('U'); 0: none.
};

// The row of `id`; every id below kCount has one.
const BufferInfo& GetBufferInfo(BufferId id);
// Every row, in BufferId order.
std::span<const BufferInfo> AllBuffers();
// The buffer a pcre flag letter names; nullopt for the letters that name none.
std::optional<BufferId> BufferForPcreFlag(char flag);

}  // namespace rampart::detect
