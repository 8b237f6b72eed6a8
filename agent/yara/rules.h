#pragma once
// Compiled YARA rule sets. yara.h stays inside agent/yara/*.cc; callers see
// only this header.
//
//   CompileOptions opts{.sources = {"rules/yara"}, .externals = {{"filename", ""}}};
//   auto compiled = CompileRules(opts);       // fails only when no rule file is usable
//   for (const auto& d : compiled->diagnostics) std::cerr << d.text << "\n";  // FILE:LINE: message
//   std::shared_ptr<const RuleSet> rules = compiled->rules;
//
// A RuleSet is immutable and safe to share between threads; every scanning
// thread makes its own Scanner from it (agent/yara/scanner.h).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status/status.h"

namespace rampart::yara {

// Initialises libyara once per process (thread-safe, idempotent) and reports
// a failure to do so. Called by every entry point of this module.
Status EnsureLibraryInitialized();

struct CompileOptions {
  // Rule files (".yar"/".yara") and folders of them (searched recursively, in
  // name order). A source may be written NAMESPACE:PATH as with the yara CLI;
  // otherwise every rule goes to the "default" namespace, again as yara does.
  std::vector<std::string> sources;
  // External variables, as `yara -d NAME=VALUE`: "true"/"false" become
  // booleans, integers and decimals become numbers, anything else a string
  // (surrounding double quotes removed).
  std::map<std::string, std::string> externals;
  // Warnings ("string slows down scanning") are reported as diagnostics; when
  // true they make the file unusable, like `yara --fail-on-warnings`.
  bool fail_on_warnings = false;
};

struct Diagnostic {
  enum class Level { kError, kWarning };
  Level level = Level::kError;
  std::string file;  // The file that holds the problem (an included file when it is there).
  int line = 0;      // 0 when the problem is not tied to a line (unreadable file).
  std::string message;
  std::string text;  // "FILE:LINE: message" (or "FILE: message"), ready to print.
};

class RuleSet;

// A file the compiler read (a rule file or one it includes), identified as
// the scan cache identifies files.
struct InputFile {
  std::string path;
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_nanos = 0;
  int64_t ctime_nanos = 0;
  friend bool operator==(const InputFile&, const InputFile&) = default;
};

struct CompileResult {
  std::shared_ptr<const RuleSet> rules;
  // Every error and warning. A file with an error is left out and the others
  // still load (each error names its file); warnings leave the file in.
  std::vector<Diagnostic> diagnostics;
  std::vector<std::string> loaded_files;   // Top-level files that compiled.
  std::vector<std::string> rejected_files; // Top-level files left out because of errors.
  // Every file read (top-level files in order, then included files), so a
  // cache of compiled rules can tell whether any changed.
  std::vector<InputFile> inputs;
};

// Compiles every usable rule file. kInvalidArgument when no source is given,
// a source does not exist, or not a single file compiled (the message lists
// every diagnostic); the diagnostics of a partial success are in the result.
Result<CompileResult> CompileRules(const CompileOptions& options);

// Rules compiled from in-memory text ("<name>" in diagnostics), for network
// rule sets pushed by the controller and for tests.
Result<CompileResult> CompileRulesFromString(const std::string& text, const std::string& name,
                                             const std::map<std::string, std::string>& externals = {});

// The top-level rule files `sources` stand for, as "NAMESPACE:PATH", in
// the order they are compiled (folders expanded, sorted).
Result<std::vector<std::string>> ExpandRuleSources(const std::vector<std::string>& sources);
// The identity of `path` now; kNotFound when it is gone.
Result<InputFile> IdentifyInput(const std::string& path);

// Compiled rules as bytes (libyara's own format, valid for this libyara
// version) and back. LoadCompiledRules keeps `version` and `externals`.
Result<std::string> SaveCompiledRules(const RuleSet& rules);
Result<std::shared_ptr<const RuleSet>> LoadCompiledRules(std::string_view bytes, std::string version,
                                                         std::map<std::string, std::string> externals);

class RuleSet {
 public:
  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  // Number of rules (private and global rules included).
  uint32_t rule_count() const { return rule_count_; }
  // SHA-256 (hex) of the compiled form and the externals: equal for the same
  // rules, different after any change to a rule file or an included file.
  // The scan cache keys its records with it.
  const std::string& version() const { return version_; }
  const std::map<std::string, std::string>& externals() const { return externals_; }

  // The libyara object (YR_RULES*), for agent/yara's own .cc files only.
  void* native() const { return native_; }

 private:
  friend struct RuleSetAccess;
  RuleSet() = default;
  void* native_ = nullptr;
  uint32_t rule_count_ = 0;
  std::string version_;
  std::map<std::string, std::string> externals_;
};

}  // namespace rampart::yara
