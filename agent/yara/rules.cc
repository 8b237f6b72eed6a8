#include "agent/yara/rules.h"

#include <yara.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <system_error>

#include "common/tls/digest.h"

namespace rampart::yara {

struct RuleSetAccess {
  static std::shared_ptr<RuleSet> Make(YR_RULES* rules, std::string version,
                                       std::map<std::string, std::string> externals) {
    std::shared_ptr<RuleSet> set(new RuleSet());
    set->native_ = rules;
    set->rule_count_ = rules->num_rules;
    set->version_ = std::move(version);
    set->externals_ = std::move(externals);
    return set;
  }
};

namespace {

namespace fs = std::filesystem;

Status InitOnce() {
  const int rc = yr_initialize();
  if (rc != ERROR_SUCCESS) return InternalError("libyara initialisation failed (error " + std::to_string(rc) + ")");
  return Status::Ok();
}

struct CompilerSink {
  std::vector<Diagnostic>* diagnostics;
  bool fail_on_warnings = false;
  int errors = 0;
  int warnings = 0;
};

// The files `path` includes, found by reading it (include "..." statements,
// resolved as libyara resolves them: relative to the including file). A
// statement inside a comment is taken too, which only makes a cache of
// compiled rules more careful.
void FindIncludes(std::string path, std::vector<std::string>* out, std::set<std::string>* seen, int depth = 0) {
  if (depth > 32) return;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return;
  std::string text;
  char buf[65536];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), f)) > 0;) text.append(buf, n);
  std::fclose(f);
  for (size_t pos = text.find("include"); pos != std::string::npos; pos = text.find("include", pos + 7)) {
    size_t i = pos + 7;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i >= text.size() || text[i] != '"' || (pos > 0 && (std::isalnum(static_cast<unsigned char>(text[pos - 1])) ||
                                                         text[pos - 1] == '_'))) {
      continue;
    }
    const size_t close = text.find('"', i + 1);
    if (close == std::string::npos) break;
    std::string inc = text.substr(i + 1, close - i - 1);
    if (!inc.empty() && inc[0] != '/') inc = (fs::path(path).parent_path() / inc).lexically_normal().string();
    if (seen->insert(inc).second) {
      out->push_back(inc);
      FindIncludes(inc, out, seen, depth + 1);
    }
  }
}

Diagnostic MakeDiagnostic(Diagnostic::Level level, std::string file, int line, std::string message) {
  Diagnostic d;
  d.level = level;
  d.file = std::move(file);
  d.line = line;
  d.message = std::move(message);
  d.text = d.file + (d.line > 0 ? ":" + std::to_string(d.line) : std::string()) + ": " +
           (level == Diagnostic::Level::kWarning ? "warning: " : "") + d.message;
  return d;
}

void CompilerCallback(int error_level, const char* file_name, int line_number, const YR_RULE* rule,
                      const char* message, void* user_data) {
  auto* sink = static_cast<CompilerSink*>(user_data);
  const bool is_error = error_level == YARA_ERROR_LEVEL_ERROR;
  if (is_error) {
    ++sink->errors;
  } else {
    ++sink->warnings;
  }
  std::string text = message ? message : "unknown error";
  if (rule != nullptr && rule->identifier != nullptr) text = "rule \"" + std::string(rule->identifier) + "\": " + text;
  sink->diagnostics->push_back(MakeDiagnostic(is_error ? Diagnostic::Level::kError : Diagnostic::Level::kWarning,
                                              file_name ? file_name : "<rules>", line_number, std::move(text)));
}

// yara -d semantics: booleans, integers, floats, else strings.
Status DefineExternal(YR_COMPILER* compiler, const std::string& name, const std::string& value) {
  int rc = ERROR_SUCCESS;
  if (value == "true" || value == "false") {
    rc = yr_compiler_define_boolean_variable(compiler, name.c_str(), value == "true");
  } else {
    char* end = nullptr;
    errno = 0;
    const long long i = std::strtoll(value.c_str(), &end, 0);
    if (!value.empty() && errno == 0 && end && *end == '\0') {
      rc = yr_compiler_define_integer_variable(compiler, name.c_str(), i);
    } else {
      errno = 0;
      const double f = std::strtod(value.c_str(), &end);
      if (!value.empty() && errno == 0 && end && *end == '\0') {
        rc = yr_compiler_define_float_variable(compiler, name.c_str(), f);
      } else {
        std::string s = value;
        if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
        rc = yr_compiler_define_string_variable(compiler, name.c_str(), s.c_str());
      }
    }
  }
  if (rc != ERROR_SUCCESS) {
    return InvalidArgumentError("external variable '" + name + "' cannot be defined (yara error " +
                                std::to_string(rc) + ")");
  }
  return Status::Ok();
}

