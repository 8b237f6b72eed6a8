// Payload keywords: content and its modifiers, sticky buffers, transforms,
// pcre, base64_decode / base64_data, bsize, urilen, absent; and the lists
// they go into. The byte_* keywords and isdataat are in parser_byte.cc.

#include <algorithm>
#include <cctype>

#include "agent/detect/rule_parser_internal.h"
#include "agent/detect/text_util.h"

namespace rampart::detect::parser {

std::optional<std::string> DecodeContent(std::string_view s, std::string* error) {
  std::string out;
  bool hex = false;
  int nib = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (hex) {
      if (c == '|') {
        if (nib != -1) {
          *error = "odd number of hex digits in content";
          return std::nullopt;
        }
        hex = false;
        continue;
      }
      if (c == ' ' || c == '\t') continue;
      int v;
      if (c >= '0' && c <= '9') {
        v = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        v = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        v = c - 'A' + 10;
      } else {
        *error = std::string("invalid hex character '") + c + "' in content";
        return std::nullopt;
      }
      if (nib == -1) {
        nib = v;
      } else {
        out.push_back(static_cast<char>((nib << 4) | v));
        nib = -1;
      }
      continue;
    }
    if (c == '|') {
      hex = true;
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= s.size()) {
        *error = "content ends in a lone backslash";
        return std::nullopt;
      }
      out.push_back(s[++i]);
      continue;
    }
    if (c == '"') {
      *error = "unescaped '\"' inside content";
      return std::nullopt;
    }
    out.push_back(c);
  }
  if (hex) {
    *error = "content has an unterminated |hex| section";
    return std::nullopt;
  }
  return out;
}

// ------------------------------------------------------------------ lists

// The list that content and payload keywords go into now.
int Parser::CurrentList() {
  if (current_list_ >= 0) return current_list_;
  return ListFor(BufferId::kPayload, false);
}

// Where a payload keyword goes: the sticky buffer; else, for a relative
// keyword, the list of the keyword it is relative to (a content moved by
// http_uri takes its relative pcre along); else the payload.
int Parser::TargetList(bool relative) {
  if (current_list_ >= 0) return current_list_;
  if (relative && last_sm_list_ >= 0 && last_sm_list_ < static_cast<int>(rule_->lists.size())) {
    return last_sm_list_;
  }
  return ListFor(BufferId::kPayload, false);
}

// Index of the list for `b`; a new instance if `fresh` (multi buffers).
int Parser::ListFor(BufferId b, bool fresh, SidePin side) {
  auto& lists = rule_->lists;
  if (!fresh) {
    for (size_t i = 0; i < lists.size(); ++i) {
      if (lists[i].buffer == b && lists[i].side == side) return static_cast<int>(i);
    }
  }
  lists.push_back(MatchList{b, side, {}, {}, {}});
  return static_cast<int>(lists.size() - 1);
}

std::vector<SigMatch>& Parser::Matches(int li) {
  MatchList& l = rule_->lists[static_cast<size_t>(li)];
  return in_base64_data_ && li == base64_decode_list_ ? l.base64_matches : l.matches;
}

ContentMatch* Parser::LastContent() {
  if (last_content_list_ < 0) return nullptr;
  auto& ms = last_content_b64_ ? rule_->lists[static_cast<size_t>(last_content_list_)].base64_matches
                               : rule_->lists[static_cast<size_t>(last_content_list_)].matches;
  if (last_content_idx_ >= ms.size()) return nullptr;
  return std::get_if<ContentMatch>(&ms[last_content_idx_]);
}

// Resolves a byte_extract / byte_math variable name, or a number.
std::optional<VarIndex> Parser::VarByName(std::string_view name) const {
  for (size_t i = 0; i < var_names_.size(); ++i) {
    if (var_names_[i] == name) return static_cast<VarIndex>(i);
  }
  return std::nullopt;
}

