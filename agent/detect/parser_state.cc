// State keywords: flowbits, flowint, xbits / hostbits (checks that read
// the state, post-match actions that change it), threshold and
// detection_filter, dataset / datarep.

#include <algorithm>
#include <fstream>

#include "agent/detect/rule_parser_internal.h"
#include "agent/detect/text_util.h"

namespace rampart::detect::parser {

std::vector<uint32_t> Parser::Names(std::string_view list, NameTable* table, char sep) {
  std::vector<uint32_t> ids;
  for (auto n : Split(list, sep)) {
    if (!n.empty()) ids.push_back(table->Id(n));
  }
  return ids;
}

KwStatus Parser::Flowbits(const std::string& value) {
  auto parts = Split(value, ',');
  std::string cmd = ToLower(parts[0]);
  if (cmd == "noalert") {
    if (parts.size() != 1) return Fail("noalert takes no name");
    rule_->noalert = true;
    return std::nullopt;
  }
  if (parts.size() != 2 || parts[1].empty()) return Fail("expected command,name");
  std::string_view names = parts[1];
  const bool has_or = names.find('|') != std::string_view::npos;
  const bool has_and = names.find('&') != std::string_view::npos;
  if (has_or && has_and) return Fail("cannot mix '|' and '&'");
  if (cmd == "isset" || cmd == "isnotset") {
    Check c{Check::Kind::kFlowbits};
    c.ids = Names(names, env_.flowbits, has_or ? '|' : '&');
    if (cmd == "isset") {
      c.bit_op = has_or ? Check::BitOp::kIsSetAny : Check::BitOp::kIsSetAll;
    } else {
      c.bit_op = has_or ? Check::BitOp::kIsNotSetAny : Check::BitOp::kIsNotSetAll;
    }
    rule_->checks.push_back(std::move(c));
    rule_->flowbits_order = std::max(rule_->flowbits_order, StateOrder::kReads);
    return std::nullopt;
  }
  PostAction a;
  if (cmd == "set") {
    a.kind = PostAction::Kind::kFlowbitSet;
  } else if (cmd == "unset") {
    a.kind = PostAction::Kind::kFlowbitUnset;
  } else if (cmd == "toggle") {
    a.kind = PostAction::Kind::kFlowbitToggle;
  } else {
    return Fail("unknown command '" + cmd + "'");
  }
  if (has_or) return Fail("'|' is only valid with isset/isnotset");
  a.ids = Names(names, env_.flowbits, '&');
  rule_->post.push_back(std::move(a));
  rule_->flowbits_order = StateOrder::kSets;
  return std::nullopt;
}

KwStatus Parser::Flowint(const std::string& value) {
  auto parts = Split(value, ',');
  if (parts.size() < 2) return Fail("expected name, operator[, value]");
  const uint32_t id = env_.flowints->Id(parts[0]);
  std::string op = std::string(parts[1]);
  if (op == "isset" || op == "notset" || op == "isnotset") {
    if (parts.size() != 2) return Fail(op + " takes no value");
    Check c{Check::Kind::kFlowint};
    c.ids = {id};
    c.int_op = op == "isset" ? Check::IntOp::kIsSet : Check::IntOp::kIsNotSet;
    rule_->checks.push_back(std::move(c));
    rule_->flowint_order = std::max(rule_->flowint_order, StateOrder::kReads);
    return std::nullopt;
  }
  if (parts.size() != 3) return Fail("expected name, operator, value");
  uint32_t num = 0;
  int32_t var = -1;
  if (auto n = ParseUint(parts[2])) {
    if (*n > UINT32_MAX) return Fail("value out of range");
    num = static_cast<uint32_t>(*n);
  } else if (IsIdentifier(parts[2])) {
    var = static_cast<int32_t>(env_.flowints->Id(parts[2]));
  } else {
    return Fail("'" + std::string(parts[2]) + "' is not a value");
  }
  if (op == "=" || op == "+" || op == "-") {
    PostAction a;
    a.kind = op == "=" ? PostAction::Kind::kFlowintSet
             : op == "+" ? PostAction::Kind::kFlowintAdd
                         : PostAction::Kind::kFlowintSub;
    a.ids = {id};
    a.value = num;
    a.value_var = var;
    rule_->post.push_back(std::move(a));
    rule_->flowint_order = StateOrder::kSets;
    return std::nullopt;
  }
  Check c{Check::Kind::kFlowint};
  c.ids = {id};
  c.int_value = num;
  c.int_var = var;
  if (op == "==") {
    c.int_op = Check::IntOp::kEq;
  } else if (op == "!=") {
    c.int_op = Check::IntOp::kNe;
  } else if (op == "<") {
    c.int_op = Check::IntOp::kLt;
  } else if (op == "<=") {
    c.int_op = Check::IntOp::kLe;
  } else if (op == ">") {
    c.int_op = Check::IntOp::kGt;
  } else if (op == ">=") {
    c.int_op = Check::IntOp::kGe;
  } else {
    return Fail("unknown operator '" + op + "'");
  }
  rule_->checks.push_back(std::move(c));
  rule_->flowint_order = std::max(rule_->flowint_order, StateOrder::kReads);
  return std::nullopt;
}

KwStatus Parser::Xbits(const std::string& value, bool hostbits) {
  auto parts = Split(value, ',');
  std::string cmd = ToLower(parts[0]);
  if (cmd == "noalert") {
    rule_->noalert = true;
    return std::nullopt;
  }
  if (parts.size() < 2) return Fail("expected command,name[,track ...]");
  XbitTrack track = hostbits ? XbitTrack::kIpSrc : XbitTrack::kFlow;
  uint32_t expire = 0;
  bool have_track = false;
  for (size_t i = 2; i < parts.size(); ++i) {
    std::string_view p = parts[i];
    if (p.starts_with("track")) {
      std::string t = ToLower(Trim(p.substr(5)));
      if (t == "ip_src" || t == "by_src") {
        track = XbitTrack::kIpSrc;
      } else if (t == "ip_dst" || t == "by_dst") {
        track = XbitTrack::kIpDst;
      } else if (t == "ip_pair") {
        track = XbitTrack::kIpPair;
      } else if (t == "tx") {
        return Unsupported("xbits track tx is not supported");
      } else {
        return Fail("track must be ip_src, ip_dst or ip_pair");
      }
      have_track = true;
    } else if (p.starts_with("expire")) {
      auto n = ParseUint(Trim(p.substr(6)));
      if (!n || *n == 0 || *n > UINT32_MAX) return Fail("bad expire");
      expire = static_cast<uint32_t>(*n);
    } else if (hostbits && (p == "src" || p == "dst" || p == "both")) {
      track = p == "dst" ? XbitTrack::kIpDst : XbitTrack::kIpSrc;
      have_track = true;
    } else {
      return Fail("unknown option '" + std::string(p) + "'");
    }
  }
  if (!hostbits && !have_track) return Fail("xbits needs 'track ip_src|ip_dst|ip_pair'");
  const std::string prefix = hostbits ? "host:" : "xbits:";
  if (cmd == "isset" || cmd == "isnotset") {
    Check c{Check::Kind::kXbits};
    c.ids = {env_.xbits->Id(prefix + std::string(parts[1]))};
    c.bit_op = cmd == "isset" ? Check::BitOp::kIsSet : Check::BitOp::kIsNotSet;
    c.track = track;
    rule_->checks.push_back(std::move(c));
    return std::nullopt;
  }
  PostAction a;
  if (cmd == "set") {
    a.kind = PostAction::Kind::kXbitSet;
  } else if (cmd == "unset") {
    a.kind = PostAction::Kind::kXbitUnset;
  } else if (cmd == "toggle") {
    a.kind = PostAction::Kind::kXbitToggle;
  } else {
    return Fail("unknown command '" + cmd + "'");
  }
  a.ids = {env_.xbits->Id(prefix + std::string(parts[1]))};
  a.track = track;
  a.expire = expire;
  rule_->post.push_back(std::move(a));
  return std::nullopt;
}

KwStatus Parser::Threshold(const std::string& value, bool detection_filter) {
  ThresholdSpec& t = rule_->threshold;
  if (t.type != ThresholdSpec::Type::kNone) return Fail("only one threshold or detection_filter per rule");
  t.type = detection_filter ? ThresholdSpec::Type::kDetectionFilter : ThresholdSpec::Type::kNone;
  bool have_track = false, have_count = false, have_seconds = false;
  for (auto p : Split(value, ',')) {
    if (p.empty()) continue;
    size_t sp = p.find(' ');
    if (sp == std::string_view::npos) return Fail("expected 'key value' pairs, got '" + std::string(p) + "'");
    std::string key = ToLower(Trim(p.substr(0, sp)));
    std::string arg = ToLower(Trim(p.substr(sp + 1)));
    if (key == "type" && !detection_filter) {
      if (arg == "limit") {
        t.type = ThresholdSpec::Type::kLimit;
      } else if (arg == "threshold") {
        t.type = ThresholdSpec::Type::kThreshold;
      } else if (arg == "both") {
        t.type = ThresholdSpec::Type::kBoth;
      } else if (arg == "backoff") {
        return Unsupported("threshold type backoff is not supported");
      } else {
        return Fail("type must be limit, threshold or both");
      }
    } else if (key == "track") {
      if (arg == "by_src") {
        t.track = ThresholdSpec::Track::kBySrc;
      } else if (arg == "by_dst") {
        t.track = ThresholdSpec::Track::kByDst;
      } else if (arg == "by_rule") {
        t.track = ThresholdSpec::Track::kByRule;
      } else if (arg == "by_both") {
        t.track = ThresholdSpec::Track::kByBoth;
      } else if (arg == "by_flow") {
        t.track = ThresholdSpec::Track::kByFlow;
      } else {
        return Fail("track must be by_src, by_dst, by_rule, by_both or by_flow");
      }
      have_track = true;
    } else if (key == "count") {
      auto n = ParseUint(arg);
      if (!n || *n > UINT32_MAX) return Fail("bad count");
      t.count = static_cast<uint32_t>(*n);
      have_count = true;
    } else if (key == "seconds") {
      auto n = ParseUint(arg);
      if (!n || *n > UINT32_MAX) return Fail("bad seconds");
      t.seconds = static_cast<uint32_t>(*n);
      have_seconds = true;
    } else if (key == "unique_on" && detection_filter) {
      if (arg == "src_port") {
        t.unique_on = ThresholdSpec::UniqueOn::kSrcPort;
      } else if (arg == "dst_port") {
        t.unique_on = ThresholdSpec::UniqueOn::kDstPort;
      } else {
        return Fail("unique_on must be src_port or dst_port");
      }
    } else {
      return Fail("unknown option '" + key + "'");
    }
  }
  if (t.type == ThresholdSpec::Type::kNone) return Fail("needs a type");
  if (!have_track || !have_count || !have_seconds) return Fail("needs track, count and seconds");
  if (t.count == 0 && t.type != ThresholdSpec::Type::kDetectionFilter) return Fail("count must be at least 1");
  return std::nullopt;
}

// dataset:CMD,NAME[,type T][,load F][,save F][,state F][,memcap M][,hashsize H][,match subdomain]...
// datarep:NAME,OP,VALUE[,type T][,load F][,memcap M][,hashsize H]
KwStatus Parser::DatasetKeyword(const std::string& v, bool rep) {
  std::vector<std::string> parts;
  for (std::string_view t : Split(v, ',')) parts.emplace_back(Trim(t));
  DatasetMatch m;
  DatasetRegistry::Spec spec;
  spec.rep = rep;
  size_t next = 0;
  if (!rep) {
    if (parts.size() < 2) return Fail("needs a command and a name");
    const std::string& cmd = parts[0];
    if (cmd == "set") {
      m.cmd = DatasetMatch::Cmd::kSet;
    } else if (cmd == "isset") {
      m.cmd = DatasetMatch::Cmd::kIsSet;
    } else if (cmd == "isnotset") {
      m.cmd = DatasetMatch::Cmd::kIsNotSet;
    } else if (cmd == "unset") {
      m.cmd = DatasetMatch::Cmd::kUnset;
    } else {
      return Fail("unknown command '" + cmd + "' (set, isset, isnotset, unset)");
    }
    spec.name = parts[1];
    next = 2;
  } else {
    if (parts.size() < 3) return Fail("needs a name, an operator and a value");
    m.cmd = DatasetMatch::Cmd::kRep;
    spec.name = parts[0];
    const std::string& op = parts[1];
    if (op == ">") {
      m.rep_op = DatasetMatch::RepOp::kGt;
    } else if (op == "<") {
      m.rep_op = DatasetMatch::RepOp::kLt;
    } else if (op == ">=") {
      m.rep_op = DatasetMatch::RepOp::kGe;
    } else if (op == "<=") {
      m.rep_op = DatasetMatch::RepOp::kLe;
    } else if (op == "==") {
      m.rep_op = DatasetMatch::RepOp::kEq;
    } else {
      return Fail("unknown operator '" + op + "' (>, <, >=, <=, ==)");
    }
    auto value = ParseUint(parts[2]);
    if (!value || *value > UINT32_MAX) return Fail("'" + parts[2] + "' is not a reputation value");
    m.rep_value = static_cast<uint32_t>(*value);
    next = 3;
  }
  if (spec.name.empty() || spec.name.size() > 64) return Fail("a set name of 1 to 64 characters is needed");
  bool have_type = false;
  std::string format;
  auto path = [&](const std::string& f) -> std::string {
    if (f.empty() || f[0] == '/' || env_.rule_dir.empty()) return f;
    return env_.rule_dir + "/" + f;
  };
  for (size_t i = next; i < parts.size(); ++i) {
    const std::string& opt = parts[i];
    const size_t sp = opt.find_first_of(" \t");
    const std::string key = opt.substr(0, sp);
    const std::string val = sp == std::string::npos ? std::string() : std::string(Trim(opt.substr(sp + 1)));
    if (key == "type") {
      auto t = ParseDatasetType(val);
      if (!t) return Fail("unknown type '" + val + "' (string, md5, sha256, ipv4, ip)");
      spec.type = *t;
      have_type = true;
    } else if (key == "load" || key == "save" || key == "state") {
      if (val.empty()) return Fail(key + " needs a file name");
      if (rep && key != "load") return Fail(key + " is not a datarep option");
      (key == "load" ? spec.load : key == "save" ? spec.save : spec.state) = path(val);
    } else if (key == "memcap" || key == "hashsize") {
      if (val.empty()) return Fail(key + " needs a value");  // Sizes: the sets grow as needed.
    } else if (key == "match") {
      if (val != "subdomain") return Fail("unknown match mode '" + val + "'");
      m.subdomain = true;
    } else if (key == "format" || key == "value_key" || key == "context_key" || key == "array_key" ||
               key == "enrichment_key" || key == "remove_key") {
      if (key == "format") format = val;
    } else {
      return Fail("unknown option '" + key + "'");
    }
  }
  if (!have_type) return Fail("needs 'type string|md5|sha256|ipv4|ip'");
  if (m.cmd == DatasetMatch::Cmd::kRep && (!spec.save.empty() || !spec.state.empty())) {
    return Fail("datarep sets cannot be saved");
  }
  if (env_.datasets == nullptr) return Unsupported("datasets are not available here");
  if (!spec.load.empty()) {
    std::ifstream probe(spec.load);
    if (!probe && env_.datasets->files_allowed()) {
      return Unsupported((rep ? "datarep '" : "dataset '") + spec.name + "': load file " + spec.load +
                         " not found");
    }
  }
  if (!format.empty() && format != "csv") {
    return Unsupported("dataset '" + spec.name + "': format " + format + " is not supported");
  }
  auto set = env_.datasets->Get(spec);
  if (!set) {
    if (set.error().code() == StatusCode::kNotFound) return Unsupported(set.error().message());
    return Fail(set.error().message());
  }
  m.set = *set;
  const int li = CurrentList();
  if (li < 0) return Fail("needs a sticky buffer");
  rule_->lists[static_cast<size_t>(li)].matches.push_back(std::move(m));
  return std::nullopt;
}

}  // namespace rampart::detect::parser