struct SourceFile {
  std::string ns;
  std::string path;
};

bool IsRuleFileName(const fs::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".yar" || ext == ".yara";
}

Status ExpandSources(const std::vector<std::string>& sources, std::vector<SourceFile>* out) {
  std::vector<std::string> problems;
  for (const std::string& source : sources) {
    SourceFile base;
    base.ns = "default";
    base.path = source;
    // NAMESPACE:PATH, as the yara CLI accepts (only when PATH exists and the
    // whole string does not).
    if (const auto colon = source.find(':'); colon != std::string::npos && colon > 0) {
      std::error_code ec;
      if (!fs::exists(source, ec) && fs::exists(source.substr(colon + 1), ec)) {
        base.ns = source.substr(0, colon);
        base.path = source.substr(colon + 1);
      }
    }
    std::error_code ec;
    const auto st = fs::status(base.path, ec);
    if (ec || !fs::exists(st)) {
      problems.push_back(base.path + ": no such rule file or folder");
      continue;
    }
    if (fs::is_directory(st)) {
      std::vector<std::string> found;
      for (fs::recursive_directory_iterator it(base.path, fs::directory_options::skip_permission_denied, ec), end;
           !ec && it != end; it.increment(ec)) {
        if (it->is_regular_file(ec) && IsRuleFileName(it->path())) found.push_back(it->path().string());
      }
      if (ec) problems.push_back(base.path + ": cannot list folder: " + ec.message());
      std::sort(found.begin(), found.end());
      if (found.empty()) problems.push_back(base.path + ": folder holds no .yar or .yara file");
      for (auto& f : found) out->push_back({base.ns, std::move(f)});
    } else {
      out->push_back(base);
    }
  }
  if (!problems.empty()) {
    std::string msg;
    for (const auto& p : problems) msg += (msg.empty() ? "" : "\n") + p;
    return InvalidArgumentError(msg);
  }
  return Status::Ok();
}

size_t HashWrite(const void* ptr, size_t size, size_t count, void* user_data) {
  static_cast<tls::Sha256*>(user_data)->Update(std::string_view(static_cast<const char*>(ptr), size * count));
  return count;
}

Result<std::string> RulesVersion(YR_RULES* rules, const std::map<std::string, std::string>& externals) {
  tls::Sha256 h;
  YR_STREAM stream{};
  stream.user_data = &h;
  stream.write = HashWrite;
  const int rc = yr_rules_save_stream(rules, &stream);
  if (rc != ERROR_SUCCESS) return InternalError("cannot serialise compiled rules (yara error " + std::to_string(rc) + ")");
  for (const auto& [k, v] : externals) {
    h.Update(k);
    h.Update(std::string_view("=", 1));
    h.Update(v);
    h.Update(std::string_view("\n", 1));
  }
  h.Update(YR_VERSION);
  return h.FinishHex();
}