bool Parser::IsIdentifier(std::string_view s) {
  return !s.empty() && (std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_');
}

std::optional<VarIndex> Parser::NewVar(std::string_view name) {
  if (auto vi = VarByName(name)) return vi;
  if (var_names_.size() >= kMaxRuleVars) return std::nullopt;
  var_names_.emplace_back(name);
  rule_->num_vars = static_cast<int>(var_names_.size());
  return static_cast<VarIndex>(var_names_.size() - 1);
}

// ---------------------------------------------------------------- content

KwStatus Parser::Content(const std::string& value, int li) {
  std::string_view s = Trim(value);
  ContentMatch c;
  if (!s.empty() && s[0] == '!') {
    c.negated = true;
    s = Trim(s.substr(1));
  }
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') {
    s = s.substr(1, s.size() - 2);
  } else if (!s.empty() && (s.front() == '"' || s.back() == '"')) {
    return Fail("unbalanced quotes in '" + value + "'");
  }
  std::string err;
  auto bytes = DecodeContent(s, &err);
  if (!bytes) return Fail(err);
  if (bytes->empty()) return Fail("content is empty");
  if (bytes->size() > 65535) return Fail("content is longer than 65535 bytes");
  c.pattern = std::move(*bytes);
  auto& ms = Matches(li);
  ms.push_back(std::move(c));
  last_sm_list_ = li;
  last_content_list_ = li;
  last_content_idx_ = ms.size() - 1;
  last_content_b64_ = in_base64_data_ && li == base64_decode_list_;
  return std::nullopt;
}

KwStatus Parser::Nocase() {
  ContentMatch* c = LastContent();
  if (c == nullptr) return Fail("no preceding content");
  if (c->nocase) return Fail("nocase given twice for one content");
  c->nocase = true;
  return std::nullopt;
}

KwStatus Parser::StartsOrEndsWith(bool starts) {
  ContentMatch* c = LastContent();
  if (c == nullptr) return Fail("no preceding content");
  if (starts) {
    if (c->has_depth || c->has_offset || c->relative()) return Fail("cannot be mixed with depth, offset, distance or within");
    c->startswith = true;
    c->depth = static_cast<uint32_t>(c->pattern.size());
    c->has_depth = true;
  } else {
    c->endswith = true;
  }
  return std::nullopt;
}

KwStatus Parser::Positional(const std::string& name, const std::string& value) {
  ContentMatch* c = LastContent();
  if (c == nullptr) return Fail("no preceding content");
  std::string_view v = Trim(value);
  if (v.empty()) return Fail("needs a value");
  std::optional<int64_t> n;
  VarIndex var = -1;
  if (IsIdentifier(v)) {
    auto vi = VarByName(v);
    if (!vi) return Fail("unknown variable '" + std::string(v) + "'");
    var = *vi;
  } else {
    n = ParseInt(v);
    if (!n) return Fail("'" + std::string(v) + "' is not a number");
  }
  const int64_t len = static_cast<int64_t>(c->pattern.size());
  if (name == "depth" || name == "offset") {
    if (c->relative()) return Fail("cannot be mixed with distance or within on one content");
    if (c->startswith) return Fail("cannot be mixed with startswith");
    if (n && *n < 0) return Fail("must not be negative");
    if (n && *n > 65535) return Fail("is larger than 65535");
  } else {
    if (c->has_depth || c->has_offset) return Fail("cannot be mixed with depth or offset on one content");
    if (n && (*n < -65535 || *n > 65535)) return Fail("is out of range");
  }
  if (name == "depth") {
    if (c->has_depth) return Fail("depth given twice");
    if (n && *n < len) return Fail("depth " + std::to_string(*n) + " is smaller than the content length");
    c->has_depth = true;
    c->depth_var = var;
    c->depth = static_cast<uint32_t>(n.value_or(0)) + (var < 0 ? c->offset : 0);
  } else if (name == "offset") {
    if (c->has_offset) return Fail("offset given twice");
    c->has_offset = true;
    c->offset_var = var;
    c->offset = static_cast<uint32_t>(n.value_or(0));
    if (c->has_depth && var < 0 && c->depth_var < 0) c->depth += c->offset;
  } else if (name == "distance") {
    if (c->has_distance) return Fail("distance given twice");
    c->has_distance = true;
    c->distance_var = var;
    c->distance = static_cast<int32_t>(n.value_or(0));
  } else {
    if (c->has_within) return Fail("within given twice");
    if (n && *n < len) return Fail("within " + std::to_string(*n) + " is smaller than the content length");
    if (n && *n == 0) return Fail("within must be at least the content length");
    c->has_within = true;
    c->within_var = var;
    c->within = static_cast<int32_t>(n.value_or(0));
  }
  return std::nullopt;
}

