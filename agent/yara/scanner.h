#pragma once
// One YARA scanner: a buffer or an open file against a RuleSet, and the
// matches as plain structs (rule, namespace, tags, meta, string offsets).
//
// A Scanner is used by one thread at a time; make one per thread from the
// same shared RuleSet. Matching is libyara's own, so results are exactly
// those of the yara CLI for the same rules and bytes.

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "agent/yara/rules.h"
#include "common/status/status.h"

namespace rampart::yara {

struct MetaValue {
  enum class Type { kString, kInteger, kBoolean };
  std::string key;
  Type type = Type::kString;
  std::string string_value;
  int64_t integer_value = 0;  // Also 0/1 for booleans.
};

struct StringMatch {
  std::string identifier;  // "$a".
  uint64_t offset = 0;     // From the start of the scanned data.
  uint32_t length = 0;
};

struct RuleMatch {
  std::string rule;
  std::string ns;
  std::vector<std::string> tags;
  std::vector<MetaValue> meta;
  std::vector<StringMatch> strings;  // Only when ScannerOptions::report_strings.
};

struct ScannerOptions {
  // Per scan. A scan that runs longer fails with kDeadlineExceeded; YARA
  // checks the clock between rules, so a single slow regex may overrun it.
  std::chrono::seconds timeout{60};
  // Stop searching a string at its first match (yara -f). Faster; the
  // string offsets then list one match per string.
  bool fast_mode = false;
  // Collect string identifiers and offsets (yara -s without the data).
  bool report_strings = false;
  // Offsets kept per string when reporting them; the rest are counted only.
  uint32_t max_offsets_per_string = 16;
};

class Scanner {
 public:
  // kResourceExhausted when libyara cannot allocate a scanner.
  static Result<std::unique_ptr<Scanner>> Create(std::shared_ptr<const RuleSet> rules,
                                                 const ScannerOptions& options = {});
  ~Scanner();
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;

  // The matches of one scan. kDeadlineExceeded on timeout; kResourceExhausted
  // when YARA runs out of memory or match slots; kInternal for other libyara
  // errors (the message names the rule that caused it, when known).
  Result<std::vector<RuleMatch>> ScanMemory(std::span<const uint8_t> data);
  // Scans what the descriptor refers to (libyara maps it).
  Result<std::vector<RuleMatch>> ScanFd(int fd);

  // Strings that hit YARA's per-string match limit so far (results for their
  // rules may be incomplete, as `yara` warns).
  uint64_t too_many_matches() const { return too_many_matches_; }
  const RuleSet& rules() const { return *rules_; }

 private:
  Scanner() = default;
  Result<std::vector<RuleMatch>> Finish(int rc);

  std::shared_ptr<const RuleSet> rules_;
  ScannerOptions options_;
  void* native_ = nullptr;  // YR_SCANNER*
  std::vector<RuleMatch> matches_;
  uint64_t too_many_matches_ = 0;
  friend struct ScannerCallbacks;
};

}  // namespace rampart::yara