// One attempt: every file in `files` into one compiler. On the first file
// with errors, returns its index (the compiler is then unusable, as libyara
// documents); otherwise fills *rules.
Result<int> CompileAll(const std::vector<SourceFile>& files, const CompileOptions& options,
                       std::vector<Diagnostic>* diagnostics, YR_RULES** rules) {
  YR_COMPILER* compiler = nullptr;
  if (yr_compiler_create(&compiler) != ERROR_SUCCESS) return ResourceExhaustedError("cannot create a YARA compiler");
  CompilerSink sink{diagnostics, options.fail_on_warnings};
  yr_compiler_set_callback(compiler, CompilerCallback, &sink);

  for (const auto& [name, value] : options.externals) {
    if (Status s = DefineExternal(compiler, name, value); !s.ok()) {
      yr_compiler_destroy(compiler);
      return s;
    }
  }
  for (size_t i = 0; i < files.size(); ++i) {
    const int errors_before = sink.errors;
    const int warnings_before = sink.warnings;
    FILE* f = std::fopen(files[i].path.c_str(), "rb");
    if (f == nullptr) {
      const int e = errno;
      diagnostics->push_back(MakeDiagnostic(Diagnostic::Level::kError, files[i].path, 0,
                                            ErrnoError(e, "cannot open rule file").message()));
      yr_compiler_destroy(compiler);
      return static_cast<int>(i);
    }
    yr_compiler_add_file(compiler, f, files[i].ns.c_str(), files[i].path.c_str());
    std::fclose(f);
    const bool failed = sink.errors > errors_before || (options.fail_on_warnings && sink.warnings > warnings_before);
    if (failed) {
      yr_compiler_destroy(compiler);
      return static_cast<int>(i);
    }
  }
  const int rc = yr_compiler_get_rules(compiler, rules);
  yr_compiler_destroy(compiler);
  if (rc != ERROR_SUCCESS) return ResourceExhaustedError("cannot build compiled rules (yara error " + std::to_string(rc) + ")");
  return -1;
}

Result<CompileResult> CompileFiles(std::vector<SourceFile> files, const CompileOptions& options) {
  RAMPART_RETURN_IF_ERROR(EnsureLibraryInitialized());
  CompileResult result;
  // A file with errors poisons the compiler, so compile again without it
  // until every remaining file compiles: one extra pass per bad file.
  std::vector<Diagnostic> pass_diagnostics;
  YR_RULES* rules = nullptr;
  std::vector<std::string> all_files;
  for (const auto& f : files) all_files.push_back(f.path);
  for (;;) {
    pass_diagnostics.clear();
    RAMPART_ASSIGN_OR_RETURN(const int bad, CompileAll(files, options, &pass_diagnostics, &rules));
    if (bad < 0) break;
    // Keep the failing file's diagnostics (those after the previous files'
    // warnings, which the next pass reports again).
    for (const Diagnostic& d : pass_diagnostics) {
      if (d.level == Diagnostic::Level::kError || options.fail_on_warnings) {
        result.diagnostics.push_back(d);
      }
    }
    result.rejected_files.push_back(files[static_cast<size_t>(bad)].path);
    files.erase(files.begin() + bad);
    if (files.empty()) break;
  }
  // Warnings of the files that loaded (errors were kept above).
  for (const Diagnostic& d : pass_diagnostics) {
    if (d.level == Diagnostic::Level::kWarning) result.diagnostics.push_back(d);
  }
  if (rules == nullptr) {
    std::string msg = "no usable YARA rule file";
    for (const auto& d : result.diagnostics) msg += "\n" + d.text;
    return InvalidArgumentError(msg);
  }
  for (const auto& f : files) result.loaded_files.push_back(f.path);
  // Every file read, rejected ones too (fixing one changes the result).
  std::set<std::string> seen(all_files.begin(), all_files.end());
  const size_t top_level = all_files.size();
  for (size_t i = 0; i < top_level; ++i) FindIncludes(all_files[i], &all_files, &seen);
  for (const auto& path : all_files) {
    if (auto id = IdentifyInput(path)) result.inputs.push_back(std::move(*id));
  }
  auto version = RulesVersion(rules, options.externals);
  if (!version) {
    yr_rules_destroy(rules);
    return version.error();
  }
  result.rules = RuleSetAccess::Make(rules, std::move(*version), options.externals);
  return result;
}

}  // namespace

Status EnsureLibraryInitialized() {
  static const Status status = InitOnce();
  return status;
}

RuleSet::~RuleSet() {
  if (native_ != nullptr) yr_rules_destroy(static_cast<YR_RULES*>(native_));
}

Result<CompileResult> CompileRules(const CompileOptions& options) {
  if (options.sources.empty()) return InvalidArgumentError("no YARA rule file or folder given");
  std::vector<SourceFile> files;
  RAMPART_RETURN_IF_ERROR(ExpandSources(options.sources, &files));
  return CompileFiles(std::move(files), options);
}