KwStatus Parser::FastPattern(const std::string& value) {
  ContentMatch* c = LastContent();
  if (c == nullptr) return Fail("no preceding content");
  std::string_view v = Trim(value);
  if (v.empty()) {
    c->fast_pattern = true;
    return std::nullopt;
  }
  if (v == "only") {
    c->fast_pattern = true;
    c->fast_pattern_only = true;
    return std::nullopt;
  }
  auto parts = Split(v, ',');
  if (parts.size() != 2) return Fail("expected 'only' or 'offset,length'");
  auto off = ParseUint(parts[0]);
  auto len = ParseUint(parts[1]);
  if (!off || !len || *len == 0 || *off + *len > c->pattern.size()) {
    return Fail("offset,length must lie within the content");
  }
  c->fast_pattern = true;
  c->fp_chop_offset = static_cast<int>(*off);
  c->fp_chop_length = static_cast<int>(*len);
  return std::nullopt;
}

// "http.uri;" and the other sticky buffers: later payload keywords go to
// the buffer's list.
KwStatus Parser::StickyBuffer(BufferId b, const RawOption& o) {
  const BufferInfo& bi = GetBufferInfo(b);
  SidePin side = SidePin::kNone;
  if (o.has_value && !Trim(o.value).empty()) {
    // "http.connection: to_client;": which side of a '=>' rule's
    // transaction a two-sided buffer is read from.
    const std::string sv = ToLower(Trim(o.value));
    if (sv != "to_client" && sv != "to_server") return Fail("takes no value (or to_client / to_server in a '=>' rule)");
    if (!rule_->txbothdir) return Fail("a direction ('" + sv + "') needs a '=>' rule");
    if (bi.dirs != kDirBoth) return Fail("has one side only; it takes no direction");
    side = sv == "to_client" ? SidePin::kToClient : SidePin::kToServer;
  }
  current_list_ = ListFor(b, bi.multi, side);
  return std::nullopt;
}

// http_uri and friends: move the previous content into the buffer's list.
KwStatus Parser::Modifier(BufferId b, const std::string& name) {
  if (last_content_list_ < 0) return Fail("no preceding content");
  const int from_idx = last_content_list_;
  {
    MatchList& from = rule_->lists[static_cast<size_t>(from_idx)];
    if (from.buffer != BufferId::kPayload || last_content_b64_ || current_list_ >= 0) {
      return Fail("'" + name + "' can only modify a payload content (a sticky buffer is active)");
    }
    if (last_content_idx_ + 1 != from.matches.size()) {
      return Fail("'" + name + "' must directly follow its content's modifiers");
    }
  }
  SigMatch m = std::move(rule_->lists[static_cast<size_t>(from_idx)].matches.back());
  rule_->lists[static_cast<size_t>(from_idx)].matches.pop_back();
  // ListFor may grow the list vector: no references across it.
  const int li = ListFor(b, false);
  auto& to = rule_->lists[static_cast<size_t>(li)].matches;
  to.push_back(std::move(m));
  last_sm_list_ = li;
  last_content_list_ = li;
  last_content_idx_ = to.size() - 1;
  // Remove an empty payload list left behind.
  const MatchList& from = rule_->lists[static_cast<size_t>(from_idx)];
  if (from.matches.empty() && from.transforms.empty() && from.base64_matches.empty()) {
    rule_->lists.erase(rule_->lists.begin() + from_idx);
    if (current_list_ > from_idx) --current_list_;
    if (last_content_list_ > from_idx) --last_content_list_;
    if (last_sm_list_ > from_idx) --last_sm_list_;
    if (base64_decode_list_ > from_idx) --base64_decode_list_;
  }
  return std::nullopt;
}

