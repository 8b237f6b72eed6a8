#pragma once
// The rule parser's insides, shared by its files; not part of the module's
// contract (that is rule_parser.h). One Parser parses one rule:
//
//   rule_parser.cc      entry point, option splitting, the checks after the last option
//   parser_keywords.cc  the keyword table, the lookup of a keyword, identity keywords (msg, sid...)
//   parser_header.cc    the header: action, protocol, addresses, ports, direction
//   parser_payload.cc   content and its modifiers, sticky buffers, transforms, pcre,
//                       base64, bsize, urilen, absent
//   parser_byte.cc      byte_test, byte_jump, byte_extract, byte_math, isdataat
//   parser_packet.cc    packet and flow keywords (flow, ttl, flags, stream_size...),
//                       app-layer-protocol, events, filesize
//   parser_state.cc     flowbits, flowint, xbits / hostbits, threshold, datasets
//   parser_tls.cc       tls.* and ssl_* keywords
//
// A keyword is one row of Parser::kKeywords (name, value policy, handler);
// sticky buffers and legacy content modifiers come from the buffer table
// (buffers.h) and need no row.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/detect/rule.h"
#include "agent/detect/rule_parser.h"

namespace rampart::detect::parser {

// How a keyword handler ends: fine, the rule is invalid, or the keyword
// (or one of its forms) is not implemented here.
struct KwError {
  bool unsupported = false;
  std::string message;
};
using KwStatus = std::optional<KwError>;  // nullopt = OK

inline KwStatus Fail(std::string m) { return KwError{false, std::move(m)}; }
inline KwStatus Unsupported(std::string m) { return KwError{true, std::move(m)}; }

// One option of the rule's option block: "name" or "name:value".
struct RawOption {
  std::string name;
  std::string value;
  bool has_value = false;
};

// Splits the option block on unescaped ';' into options; false with *error
// on a malformed block.
bool SplitOptions(std::string_view body, std::vector<RawOption>* out, std::string* error);

// Decodes a content string: |hex| sections and backslash escapes.
std::optional<std::string> DecodeContent(std::string_view s, std::string* error);

// What a keyword's value must look like before its handler runs.
enum class ValuePolicy : uint8_t {
  kNone,      // No value ("nocase;"); a value fails the rule: "takes no value".
  kRequired,  // A value that is not blank ("msg:...;"), else "needs a value".
  kHandler,   // The handler reads what is there (an optional value, or its own message).
};

class Parser {
 public:
  explicit Parser(const ParseEnv& env) : env_(env) {}
  ParseResult Run(std::string_view text);

  // One row of the keyword table (parser_keywords.cc).
  struct Keyword {
    std::string_view name;  // Lower case, as rules are matched after lowering.
    ValuePolicy value;
    KwStatus (*handler)(Parser& p, const RawOption& o);
  };
  static const Keyword kKeywords[];

 private:
  // Handlers of the rows that pass a constant on (parser_keywords.cc).
  template <TransformKind kind>
  static KwStatus TransformRow(Parser& p, const RawOption& o);
  template <Check::Kind kind, uint64_t max>
  static KwStatus NumCheckRow(Parser& p, const RawOption& o);

  KwStatus ParseAll(std::string_view text);
  KwStatus Finish();  // After the last option: buffers' protocol and directions, stream or packet.
  static void SetRetryFlags(std::vector<SigMatch>& ms);

  // parser_keywords.cc
  KwStatus Option(const RawOption& o);
  KwStatus Sid(const std::string& v);
  KwStatus Classtype(const std::string& v);
  KwStatus Reference(const std::string& v);
  KwStatus Requires(const std::string& v);

  // parser_header.cc
  KwStatus ParseHeader(std::string_view header);
  KwStatus ParseProto(const std::string& p);
  bool ExpandsToNegation(std::string_view spec, int depth) const;

