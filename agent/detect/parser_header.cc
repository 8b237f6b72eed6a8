// The rule header: action, protocol, source, ports, direction, destination.

#include <cctype>

#include "agent/detect/rule_parser_internal.h"
#include "agent/detect/text_util.h"

namespace rampart::detect::parser {
namespace {

// Splits the header on whitespace, keeping [ ... ] groups together.
std::vector<std::string_view> SplitHeader(std::string_view h) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < h.size()) {
    while (i < h.size() && std::isspace(static_cast<unsigned char>(h[i]))) ++i;
    if (i >= h.size()) break;
    size_t start = i;
    int depth = 0;
    while (i < h.size()) {
      if (h[i] == '[') ++depth;
      if (h[i] == ']') --depth;
      if (depth <= 0 && std::isspace(static_cast<unsigned char>(h[i]))) break;
      ++i;
    }
    out.push_back(h.substr(start, i - start));
  }
  return out;
}

}  // namespace

KwStatus Parser::ParseHeader(std::string_view header) {
  auto toks = SplitHeader(header);
  if (toks.size() != 7) {
    return Fail("the header needs 7 fields (action proto src sport dir dst dport), found " +
                std::to_string(toks.size()));
  }
  std::string action = ToLower(toks[0]);
  Rule& r = *rule_;
  if (action == "alert") {
    r.action = Action::kAlert;
  } else if (action == "pass") {
    r.action = Action::kPass;
  } else if (action == "drop") {
    r.action = Action::kDrop;
  } else if (action == "reject" || action == "rejectsrc" || action == "rejectdst" || action == "rejectboth") {
    r.action = Action::kReject;
  } else if (action == "config") {
    r.action = Action::kConfig;
  } else {
    return Fail("unknown action '" + std::string(toks[0]) + "'");
  }
  if (auto e = ParseProto(ToLower(toks[1]))) return e;
  const VarLookup lookup = env_.vars->Lookup();
  auto src = IpSet::Parse(toks[2], lookup);
  if (!src) return Fail(src.error().message());
  auto sport = PortSet::Parse(toks[3], lookup);
  if (!sport) return Fail(sport.error().message());
  auto dst = IpSet::Parse(toks[5], lookup);
  if (!dst) return Fail(dst.error().message());
  auto dport = PortSet::Parse(toks[6], lookup);
  if (!dport) return Fail(dport.error().message());
  r.src = std::move(*src);
  r.sport = std::move(*sport);
  r.dst = std::move(*dst);
  r.dport = std::move(*dport);
  r.addr_negated = ExpandsToNegation(toks[2], 0) || ExpandsToNegation(toks[5], 0);
  if (toks[4] == "->") {
    r.bidirectional = false;
  } else if (toks[4] == "<>") {
    r.bidirectional = true;
  } else if (toks[4] == "=>") {
    r.bidirectional = false;
    r.txbothdir = true;
  } else {
    return Fail("bad direction '" + std::string(toks[4]) + "' (use ->, <> or =>)");
  }
  if ((!r.sport.IsAny() || !r.dport.IsAny())) {
    // Ports need a protocol that has them.
    const bool ported = r.proto.any_ip || r.proto.ip_protos.test(6) || r.proto.ip_protos.test(17) ||
                        r.proto.ip_protos.test(132);
    if (!ported) return Fail("ports are given but the protocol has no ports");
  }
  return std::nullopt;
}

// Whether an address spec uses negation, after expanding variables.
bool Parser::ExpandsToNegation(std::string_view spec, int depth) const {
  if (depth > 16) return false;
  for (size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] == '!') return true;
    if (spec[i] == '$') {
      size_t j = i + 1;
      while (j < spec.size() && (std::isalnum(static_cast<unsigned char>(spec[j])) || spec[j] == '_')) ++j;
      auto v = env_.vars->Get(spec.substr(i + 1, j - i - 1));
      if (v && ExpandsToNegation(*v, depth + 1)) return true;
      i = j - 1;
    }
  }
  return false;
}

KwStatus Parser::ParseProto(const std::string& p) {
  ProtoSpec& ps = rule_->proto;
  auto set_all = [&] {
    ps.ip_protos.set();
    ps.any_ip = true;
  };
  if (p == "ip" || p == "any") {
    set_all();
  } else if (p == "ipv4" || p == "ip4") {
    set_all();
    ps.ipv4_only = true;
  } else if (p == "ipv6" || p == "ip6") {
    set_all();
    ps.ipv6_only = true;
  } else if (p == "tcp") {
    ps.ip_protos.set(6);
  } else if (p == "tcp-pkt") {
    ps.ip_protos.set(6);
    ps.tcp_pkt = true;
  } else if (p == "tcp-stream") {
    ps.ip_protos.set(6);
    ps.tcp_stream = true;
  } else if (p == "udp") {
    ps.ip_protos.set(17);
  } else if (p == "icmp") {
    ps.ip_protos.set(1);
    ps.ip_protos.set(58);
  } else if (p == "icmpv4") {
    ps.ip_protos.set(1);
  } else if (p == "icmpv6") {
    ps.ip_protos.set(58);
  } else if (p == "sctp") {
    ps.ip_protos.set(132);
  } else if (p == "igmp") {
    ps.ip_protos.set(2);
  } else if (p == "gre") {
    ps.ip_protos.set(47);
  } else if (p == "esp") {
    ps.ip_protos.set(50);
  } else if (p == "pkthdr") {
    set_all();
    ps.pkthdr = true;
  } else if (p == "arp") {
    ps.arp = true;
  } else if (p.find(':') != std::string::npos) {
    skipped_keyword_ = "protocol:" + p;
    return Unsupported("protocol hook '" + p + "' is not supported");
  } else if (auto app = AppProtoFromName(p); app && *app != AppProto::kFailed) {
    ps.app = *app;
    // App-layer protocols run over TCP, UDP or both.
    switch (*app) {
      case AppProto::kDns:
      case AppProto::kSip:
      case AppProto::kLlmnr:
        ps.ip_protos.set(6);
        ps.ip_protos.set(17);
        break;
      case AppProto::kSnmp:
      case AppProto::kTftp:
      case AppProto::kNtp:
      case AppProto::kIkev2:
      case AppProto::kDhcp:
      case AppProto::kQuic:
      case AppProto::kBittorrentDht:
      case AppProto::kMdns:
        ps.ip_protos.set(17);
        break;
      case AppProto::kKrb5:
      case AppProto::kNfs:
      case AppProto::kDcerpc:
        ps.ip_protos.set(6);
        ps.ip_protos.set(17);
        break;
      default:
        ps.ip_protos.set(6);
        break;
    }
  } else {
    skipped_keyword_ = "protocol:" + p;
    return Unsupported("protocol '" + p + "' is not supported");
  }
  return std::nullopt;
}

}  // namespace rampart::detect::parser