// --------------------------------------------------------------- transforms

KwStatus Parser::TransformKw(TransformKind kind, const std::string& value, bool has_value) {
  if (current_list_ < 0) return Fail("transforms must follow a sticky buffer");
  // Keywords before a transform inspect the buffer as it was; those after
  // it inspect the transformed buffer, a new instance of the buffer that
  // keeps the transforms given so far ("http.uri; content:a; xor:..;
  // content:b" checks a in the URI and b in the xored URI).
  if (!rule_->lists[static_cast<size_t>(current_list_)].matches.empty()) {
    const std::vector<Transform> so_far = rule_->lists[static_cast<size_t>(current_list_)].transforms;
    current_list_ = ListFor(rule_->lists[static_cast<size_t>(current_list_)].buffer, true);
    rule_->lists[static_cast<size_t>(current_list_)].transforms = so_far;
  }
  MatchList& l = rule_->lists[static_cast<size_t>(current_list_)];
  Transform t{kind};
  std::string_view v = Trim(value);
  if (kind == TransformKind::kXor && !v.empty() && v[0] != '"') {
    // Suricata 9: "[offset N,] extract LEN KEY_OFFSET".
    for (auto part : Split(v, ',')) {
      auto words = Split(part, ' ');
      std::erase_if(words, [](std::string_view w) { return w.empty(); });
      if (words.size() == 2 && words[0] == "offset") {
        auto n = ParseUint(words[1]);
        if (!n || *n > 65535) return Fail("bad xor offset");
        t.data_offset = static_cast<uint32_t>(*n);
      } else if (words.size() == 3 && words[0] == "extract") {
        auto len = ParseUint(words[1]);
        auto off = ParseUint(words[2]);
        if (!len || *len == 0 || *len > 255 || !off || *off > 65535) return Fail("bad xor extract");
        t.key_len = static_cast<uint32_t>(*len);
        t.key_offset = static_cast<uint32_t>(*off);
      } else {
        return Fail("expected a \"hex key\" or [offset N,] extract LEN OFFSET");
      }
    }
    if (t.key_len == 0) return Fail("needs a key: \"hex\" or extract LEN OFFSET");
  } else if (kind == TransformKind::kXor) {
    std::string_view key = Unquote(v);
    if (key.empty() || key.size() % 2 != 0) return Fail("xor key must be an even number of hex digits");
    std::string err;
    std::string hex = "|" + std::string(key) + "|";
    auto bytes = DecodeContent(hex, &err);
    if (!bytes) return Fail("xor key: " + err);
    t.key = *bytes;
  } else if (kind == TransformKind::kPcreXform) {
    std::string_view p = Unquote(v);
    if (p.size() >= 2 && p.front() == '/' && p.back() == '/') p = p.substr(1, p.size() - 2);
    if (p.empty()) return Fail("needs a regular expression");
    auto re = Regex::Compile(p, {});
    if (!re) return Fail(re.error().message());
    t.re = *re;
  } else if (kind == TransformKind::kFromBase64) {
    if (has_value && !v.empty()) {
      for (auto part : Split(v, ',')) {
        if (part.empty()) continue;
        size_t sp = part.find(' ');
        std::string_view key = sp == std::string_view::npos ? part : part.substr(0, sp);
        std::string_view arg = sp == std::string_view::npos ? std::string_view() : Trim(part.substr(sp + 1));
        if (key == "bytes" || key == "offset") {
          auto n = ParseUint(arg);
          if (!n || *n > 65535) return Fail("from_base64 " + std::string(key) + " must be a number");
          (key == "bytes" ? t.b64_bytes : t.b64_offset) = static_cast<uint32_t>(*n);
        } else if (key == "mode") {
          if (arg == "rfc4648") {
            t.b64_mode = Transform::B64Mode::kRfc4648;
          } else if (arg == "rfc2045") {
            t.b64_mode = Transform::B64Mode::kRfc2045;
          } else if (arg == "strict") {
            t.b64_mode = Transform::B64Mode::kStrict;
          } else {
            return Fail("from_base64 mode must be rfc4648, rfc2045 or strict");
          }
        } else {
          return Fail("from_base64: unknown option '" + std::string(key) + "'");
        }
      }
    }
  } else if (kind == TransformKind::kGunzip || kind == TransformKind::kZlibDeflate) {
    if (has_value && !v.empty()) {
      std::string_view arg = v;
      if (!arg.starts_with("max-size")) return Fail("expected 'max-size N'");
      auto n = ParseUint(Trim(arg.substr(8)));
      if (!n || *n == 0 || *n > (1u << 24)) return Fail("max-size must be 1 to 16777216");
      t.max_size = static_cast<uint32_t>(*n);
    }
  } else if (kind == TransformKind::kSubslice) {
    auto parts = Split(v, ',');
    auto off = ParseInt(parts[0]);
    if (!off || *off < -65535 || *off > 65535) return Fail("expected 'offset[, length]'");
    t.slice_offset = static_cast<int32_t>(*off);
    size_t next = 1;
    if (parts.size() > next && parts[next] != "truncate") {
      auto len = ParseInt(parts[next]);
      if (!len || *len < -65535 || *len > 65535 || *len == 0) return Fail("bad length");
      t.slice_length = static_cast<int32_t>(*len);
      ++next;
    }
    if (parts.size() > next && parts[next] == "truncate") {
      t.slice_truncate = true;
      ++next;
    }
    if (parts.size() > next) return Fail("expected 'offset[, length][, truncate]'");
  } else if (has_value && !v.empty()) {
    return Fail("takes no value");
  }
  l.transforms.push_back(std::move(t));
  return std::nullopt;
}