  // parser_payload.cc: where keywords go.
  int CurrentList();
  int TargetList(bool relative);
  int ListFor(BufferId b, bool fresh, SidePin side = SidePin::kNone);
  std::vector<SigMatch>& Matches(int li);
  KwStatus AddPayloadMatch(SigMatch m, bool relative);
  ContentMatch* LastContent();
  std::optional<VarIndex> VarByName(std::string_view name) const;
  std::optional<VarIndex> NewVar(std::string_view name);
  static bool IsIdentifier(std::string_view s);
  static KwStatus ParseNumBase(std::string_view s, NumBase* base);
  template <typename Match>
  static std::optional<KwStatus> SharedByteOption(std::string_view p, Match* m);
  // parser_payload.cc and parser_byte.cc: the keywords.
  KwStatus StickyBuffer(BufferId b, const RawOption& o);
  KwStatus Modifier(BufferId b, const std::string& name);
  KwStatus Content(const std::string& value, int li);
  KwStatus Nocase();
  KwStatus Positional(const std::string& name, const std::string& value);
  KwStatus StartsOrEndsWith(bool starts);
  KwStatus FastPattern(const std::string& value);
  KwStatus TransformKw(TransformKind kind, const std::string& value, bool has_value);
  KwStatus Pcre(const std::string& value);
  KwStatus IsDataAt(const std::string& value);
  KwStatus ByteTest(const std::string& value);
  KwStatus ByteJump(const std::string& value);
  KwStatus ByteExtract(const std::string& value);
  KwStatus ByteMath(const std::string& value);
  KwStatus Bsize(const std::string& value);
  KwStatus Urilen(const std::string& value);
  KwStatus Krb5MsgType(const std::string& value);
  KwStatus Base64Decode(const std::string& value, bool has_value);
  KwStatus Base64Data();
  KwStatus Absent(const std::string& value);

  // parser_packet.cc
  KwStatus Flow(const std::string& value);
  KwStatus Dsize(const std::string& value);
  KwStatus NumCheck(Check::Kind kind, const std::string& value, uint64_t max);
  KwStatus IpProto(const std::string& value);
  KwStatus Flags(const std::string& value);
  KwStatus Fragbits(const std::string& value);
  KwStatus Ipopts(const std::string& value);
  KwStatus StreamSize(const std::string& value);
  // `fixed`: the direction the keyword's name gives; nullopt reads it from the value.
  KwStatus FlowCounter(bool packets, const std::string& value, std::optional<Check::CounterDir> fixed);
  KwStatus AppLayerProtocol(const std::string& value);
  KwStatus Event(Check::Kind kind, const std::string& value);
  KwStatus FileSize(const std::string& value);

  // parser_state.cc
  KwStatus Flowbits(const std::string& value);
  KwStatus Flowint(const std::string& value);
  KwStatus Xbits(const std::string& value, bool hostbits);
  KwStatus Threshold(const std::string& value, bool detection_filter);
  KwStatus DatasetKeyword(const std::string& value, bool rep);
  std::vector<uint32_t> Names(std::string_view list, NameTable* table, char sep);

  // parser_tls.cc
  KwStatus TlsField(Check::Kind kind, const RawOption& o);
  KwStatus TlsCertState(Check::Kind kind);
  KwStatus SslVersion(const std::string& value);
  KwStatus TlsVersion(const std::string& value);
  KwStatus CertDate(bool not_before, const std::string& value);

  const ParseEnv& env_;
  std::unique_ptr<Rule> rule_;
  std::string skipped_keyword_;
  bool have_sid_ = false;
  // Index into rule_->lists of the active sticky buffer; -1: none (payload).
  int current_list_ = -1;
  // Where the last content is (list, index, in the base64_data matches or not).
  int last_content_list_ = -1;
  size_t last_content_idx_ = 0;
  bool last_content_b64_ = false;
  // The list of the last payload keyword, for relative keywords after a modifier.
  int last_sm_list_ = -1;
  int base64_decode_list_ = -1;
  bool in_base64_data_ = false;
  std::vector<std::string> var_names_;  // byte_extract / byte_math variables, by VarIndex.
};

}  // namespace rampart::detect::parser
