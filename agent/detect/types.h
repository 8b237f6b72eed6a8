#pragma once
// Small vocabulary types of the detection engine: rule actions, directions,
// how far a transaction got, and the app-layer protocol names Suricata
// rules use. Values only; no state. The inspection buffers are in
// buffers.h.

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

// The side of a transaction a keyword is pinned to ("http.connection:
// to_client;" in a '=>' rule, "filesize:to_server,<100"), or kNone: the
// direction the rule is inspected in. The values are the kDirTo* bits.
enum class SidePin : uint8_t { kNone = 0, kToServer = kDirToServer, kToClient = kDirToClient };
inline constexpr uint8_t DirBits(SidePin s) { return static_cast<uint8_t>(s); }
// The direction a pinned side reads, or `inspected` when it is not pinned.
inline constexpr Dir PinnedDir(SidePin s, Dir inspected) {
  return s == SidePin::kNone ? inspected : s == SidePin::kToServer ? Dir::kToServer : Dir::kToClient;
}

// How far one side of a transaction got (TxView::progress), HTTP-style.
// Protocols without these stages report kNone or kComplete; the order of
// the values is the order of the stages.
enum class TxProgress : uint8_t {
  kNone = 0,      // Nothing yet.
  kLine = 1,      // The first line is complete.
  kHeaders = 2,   // The header block is complete (a body may follow).
  kComplete = 4,  // The side is complete.
};

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

}  // namespace rampart::detect