// --------------------------------------------------------------------- pcre

KwStatus Parser::Pcre(const std::string& value) {
  std::string_view s = Trim(value);
  PcreMatch pm;
  if (!s.empty() && s[0] == '!') {
    pm.negated = true;
    s = Trim(s.substr(1));
  }
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  if (!s.empty() && s[0] == '!') {
    pm.negated = true;
    s = s.substr(1);
  }
  if (s.empty() || s[0] != '/') return Fail("expected \"/regex/flags\"");
  size_t end = s.rfind('/');
  if (end == 0) return Fail("expected \"/regex/flags\"");
  std::string_view pattern = s.substr(1, end - 1);
  std::string_view flags = s.substr(end + 1);
  RegexOptions ro;
  // The buffer a flag letter names (U: http.uri...; the letters are in the buffer table).
  BufferId buffer = BufferId::kPayload;
  bool named_buffer = false;
  for (char f : flags) {
    switch (f) {
      case 'i': ro.caseless = true; break;
      case 's': ro.dotall = true; break;
      case 'm': ro.multiline = true; break;
      case 'x': ro.extended = true; break;
      case 'A': ro.anchored = true; break;
      case 'E': ro.dollar_endonly = true; break;
      case 'G': ro.ungreedy = true; break;
      case 'O': ro.unlimited = true; break;
      case 'R': pm.relative = true; break;
      case 'B': break;  // rawbytes
      default: {
        const std::optional<BufferId> b = BufferForPcreFlag(f);
        if (!b) return Fail(std::string("unknown pcre flag '") + f + "'");
        buffer = *b;
        named_buffer = true;
        break;
      }
    }
  }
  if (named_buffer && current_list_ >= 0) {
    // "http.uri; pcre:/.../U" names the same buffer twice: fine.
    // Q (http_server_body) is the response body that http.response_body names too.
    const BufferId active = rule_->lists[static_cast<size_t>(current_list_)].buffer;
    const bool same_body = buffer == BufferId::kFileData && active == BufferId::kHttpResponseBody;
    if (active != buffer && !same_body) {
      return Fail("pcre buffer flag names another buffer than the active sticky buffer");
    }
    named_buffer = false;
  }
  // Suricata's rule text escapes ';' as "\;", which PCRE reads as ';'.
  auto re = Regex::Compile(pattern, ro);
  if (!re) return Fail(re.error().message());
  pm.re = *re;
  const int li = named_buffer ? ListFor(buffer, false) : TargetList(pm.relative);
  last_sm_list_ = li;
  auto& ms = Matches(li);
  ms.push_back(std::move(pm));
  return std::nullopt;
}

