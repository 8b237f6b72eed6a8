// Packet and flow keywords (flow, dsize, ttl and the other header values,
// flags, fragbits, ipopts, stream_size, flow.*), app-layer-protocol, the
// event keywords and filesize: each becomes one Check.

#include <cctype>

#include "agent/detect/rule_parser_internal.h"
#include "agent/detect/text_util.h"

namespace rampart::detect::parser {
namespace {

int TcpFlagBit(char ch) {
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

// The modifier characters of flags and fragbits.
std::optional<Check::BitsMode> BitsModeOf(char ch) {
  switch (ch) {
    case '+': return Check::BitsMode::kAllOf;
    case '*': return Check::BitsMode::kAnyOf;
    case '!': return Check::BitsMode::kNot;
    default: return std::nullopt;
  }
}

}  // namespace

KwStatus Parser::Flow(const std::string& value) {
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

KwStatus Parser::NumCheck(Check::Kind kind, const std::string& value, uint64_t max) {
  auto c = ParseUintCheck(value, max);
  if (!c) return Fail(c.error().message());
  rule_->checks.push_back(Check{kind, *c});
  return std::nullopt;
}

KwStatus Parser::Dsize(const std::string& value) {
  auto c = ParseUintCheck(value, 65535);
  if (!c) return Fail(c.error().message());
  rule_->checks.push_back(Check{Check::Kind::kDsize, *c});
  rule_->require_packet = true;
  return std::nullopt;
}

KwStatus Parser::IpProto(const std::string& value) {
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

KwStatus Parser::Flags(const std::string& value) {
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
    if (auto mode = BitsModeOf(ch)) {
      c.mode = *mode;
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

KwStatus Parser::Fragbits(const std::string& value) {
  Check c{Check::Kind::kFragbits};
  for (char ch : Trim(value)) {
    switch (std::toupper(static_cast<unsigned char>(ch))) {
      case 'M': c.bits |= 0x1; break;
      case 'D': c.bits |= 0x2; break;
      case 'R': c.bits |= 0x4; break;
      case '+': case '*': case '!': c.mode = *BitsModeOf(ch); break;
      case ' ': break;
      default: return Fail(std::string("unknown fragbit '") + ch + "'");
    }
  }
  rule_->checks.push_back(c);
  return std::nullopt;
}

KwStatus Parser::Ipopts(const std::string& value) {
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

KwStatus Parser::StreamSize(const std::string& value) {
  auto parts = Split(value, ',');
  if (parts.size() != 3) return Fail("expected side, operator, size");
  Check c{Check::Kind::kStreamSize};
  std::string side = ToLower(parts[0]);
  if (side == "server") {
    c.stream_side = Check::StreamSide::kServer;
  } else if (side == "client") {
    c.stream_side = Check::StreamSide::kClient;
  } else if (side == "both") {
    c.stream_side = Check::StreamSide::kBoth;
  } else if (side == "either") {
    c.stream_side = Check::StreamSide::kEither;
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

KwStatus Parser::FlowCounter(bool packets, const std::string& value, std::optional<Check::CounterDir> fixed) {
  Check c{packets ? Check::Kind::kFlowPkts : Check::Kind::kFlowBytes};
  std::string_view v = Trim(value);
  if (fixed) {
    c.counter_dir = *fixed;
  } else {
    size_t comma = v.find(',');
    if (comma == std::string_view::npos) return Fail("expected direction,value");
    std::string d = ToLower(Trim(v.substr(0, comma)));
    if (d == "toserver") {
      c.counter_dir = Check::CounterDir::kToServer;
    } else if (d == "toclient") {
      c.counter_dir = Check::CounterDir::kToClient;
    } else if (d == "either") {
      c.counter_dir = Check::CounterDir::kEither;
    } else if (d == "both") {
      c.counter_dir = Check::CounterDir::kBoth;
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

KwStatus Parser::AppLayerProtocol(const std::string& value) {
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
      c.proto_side = Check::ProtoSide::kEither;  // Either direction's detection result.
    } else if (parts[i] == "to_server") {
      c.proto_side = Check::ProtoSide::kToServer;
    } else if (parts[i] == "to_client") {
      c.proto_side = Check::ProtoSide::kToClient;
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

// decode-event, app-layer-event, stream-event: "[!]NAME".
KwStatus Parser::Event(Check::Kind kind, const std::string& value) {
  Check c{kind};
  std::string ev = ToLower(Trim(value));
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
  rule_->checks.push_back(std::move(c));
  return std::nullopt;
}

// filesize:[to_client|to_server,] <uint>: the size of the file (message
// body) of the transaction.
KwStatus Parser::FileSize(const std::string& value) {
  std::string_view v = Trim(value);
  Check c{Check::Kind::kFileSize};
  const size_t comma = v.find(',');
  if (comma != std::string_view::npos) {
    const std::string side = ToLower(Trim(v.substr(0, comma)));
    if (side == "to_client") {
      c.file_side = SidePin::kToClient;
    } else if (side == "to_server") {
      c.file_side = SidePin::kToServer;
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

}  // namespace rampart::detect::parser
