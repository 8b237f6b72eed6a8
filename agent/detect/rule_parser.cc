#include "agent/detect/rule_parser.h"

#include <algorithm>
#include <cctype>

#include "agent/detect/rule_parser_internal.h"
#include "agent/detect/text_util.h"

namespace rampart::detect {

uint32_t NameTable::Id(std::string_view name) {
  auto it = ids_.find(std::string(name));
  if (it != ids_.end()) return it->second;
  const uint32_t id = static_cast<uint32_t>(names_.size());
  names_.emplace_back(name);
  ids_.emplace(std::string(name), id);
  return id;
}

const MatchList* FindList(const Rule& r, BufferId id) {
  for (const auto& l : r.lists) {
    if (l.buffer == id) return &l;
  }
  return nullptr;
}

namespace parser {

bool SplitOptions(std::string_view body, std::vector<RawOption>* out, std::string* error) {
  std::string cur;
  auto flush = [&]() -> bool {
    std::string_view t = Trim(cur);
    if (t.empty()) {
      cur.clear();
      return true;
    }
    RawOption o;
    // The name ends at the first unescaped ':'.
    size_t colon = std::string_view::npos;
    for (size_t i = 0; i < t.size(); ++i) {
      if (t[i] == '\\') {
        ++i;
        continue;
      }
      if (t[i] == ':') {
        colon = i;
        break;
      }
    }
    if (colon == std::string_view::npos) {
      o.name = std::string(Trim(t));
    } else {
      o.name = std::string(Trim(t.substr(0, colon)));
      o.value = std::string(Trim(t.substr(colon + 1)));
      o.has_value = true;
    }
    if (o.has_value && !o.value.empty() && o.value.front() == '"') {
      // As Suricata: a value that opens a quote closes it (an unescaped ';'
      // inside quotes ends the option early, so this is usually that).
      size_t backslashes = 0;
      for (size_t i = o.value.size() - 1; i > 0 && o.value[i - 1] == '\\'; --i) ++backslashes;
      if (o.value.size() < 2 || o.value.back() != '"' || backslashes % 2 == 1) {
        *error = "'" + o.name + "': quoted value " + o.value +
                 " is not closed (possible missing semicolon, or a ';' inside quotes not escaped as '\\;')";
        return false;
      }
    }
    if (o.name.empty()) {
      *error = "empty keyword name in '" + std::string(t) + "'";
      return false;
    }
    for (char c : o.name) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) {
        *error = "bad keyword name '" + o.name + "'";
        return false;
      }
    }
    out->push_back(std::move(o));
    cur.clear();
    return true;
  };
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '\\' && i + 1 < body.size()) {
      cur.push_back(c);
      cur.push_back(body[++i]);
      continue;
    }
    if (c == ';') {
      // Suricata requires ';' inside a quoted value to be escaped; an
      // unescaped one ends the option there, as it does in Suricata.
      if (!flush()) return false;
      continue;
    }
    cur.push_back(c);
  }
  if (!Trim(cur).empty()) {
    *error = "the last option '" + std::string(Trim(cur)) + "' is not terminated by ';'";
    return false;
  }
  return true;
}

ParseResult Parser::Run(std::string_view text) {
  ParseResult res;
  rule_ = std::make_unique<Rule>();
  if (auto err = ParseAll(text)) {
    res.outcome = err->unsupported ? ParseResult::Outcome::kSkipped : ParseResult::Outcome::kFailed;
    res.message = err->message;
    res.keyword = skipped_keyword_;
    return res;
  }
  res.outcome = ParseResult::Outcome::kOk;
  res.rule = std::move(rule_);
  return res;
}

KwStatus Parser::ParseAll(std::string_view text) {
  text = Trim(text);
  size_t open = text.find('(');
  if (open == std::string_view::npos) return Fail("no option block '(...)'");
  if (text.back() != ')') return Fail("the option block does not end with ')'");
  std::string_view header = text.substr(0, open);
  std::string_view body = text.substr(open + 1, text.size() - open - 2);
  if (auto e = ParseHeader(header)) return e;
  std::vector<RawOption> opts;
  std::string err;
  if (!SplitOptions(body, &opts, &err)) return Fail(err);
  for (const RawOption& o : opts) {
    if (auto e = Option(o)) {
      if (e->unsupported && skipped_keyword_.empty()) skipped_keyword_ = ToLower(o.name);
      if (!e->unsupported) e->message = o.name + ": " + e->message;
      return e;
    }
  }
  return Finish();
}