Result<CompileResult> CompileRulesFromString(const std::string& text, const std::string& name,
                                             const std::map<std::string, std::string>& externals) {
  RAMPART_RETURN_IF_ERROR(EnsureLibraryInitialized());
  CompileResult result;
  CompileOptions options;
  options.externals = externals;
  YR_COMPILER* compiler = nullptr;
  if (yr_compiler_create(&compiler) != ERROR_SUCCESS) return ResourceExhaustedError("cannot create a YARA compiler");
  CompilerSink sink{&result.diagnostics};
  yr_compiler_set_callback(compiler, CompilerCallback, &sink);
  for (const auto& [k, v] : externals) {
    if (Status s = DefineExternal(compiler, k, v); !s.ok()) {
      yr_compiler_destroy(compiler);
      return s;
    }
  }
  // Diagnostics name the source; yara reports in-memory text without a file.
  yr_compiler_add_string(compiler, text.c_str(), nullptr);
  for (auto& d : result.diagnostics) d = MakeDiagnostic(d.level, name, d.line, d.message);
  YR_RULES* rules = nullptr;
  if (sink.errors > 0 || yr_compiler_get_rules(compiler, &rules) != ERROR_SUCCESS) {
    yr_compiler_destroy(compiler);
    std::string msg = "YARA rules in " + name + " do not compile";
    for (const auto& d : result.diagnostics) msg += "\n" + d.text;
    return InvalidArgumentError(msg);
  }
  yr_compiler_destroy(compiler);
  RAMPART_ASSIGN_OR_RETURN(std::string version, RulesVersion(rules, externals));
  result.rules = RuleSetAccess::Make(rules, std::move(version), externals);
  result.loaded_files.push_back(name);
  return result;
}

Result<std::vector<std::string>> ExpandRuleSources(const std::vector<std::string>& sources) {
  std::vector<SourceFile> files;
  RAMPART_RETURN_IF_ERROR(ExpandSources(sources, &files));
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.ns + ":" + f.path);
  return out;
}

Result<InputFile> IdentifyInput(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return ErrnoError(errno, path);
  InputFile f;
  f.path = path;
  f.device = st.st_dev;
  f.inode = st.st_ino;
  f.size = static_cast<uint64_t>(st.st_size);
  f.mtime_nanos = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  f.ctime_nanos = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  return f;
}

namespace {
size_t AppendWrite(const void* ptr, size_t size, size_t count, void* user_data) {
  static_cast<std::string*>(user_data)->append(static_cast<const char*>(ptr), size * count);
  return count;
}
struct ReadState {
  std::string_view bytes;
  size_t pos = 0;
};
size_t ReadFromView(void* ptr, size_t size, size_t count, void* user_data) {
  auto* r = static_cast<ReadState*>(user_data);
  if (size == 0) return 0;
  const size_t want = size * count;
  if (r->bytes.size() - r->pos < want) return 0;
  std::memcpy(ptr, r->bytes.data() + r->pos, want);
  r->pos += want;
  return count;
}
}  // namespace

Result<std::string> SaveCompiledRules(const RuleSet& rules) {
  std::string out;
  YR_STREAM stream{};
  stream.user_data = &out;
  stream.write = AppendWrite;
  const int rc = yr_rules_save_stream(static_cast<YR_RULES*>(rules.native()), &stream);
  if (rc != ERROR_SUCCESS) return InternalError("cannot serialise compiled rules (yara error " + std::to_string(rc) + ")");
  return out;
}

Result<std::shared_ptr<const RuleSet>> LoadCompiledRules(std::string_view bytes, std::string version,
                                                         std::map<std::string, std::string> externals) {
  RAMPART_RETURN_IF_ERROR(EnsureLibraryInitialized());
  ReadState state{bytes, 0};
  YR_STREAM stream{};
  stream.user_data = &state;
  stream.read = ReadFromView;
  YR_RULES* rules = nullptr;
  const int rc = yr_rules_load_stream(&stream, &rules);
  if (rc != ERROR_SUCCESS) {
    return DataLossError("compiled rules do not load (yara error " + std::to_string(rc) + ")");
  }
  return std::shared_ptr<const RuleSet>(RuleSetAccess::Make(rules, std::move(version), std::move(externals)));
}

}  // namespace rampart::yara
