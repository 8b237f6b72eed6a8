#pragma once
// Loading rule files: each file is read line by line (a trailing '\'
// continues a rule on the next line; '#' starts a comment), each rule is
// parsed, and problems are reported as "FILE:LINE: message" without
// stopping: a bad rule is counted as failed, a rule with a keyword this
// engine does not support is counted as skipped (with the keyword), and the
// rest of the file loads.
//
// Duplicate (gid, sid) pairs keep the higher revision, as Suricata does.

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/detect/rule.h"
#include "agent/detect/rule_parser.h"
#include "agent/detect/vars.h"
#include "common/status/status.h"

namespace rampart::detect {

struct LoadReport {
  size_t files = 0;
  size_t loaded = 0;
  size_t skipped = 0;
  size_t failed = 0;
  std::vector<std::string> errors;    // "FILE:LINE: message" for failed rules.
  std::vector<std::string> warnings;  // "FILE:LINE: skipped: ..." for skipped rules.
  std::map<std::string, size_t> skipped_keywords;  // keyword -> rules skipped for it
  // "3 rule files: 24102 rules loaded, 700 skipped (unsupported keywords), 25 failed".
  std::string Summary() const;
};

// The rules of one engine, with the names their flowbits/flowints/xbits use.
struct RuleSet {
  std::vector<std::unique_ptr<Rule>> rules;
  // The datasets the rules name (the rules keep their sets alive on their own).
  std::shared_ptr<DatasetRegistry> datasets;
  NameTable flowbits;
  NameTable flowints;
  NameTable xbits;
};

class RuleLoader {
 public:
  // `vars` and `classes` must outlive the loader.
  RuleLoader(const RuleVars& vars, const Classifications& classes);

  // Loads every rule of a file. kNotFound / kPermissionDenied when the
  // file cannot be read (nothing is loaded from it); rule problems go to
  // the report, not the status.
  Status LoadFile(const std::string& path);
  // Loads rules from text; `name` stands in for the file name in messages.
  void LoadText(std::string_view text, std::string_view name);

  const LoadReport& report() const { return report_; }
  // Hands over the rules loaded so far.
  RuleSet Take();

 private:
  void AddRule(std::string_view text, std::string_view file, int line);

  ParseEnv env_;
  RuleSet set_;
  LoadReport report_;
  std::map<std::pair<uint32_t, uint32_t>, size_t> by_sid_;  // (gid, sid) -> index in set_.rules
};

}  // namespace rampart::detect
