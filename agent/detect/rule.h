#pragma once
// A parsed Suricata rule, ready for the engine: its header (action,
// protocol, addresses, ports, direction), its identity and metadata, and
// its options grouped the way Suricata groups them:
//
//   checks   packet and flow keywords (ttl, flags, flow, flowbits:isset ...)
//   lists    one match list per inspection buffer (payload, http.uri, ...),
//            each an ordered chain of content/pcre/byte_* keywords that the
//            inspector walks with relative offsets, plus the buffer's
//            transforms
//   post     what happens after a match (flowbits:set, flowint:+ ...)
//
// Rules are immutable once the engine is built and are shared by workers.

#include <array>
#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "agent/detect/address.h"
#include "agent/detect/buffers.h"
#include "agent/detect/dataset.h"
#include "agent/detect/regex.h"
#include "agent/detect/types.h"
#include "agent/detect/uint_check.h"

namespace rampart::detect {

// Index of a byte_extract / byte_math variable within its rule; -1 = none.
using VarIndex = int8_t;
inline constexpr int kMaxRuleVars = 16;

struct ContentMatch {
  std::string pattern;  // Decoded bytes (hex |..| resolved).
  std::string folded;   // The pattern in lower case, when nocase.
  bool nocase = false;
  bool negated = false;
  bool startswith = false;
  bool endswith = false;
  bool fast_pattern = false;       // Chosen explicitly with fast_pattern.
  bool fast_pattern_only = false;  // fast_pattern:only (accepted; inspected anyway).
  int fp_chop_offset = -1;         // fast_pattern:offset,length
  int fp_chop_length = 0;
  bool has_offset = false, has_depth = false, has_distance = false, has_within = false;
  uint32_t offset = 0;
  uint32_t depth = 0;  // Absolute end of the search window (offset + depth), as Suricata keeps it.
  int32_t distance = 0;
  int32_t within = 0;
  VarIndex offset_var = -1, depth_var = -1, distance_var = -1, within_var = -1;
  // Set by the parser for the next keyword's needs: when a relative keyword
  // after this content fails, retry at the next occurrence of this content.
  bool retry_next = false;
  bool relative() const { return has_distance || has_within; }
};

struct PcreMatch {
  std::shared_ptr<const Regex> re;
  bool negated = false;
  bool relative = false;     // R
  bool retry_next = false;   // A relative keyword follows.
};

enum class NumBase : uint8_t { kDec, kHex, kOct };

struct ByteTestMatch {
  uint8_t nbytes = 0;
  enum class Op : uint8_t { kLt, kGt, kEq, kAnd, kXor, kGe, kLe } op = Op::kEq;
  bool negate = false;
  uint64_t value = 0;
  int32_t offset = 0;
  VarIndex value_var = -1, offset_var = -1, nbytes_var = -1;
  bool relative = false, little = false, string = false, dce = false;
  NumBase base = NumBase::kDec;
  uint32_t bitmask = 0;  // 0 = none.
};

struct ByteJumpMatch {
  uint8_t nbytes = 0;
  int32_t offset = 0;
  VarIndex offset_var = -1, nbytes_var = -1;
  bool relative = false, little = false, string = false, align = false, from_beginning = false,
       from_end = false, dce = false;
  NumBase base = NumBase::kDec;
  uint32_t multiplier = 1;
  int32_t post_offset = 0;
  uint32_t bitmask = 0;
};

struct ByteExtractMatch {
  uint8_t nbytes = 0;
  int32_t offset = 0;
  VarIndex var = -1;
  bool relative = false, little = false, string = false, align = false, dce = false;
  uint8_t align_value = 0;  // 2 or 4
  NumBase base = NumBase::kDec;
  uint32_t multiplier = 1;
  uint32_t bitmask = 0;
};

struct ByteMathMatch {
  uint8_t nbytes = 0;
  VarIndex nbytes_var = -1;
  int32_t offset = 0;
  enum class Op : uint8_t { kAdd, kSub, kMul, kDiv, kShl, kShr } op = Op::kAdd;
  uint64_t rvalue = 0;
  VarIndex rvalue_var = -1;
  VarIndex var = -1;  // result
  bool relative = false, little = false, string = false, dce = false;
  NumBase base = NumBase::kDec;
  uint32_t bitmask = 0;
};

struct IsDataAtMatch {
  uint32_t offset = 0;
  VarIndex offset_var = -1;
  bool relative = false;
  bool negated = false;
};

// bsize and urilen: the length of the buffer.
struct LengthMatch {
  UintCheck check;
};

struct Base64DecodeMatch {
  uint32_t bytes = 0;   // 0 = to the end
  uint32_t offset = 0;
  bool relative = false;
};

// absent: the buffer must not exist (or, with or_else, may not exist).
struct AbsentMatch {
  bool or_else = false;
};

// dataset / datarep: the whole buffer tested against (or added to) a set.
struct DatasetMatch {
  enum class Cmd : uint8_t { kIsSet, kIsNotSet, kSet, kUnset, kRep };
  Cmd cmd = Cmd::kIsSet;
  std::shared_ptr<Dataset> set;  // Shared by the rules naming it; locks itself.
  bool subdomain = false;        // "match subdomain": the value or one of its parent domains.
  // datarep: the value's reputation compared with `rep_value`.
  enum class RepOp : uint8_t { kGt, kLt, kGe, kLe, kEq } rep_op = RepOp::kGt;
  uint32_t rep_value = 0;
};

using SigMatch = std::variant<ContentMatch, PcreMatch, ByteTestMatch, ByteJumpMatch, ByteExtractMatch, ByteMathMatch,
                              IsDataAtMatch, LengthMatch, Base64DecodeMatch, AbsentMatch, DatasetMatch>;

enum class TransformKind : uint8_t {
  kDotPrefix,
  kStripWhitespace,
  kCompressWhitespace,
  kToLower,
  kToUpper,
  kToMd5,
  kToSha1,
  kToSha256,
  kUrlDecode,
  kXor,
  kFromBase64,
  kPcreXform,
  kHeaderLowercase,
  kStripPseudoHeaders,
  kGunzip,
  kZlibDeflate,
  kSubslice,
};

struct Transform {
  TransformKind kind;
  std::string key;  // xor key bytes
  // xor with a key taken from the buffer ("xor: offset 4, extract 4 0"):
  // `key_len` bytes at `key_offset`, applied to the buffer from `data_offset`.
  uint32_t key_len = 0;
  uint32_t key_offset = 0;
  uint32_t data_offset = 0;
  std::shared_ptr<const Regex> re;  // pcrexform
  // from_base64
  uint32_t b64_bytes = 0;
  uint32_t b64_offset = 0;
  enum class B64Mode : uint8_t { kRfc4648, kRfc2045, kStrict } b64_mode = B64Mode::kRfc4648;
  // gunzip / zlib_deflate: most bytes produced.
  uint32_t max_size = 1024;
  // subslice: start (negative: from the end) and length (0: to the end;
  // negative: stop that many bytes before the end).
  int32_t slice_offset = 0;
  int32_t slice_length = 0;
  bool slice_truncate = false;  // Clamp to the buffer instead of yielding an empty buffer.
};

struct MatchList {
  BufferId buffer = BufferId::kPayload;
  // A two-sided buffer pinned to one side ("http.connection: to_client;"
  // in a '=>' rule); kNone follows the direction the rule is inspected in.
  SidePin side = SidePin::kNone;
  std::vector<Transform> transforms;
  std::vector<SigMatch> matches;
  // base64_data: keywords evaluated on the output of base64_decode.
  std::vector<SigMatch> base64_matches;
};

// What xbits and hostbits are kept by: the flow, or addresses of the packet.
enum class XbitTrack : uint8_t { kFlow, kIpSrc, kIpDst, kIpPair };

// Where a rule stands in Suricata's order for flowbits and flowints: rules
// that set a name are inspected before rules that read it.
enum class StateOrder : uint8_t { kUnused = 1, kReads = 2, kSets = 3 };

// Packet and flow keywords: each is one check on the packet or its flow.
struct Check {
  enum class Kind : uint8_t {
    kTtl,
    kTos,
    kIpId,
    kDsize,
    kWindow,
    kSeq,
    kAck,
    kItype,
    kIcode,
    kIcmpId,
    kIcmpSeq,
    kIpProto,
    kFragOffset,
    kTcpMss,
    kIcmpv6Mtu,
    kStreamSize,
    kFlowAge,
    kFlowPkts,
    kFlowBytes,
    kTcpFlags,
    kFragbits,
    kIpopts,
    kSameIp,
    kFlowbits,
    kFlowint,
    kXbits,
    kAppLayerProtocol,
    kDecodeEvent,
    kAppLayerEvent,
    kStreamEvent,
    kTlsVersion,
    kSslVersion,
    kSslState,
    kTlsCertExpired,
    kTlsCertValid,
    kTlsSubject,       // tls.subject:"..." (substring of the certificate subject)
    kTlsIssuer,        // tls.issuerdn:"..."
    kTlsFingerprint,   // tls.fingerprint:"aa:bb:..."
    kTlsNotBefore,     // tls_cert_notbefore:<2025 (num: Unix seconds)
    kTlsNotAfter,
    kFileSize,         // filesize:[to_client|to_server,]<100
  };
  Kind kind;
  UintCheck num;
  // stream_size: whose stream size is compared.
  enum class StreamSide : uint8_t { kServer, kClient, kBoth, kEither } stream_side = StreamSide::kServer;
  // flow.pkts / flow.bytes: which direction's counter is compared.
  enum class CounterDir : uint8_t { kToServer, kToClient, kEither, kBoth } counter_dir = CounterDir::kToServer;
  // app-layer-protocol: the flow's protocol, or what one or either
  // direction's data was detected as.
  enum class ProtoSide : uint8_t { kFlow, kEither, kToServer, kToClient } proto_side = ProtoSide::kFlow;
  // filesize: the side whose file is measured.
  SidePin file_side = SidePin::kNone;
  // flags / fragbits / ipopts: bits that must be set; `mask` bits ignored;
  // how the bits compare with the packet's.
  uint16_t bits = 0;
  uint16_t mask = 0xffff;
  enum class BitsMode : uint8_t {
    kExact,  // Exactly these bits (after the mask).
    kAllOf,  // '+': all of these, others allowed.
    kAnyOf,  // '*': any of these.
    kNot,    // '!': not all of these.
  } mode = BitsMode::kExact;
  // flowbits (isset/isnotset), xbits, flowint name ids; app-layer-protocol,
  // events.
  enum class BitOp : uint8_t { kIsSet, kIsNotSet, kIsSetAny, kIsSetAll, kIsNotSetAll, kIsNotSetAny } bit_op =
      BitOp::kIsSet;
  std::vector<uint32_t> ids;
  std::string name;
  bool negated = false;
  AppProto proto = AppProto::kUnknown;
  bool exact = false;
  // flowint comparisons.
  enum class IntOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe, kIsSet, kIsNotSet } int_op = IntOp::kEq;
  uint32_t int_value = 0;
  int32_t int_var = -1;  // compare against another flowint
  // xbits: what the bit is kept by.
  XbitTrack track = XbitTrack::kFlow;
  // ssl_version / tls.version bits.
  uint32_t versions = 0;
};

