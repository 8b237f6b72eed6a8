#pragma once
// Parses one Suricata rule:
//
//   alert http $HOME_NET any -> $EXTERNAL_NET any (msg:"..."; flow:established,to_server;
//       http.uri; content:"/gate.php"; nocase; sid:2000001; rev:2;)
//
// The result is kOk with a Rule, kSkipped when the rule is valid Suricata
// syntax but uses a keyword (or protocol) this engine does not implement
// (the keyword is named so the loader can count it), or kFailed with what
// is wrong. Never throws, never aborts on any input.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/detect/dataset.h"
#include "agent/detect/rule.h"
#include "agent/detect/vars.h"

namespace rampart::detect {

// Names of flowbits, flowints and xbits, turned into small ids shared by
// every rule of one engine.
class NameTable {
 public:
  uint32_t Id(std::string_view name);
  const std::string& Name(uint32_t id) const { return names_[id]; }
  size_t size() const { return names_.size(); }

 private:
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<std::string> names_;
};

struct ParseEnv {
  const RuleVars* vars = nullptr;            // Required.
  const Classifications* classes = nullptr;  // Required.
  NameTable* flowbits = nullptr;             // Required.
  NameTable* flowints = nullptr;             // Required.
  NameTable* xbits = nullptr;                // Required (xbits and hostbits).
  DatasetRegistry* datasets = nullptr;       // Optional: without it dataset/datarep rules are skipped.
  std::string rule_dir;                      // Folder of the rule file: dataset files are relative to it.
};

struct ParseResult {
  enum class Outcome { kOk, kSkipped, kFailed };
  Outcome outcome = Outcome::kFailed;
  std::unique_ptr<Rule> rule;  // Set for kOk.
  std::string message;         // Why it was skipped or failed.
  std::string keyword;         // kSkipped: the keyword (or "protocol:NAME") not supported.
};

ParseResult ParseRule(std::string_view text, const ParseEnv& env);

}  // namespace rampart::detect