KwStatus Parser::Finish() {
  Rule& r = *rule_;
  if (!have_sid_) return Fail("rule has no sid");
  // Drop empty lists (a sticky buffer with no keywords after it).
  std::erase_if(r.lists, [](const MatchList& l) { return l.matches.empty() && l.base64_matches.empty(); });
  // App-layer protocol from buffers.
  bool has_tx = false;
  uint8_t dirs = kDirBoth;
  uint8_t sides_seen = 0;  // '=>': which sides the rule's buffers read.
  for (const MatchList& l : r.lists) {
    const BufferInfo& bi = GetBufferInfo(l.buffer);
    if (bi.kind != BufferKind::kTx) continue;
    has_tx = true;
    sides_seen |= l.side != SidePin::kNone ? DirBits(l.side) : bi.dirs;
    if (l.buffer == BufferId::kFileData) {
      // file_data serves several protocols; only HTTP bodies are inspected here.
      if (r.proto.app == AppProto::kUnknown && !r.proto.ip_protos.test(6)) {
        return Fail("file_data needs a TCP protocol");
      }
    } else if (r.proto.app == AppProto::kUnknown) {
      if (!r.proto.ip_protos.test(6) && bi.proto != AppProto::kDns) {
        return Fail(std::string(bi.name) + " needs a protocol that runs over TCP");
      }
      r.proto.app = bi.proto;
    } else if (r.proto.app != bi.proto && !(r.proto.app == AppProto::kHttp2 && bi.proto == AppProto::kHttp1)) {
      return Fail(std::string(bi.name) + " cannot be used in a rule for " + std::string(AppProtoName(r.proto.app)));
    }
    dirs &= l.side != SidePin::kNone ? DirBits(l.side) : bi.dirs;
    if (dirs == 0) {
      // Request and response buffers together: Suricata inspects the
      // rule on the response, when the request is complete.
      dirs = kDirToClient;
    }
  }
  for (const Check& c : r.checks) {
    if (c.kind == Check::Kind::kFileSize && c.file_side != SidePin::kNone) sides_seen |= DirBits(c.file_side);
  }
  if (r.txbothdir) {
    // Suricata's transactional rules: both sides of one transaction,
    // inspected once its response is in.
    if (r.proto.app == AppProto::kUnknown) return Fail("'=>' needs an app-layer protocol with transactions");
    if (sides_seen != kDirBoth) return Fail("'=>' needs keywords for both directions of the transaction");
    if (r.flow.to_server || r.flow.to_client) return Fail("'=>' cannot be combined with flow:to_server/to_client");
    dirs = kDirToClient;
  }
  if (r.flow.to_server) {
    if (has_tx && !(dirs & kDirToServer)) {
      return Fail("flow:to_server conflicts with a response buffer");
    }
    dirs = kDirToServer;
  } else if (r.flow.to_client) {
    if (has_tx && !(dirs & kDirToClient)) {
      return Fail("flow:to_client conflicts with a request buffer");
    }
    dirs = kDirToClient;
  }
  r.dirs = dirs;
  for (MatchList& l : r.lists) {
    SetRetryFlags(l.matches);
    SetRetryFlags(l.base64_matches);
    for (auto* ms : {&l.matches, &l.base64_matches}) {
      for (SigMatch& m : *ms) {
        if (auto* c = std::get_if<ContentMatch>(&m); c != nullptr && c->nocase) c->folded = ToLower(c->pattern);
      }
    }
  }
  // Packet vs stream payload inspection.
  const MatchList* payload = FindList(r, BufferId::kPayload);
  if (r.proto.tcp_pkt) r.require_packet = true;
  if (r.proto.tcp_stream) r.stream_only = true;
  if (payload != nullptr && r.proto.ip_protos.test(6) && !r.proto.tcp_pkt && !r.flow.no_stream) {
    r.require_stream = true;
  }
  if (r.stream_only) r.require_stream = true;
  // Header buffers need the matching protocol.
  for (const MatchList& l : r.lists) {
    switch (l.buffer) {
      case BufferId::kTcpHdr:
        if (!r.proto.ip_protos.test(6)) return Fail("tcp.hdr needs a TCP rule");
        break;
      case BufferId::kUdpHdr:
        if (!r.proto.ip_protos.test(17)) return Fail("udp.hdr needs a UDP rule");
        break;
      default:
        break;
    }
  }
  return std::nullopt;
}

// Suricata retries a content (or pcre) at its next occurrence when a
// relative keyword after it fails and that keyword's window depends on
// where the content matched: a within, a relative pcre or byte_* or
// isdataat. A following content with only a distance does not need it.
void Parser::SetRetryFlags(std::vector<SigMatch>& ms) {
  for (SigMatch& m : ms) {
    if (auto* c = std::get_if<ContentMatch>(&m)) c->retry_next = false;
    if (auto* p = std::get_if<PcreMatch>(&m)) p->retry_next = false;
  }
  for (size_t j = 0; j < ms.size(); ++j) {
    bool relative = false, within = false;
    if (const auto* c = std::get_if<ContentMatch>(&ms[j])) {
      relative = c->relative();
      within = c->has_within;
    } else if (const auto* p = std::get_if<PcreMatch>(&ms[j])) {
      relative = within = p->relative;
    } else if (const auto* bt = std::get_if<ByteTestMatch>(&ms[j])) {
      relative = within = bt->relative;
    } else if (const auto* bj = std::get_if<ByteJumpMatch>(&ms[j])) {
      relative = within = bj->relative;
    } else if (const auto* be = std::get_if<ByteExtractMatch>(&ms[j])) {
      relative = within = be->relative;
    } else if (const auto* bm = std::get_if<ByteMathMatch>(&ms[j])) {
      relative = within = bm->relative;
    } else if (const auto* id = std::get_if<IsDataAtMatch>(&ms[j])) {
      relative = within = id->relative;
    } else if (const auto* bd = std::get_if<Base64DecodeMatch>(&ms[j])) {
      relative = within = bd->relative;
    }
    if (!relative) continue;
    for (size_t i = j; i-- > 0;) {
      if (auto* c = std::get_if<ContentMatch>(&ms[i])) {
        if (within) c->retry_next = true;
        break;
      }
      if (auto* p = std::get_if<PcreMatch>(&ms[i])) {
        p->retry_next = true;
        break;
      }
    }
  }
}

}  // namespace parser

ParseResult ParseRule(std::string_view text, const ParseEnv& env) {
  parser::Parser p(env);
  return p.Run(text);
}

}  // namespace rampart::detect