// What a matching rule does to flow state before its alert is queued.
struct PostAction {
  enum class Kind : uint8_t { kFlowbitSet, kFlowbitUnset, kFlowbitToggle, kFlowintSet, kFlowintAdd, kFlowintSub,
                              kXbitSet, kXbitUnset, kXbitToggle };
  Kind kind;
  std::vector<uint32_t> ids;
  uint32_t value = 0;
  int32_t value_var = -1;  // flowint from another flowint
  XbitTrack track = XbitTrack::kFlow;  // xbits
  uint32_t expire = 0;     // xbits expire seconds (0 = never)
};

struct ThresholdSpec {
  enum class Type : uint8_t { kNone, kLimit, kThreshold, kBoth, kDetectionFilter };
  enum class Track : uint8_t { kBySrc, kByDst, kByRule, kByBoth, kByFlow };
  Type type = Type::kNone;
  Track track = Track::kBySrc;
  uint32_t count = 0;
  uint32_t seconds = 0;
  // detection_filter unique_on: count distinct source or destination ports.
  enum class UniqueOn : uint8_t { kNone, kSrcPort, kDstPort } unique_on = UniqueOn::kNone;
};

struct FlowOptions {
  bool established = false;
  bool not_established = false;
  bool stateless = false;
  bool to_server = false;  // also "from_client"
  bool to_client = false;  // also "from_server"
  bool only_stream = false;
  bool no_stream = false;
  bool only_frag = false;
  bool no_frag = false;
};