KwStatus Parser::Base64Decode(const std::string& value, bool has_value) {
  Base64DecodeMatch m;
  if (has_value && !Trim(value).empty()) {
    for (auto p : Split(value, ',')) {
      if (p.empty()) continue;
      size_t sp = p.find(' ');
      std::string_view key = sp == std::string_view::npos ? p : p.substr(0, sp);
      std::string_view arg = sp == std::string_view::npos ? std::string_view() : Trim(p.substr(sp + 1));
      if (key == "bytes" || key == "offset") {
        auto n = ParseUint(arg);
        if (!n || *n > 65535) return Fail("bad " + std::string(key));
        (key == "bytes" ? m.bytes : m.offset) = static_cast<uint32_t>(*n);
      } else if (key == "relative") {
        m.relative = true;
      } else {
        return Fail("unknown option '" + std::string(key) + "'");
      }
    }
  }
  const int li = TargetList(m.relative);
  if (base64_decode_list_ >= 0) return Fail("only one base64_decode per rule");
  Matches(li).push_back(m);
  base64_decode_list_ = li;
  return std::nullopt;
}

KwStatus Parser::Base64Data() {
  if (base64_decode_list_ < 0) return Fail("needs a preceding base64_decode");
  in_base64_data_ = true;
  return std::nullopt;
}

// ------------------------------------------------------ buffer-wide checks

KwStatus Parser::Bsize(const std::string& value) {
  auto c = ParseUintCheck(value, UINT64_MAX);
  if (!c) return Fail(c.error().message());
  int li = CurrentList();
  if (li < 0 || GetBufferInfo(rule_->lists[static_cast<size_t>(li)].buffer).kind == BufferKind::kPayload) {
    return Fail("needs a sticky buffer");
  }
  rule_->lists[static_cast<size_t>(li)].matches.push_back(LengthMatch{*c});
  return std::nullopt;
}

KwStatus Parser::Urilen(const std::string& value) {
  auto parts = Split(value, ',');
  auto c = ParseUintCheck(parts[0], UINT16_MAX);
  if (!c) return Fail(c.error().message());
  BufferId b = BufferId::kHttpUri;
  if (parts.size() > 1 && EqualsIgnoreCase(parts[1], "raw")) b = BufferId::kHttpUriRaw;
  int li = ListFor(b, false);
  auto& ms = rule_->lists[static_cast<size_t>(li)].matches;
  ms.insert(ms.begin(), LengthMatch{*c});
  return std::nullopt;
}

// krb5_msg_type:N: the message type's decimal text, matched whole.
KwStatus Parser::Krb5MsgType(const std::string& value) {
  auto n = ParseUint(value);
  if (!n || *n > 255) return Fail("'" + value + "' is not a Kerberos message type (0-255)");
  const int saved = current_list_;
  if (auto e = Content("\"" + std::to_string(*n) + "\"", ListFor(BufferId::kKrb5MsgType, false))) return e;
  current_list_ = saved;
  ContentMatch* c = LastContent();
  c->startswith = c->endswith = true;
  c->depth = static_cast<uint32_t>(c->pattern.size());
  c->has_depth = true;
  return std::nullopt;
}

KwStatus Parser::Absent(const std::string& value) {
  int li = CurrentList();
  if (li < 0) return Fail("needs a sticky buffer");
  AbsentMatch a;
  std::string_view t = Trim(value);
  if (t == "or_else") {
    a.or_else = true;
  } else if (!t.empty()) {
    return Unsupported("absent mode '" + std::string(t) + "' is not supported");
  }
  rule_->lists[static_cast<size_t>(li)].matches.push_back(a);
  return std::nullopt;
}

}  // namespace rampart::detect::parser
