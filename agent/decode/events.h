#pragma once
// Decoder anomalies, named as Suricata names them (EVE anomaly.event and the
// decode-event rule keyword without the "decoder." prefix).

#include <cstdint>
#include <string_view>

namespace rampart::decode {

#define RAMPART_DECODE_EVENTS(X)                                         \
  X(kEthernetPktTooSmall, "decoder.ethernet.pkt_too_small")              \
  X(kVlanHeaderTooSmall, "decoder.vlan.header_too_small")                \
  X(kVlanTooManyLayers, "decoder.vlan.too_many_layers")                  \
  X(kSllPktTooSmall, "decoder.sll.pkt_too_small")                        \
  X(kLtnullPktTooSmall, "decoder.ltnull.pkt_too_small")                  \
  X(kLtnullUnsupportedType, "decoder.ltnull.unsupported_type")           \
  X(kIprawInvalidIpVersion, "decoder.ipraw.invalid_ip_version")          \
  X(kPppoePktTooSmall, "decoder.pppoe.pkt_too_small")                    \
  X(kMplsPktTooSmall, "decoder.mpls.pkt_too_small")                      \
  X(kMplsUnknownPayloadType, "decoder.mpls.unknown_payload_type")        \
  X(kIpv4PktTooSmall, "decoder.ipv4.pkt_too_small")                      \
  X(kIpv4HlenTooSmall, "decoder.ipv4.hlen_too_small")                    \
  X(kIpv4IplenSmallerThanHlen, "decoder.ipv4.iplen_smaller_than_hlen")   \
  X(kIpv4TruncPkt, "decoder.ipv4.trunc_pkt")                             \
  X(kIpv4WrongIpVersion, "decoder.ipv4.wrong_ip_version")                \
  X(kIpv4OptInvalid, "decoder.ipv4.opt_invalid")                         \
  X(kIpv4OptInvalidLen, "decoder.ipv4.opt_invalid_len")                  \
  X(kIpv4OptMalformed, "decoder.ipv4.opt_malformed")                     \
  X(kIpv4OptPadRequired, "decoder.ipv4.opt_pad_required")                \
  X(kIpv4OptEolRequired, "decoder.ipv4.opt_eol_required")                \
  X(kIpv4OptDuplicate, "decoder.ipv4.opt_duplicate")                     \
  X(kIpv4OptUnknown, "decoder.ipv4.opt_unknown")                         \
  X(kIpv4Icmpv6, "decoder.ipv4.icmpv6")                                  \
  X(kIpv4FragPktTooLarge, "decoder.ipv4.frag_pkt_too_large")             \
  X(kIpv4FragOverlap, "decoder.ipv4.frag_overlap")                       \
  X(kIpv4FragIgnored, "decoder.ipv4.frag_ignored")                       \
  X(kIpv6PktTooSmall, "decoder.ipv6.pkt_too_small")                      \
  X(kIpv6TruncPkt, "decoder.ipv6.trunc_pkt")                             \
  X(kIpv6TruncExthdr, "decoder.ipv6.trunc_exthdr")                       \
  X(kIpv6WrongIpVersion, "decoder.ipv6.wrong_ip_version")                \
  X(kIpv6ExthdrDuplFh, "decoder.ipv6.exthdr_dupl_fh")                    \
  X(kIpv6ExthdrDuplRh, "decoder.ipv6.exthdr_dupl_rh")                    \
  X(kIpv6ExthdrDuplHh, "decoder.ipv6.exthdr_dupl_hh")                    \
  X(kIpv6ExthdrDuplDh, "decoder.ipv6.exthdr_dupl_dh")                    \
  X(kIpv6ExthdrDuplAh, "decoder.ipv6.exthdr_dupl_ah")                    \
  X(kIpv6ExthdrDuplEh, "decoder.ipv6.exthdr_dupl_eh")                    \
  X(kIpv6ExthdrInvalidOptlen, "decoder.ipv6.exthdr_invalid_optlen")      \
  X(kIpv6ExthdrUselessFh, "decoder.ipv6.exthdr_useless_fh")              \
  X(kIpv6FhNonZeroReservedField, "decoder.ipv6.fh_non_zero_reserved_field") \
  X(kIpv6FragInvalidLength, "decoder.ipv6.frag_invalid_length")          \
  X(kIpv6FragOverlap, "decoder.ipv6.frag_overlap")                       \
  X(kIpv6FragPktTooLarge, "decoder.ipv6.frag_pkt_too_large")             \
  X(kIpv6FragIgnored, "decoder.ipv6.frag_ignored")                       \
  X(kIpv6RhType0, "decoder.ipv6.rh_type_0")                              \
  X(kIpv6ZeroLenPadn, "decoder.ipv6.zero_len_padn")                      \
  X(kIpv6HopoptsOnlyPadding, "decoder.ipv6.hopopts_only_padding")        \
  X(kIpv6DstoptsOnlyPadding, "decoder.ipv6.dstopts_only_padding")        \
  X(kIpv6HopoptsUnknownOpt, "decoder.ipv6.hopopts_unknown_opt")          \
  X(kIpv6DstoptsUnknownOpt, "decoder.ipv6.dstopts_unknown_opt")          \
  X(kIpv6DataAfterNoneHeader, "decoder.ipv6.data_after_none_header")     \
  X(kIpv6UnknownNextHeader, "decoder.ipv6.unknown_next_header")          \
  X(kIpv6Icmpv4, "decoder.ipv6.icmpv4")                                  \
  X(kTcpPktTooSmall, "decoder.tcp.pkt_too_small")                        \
  X(kTcpHlenTooSmall, "decoder.tcp.hlen_too_small")                      \
  X(kTcpInvalidOptlen, "decoder.tcp.invalid_optlen")                     \
  X(kTcpOptInvalidLen, "decoder.tcp.opt_invalid_len")                    \
  X(kTcpOptDuplicate, "decoder.tcp.opt_duplicate")                       \
  X(kUdpPktTooSmall, "decoder.udp.pkt_too_small")                        \
  X(kUdpHlenTooSmall, "decoder.udp.hlen_too_small")                      \
  X(kUdpLenInvalid, "decoder.udp.len_invalid")                           \
  X(kIcmpv4PktTooSmall, "decoder.icmpv4.pkt_too_small")                  \
  X(kIcmpv4UnknownType, "decoder.icmpv4.unknown_type")                   \
  X(kIcmpv4UnknownCode, "decoder.icmpv4.unknown_code")                   \
  X(kIcmpv4Ipv4TruncPkt, "decoder.icmpv4.ipv4_trunc_pkt")                \
  X(kIcmpv4Ipv4UnknownVer, "decoder.icmpv4.ipv4_unknown_ver")            \
  X(kIcmpv6PktTooSmall, "decoder.icmpv6.pkt_too_small")                  \
  X(kIcmpv6UnknownType, "decoder.icmpv6.unknown_type")                   \
  X(kIcmpv6UnknownCode, "decoder.icmpv6.unknown_code")                   \
  X(kIcmpv6Ipv6TruncPkt, "decoder.icmpv6.ipv6_trunc_pkt")                \
  X(kIcmpv6Ipv6UnknownVersion, "decoder.icmpv6.ipv6_unknown_version")    \
  X(kIcmpv6UnassignedType, "decoder.icmpv6.unassigned_type")             \
  X(kIcmpv6ExperimentationType, "decoder.icmpv6.experimentation_type")   \
  X(kIcmpv6MldMessageWithInvalidHl, "decoder.icmpv6.mld_message_with_invalid_hl")

enum class Event : uint8_t {
#define RAMPART_DECODE_EVENT_ENUM(id, name) id,
  RAMPART_DECODE_EVENTS(RAMPART_DECODE_EVENT_ENUM)
#undef RAMPART_DECODE_EVENT_ENUM
  kCount
};

inline constexpr int kEventCount = static_cast<int>(Event::kCount);

// "decoder.ipv4.trunc_pkt".
std::string_view EventName(Event e);

}  // namespace rampart::decode