struct ProtoSpec {
  std::bitset<256> ip_protos;  // Which IP protocols; all set for "ip".
  bool any_ip = false;         // "ip": any protocol, IPv4 or IPv6.
  bool ipv4_only = false;
  bool ipv6_only = false;
  bool pkthdr = false;         // Any packet, even one that is not IP (decoder events).
  bool arp = false;
  bool tcp_pkt = false;        // tcp-pkt: packet payload only
  bool tcp_stream = false;     // tcp-stream: stream only
  AppProto app = AppProto::kUnknown;
};

// How the engine runs a rule.
enum class RuleType : uint8_t {
  kIpOnly,  // Addresses only: checked on the first packet of each flow direction.
  kPacket,  // Packet keywords and payload/stream matches.
  kTx,      // App-layer buffers: checked per transaction, once per transaction.
};

struct Reference {
  std::string type;
  std::string value;
};

struct Rule {
  // Identity.
  Action action = Action::kAlert;
  uint32_t gid = 1;
  uint32_t sid = 0;
  uint32_t rev = 0;
  std::string msg;
  std::string classtype;
  std::string category;  // classtype's description
  int priority = 3;
  bool priority_set = false;
  std::vector<Reference> references;
  std::vector<std::string> metadata;
  std::string target;  // "src_ip" / "dest_ip" / ""
  std::string file;
  int line = 0;

  // Header.
  ProtoSpec proto;
  IpSet src = IpSet::Any();
  IpSet dst = IpSet::Any();
  PortSet sport = PortSet::Any();
  PortSet dport = PortSet::Any();
  bool bidirectional = false;
  // '=>': one transaction's request and response together; inspected on
  // the response, the header read in the request's direction.
  bool txbothdir = false;
  bool addr_negated = false;  // Either address uses '!': Suricata inspects such rules per packet.

  FlowOptions flow;
  std::vector<Check> checks;
  std::vector<MatchList> lists;
  std::vector<PostAction> post;
  ThresholdSpec threshold;
  bool noalert = false;
  bool require_packet = false;  // dsize, flow:no_stream, tcp-pkt
  bool require_stream = false;  // TCP payload rule: inspect the reassembled stream
  bool stream_only = false;     // flow:only_stream, tcp-stream
  int num_vars = 0;             // byte_extract / byte_math variables

  // Computed when the engine is built.
  RuleType type = RuleType::kPacket;
  // Only app-layer-protocol checks (and flow:to_server/to_client): matched
  // on the packets that complete protocol detection, as Suricata's PD-only
  // signatures are.
  bool pd_only = false;
  uint8_t dirs = kDirBoth;  // Directions the rule applies to.
  uint32_t num = 0;         // Inspection order (Suricata's signature order).
  int fp_list = -1;         // Fast pattern: index into lists, and into its matches.
  int fp_match = -1;
  // Place in Suricata's order for flowbits and flowints.
  StateOrder flowbits_order = StateOrder::kUnused;
  StateOrder flowint_order = StateOrder::kUnused;
};

// The position of a payload-list keyword in its list, for parse-time checks.
const MatchList* FindList(const Rule& r, BufferId id);

}  // namespace rampart::detect
