#include "agent/detect/ruleset.h"

#include <cerrno>
#include <fstream>
#include <sstream>

#include "agent/detect/text_util.h"

namespace rampart::detect {

std::string LoadReport::Summary() const {
  std::string s = std::to_string(files) + (files == 1 ? " rule file: " : " rule files: ");
  s += std::to_string(loaded) + " rules loaded, " + std::to_string(skipped) + " skipped";
  if (skipped > 0) s += " (unsupported keywords)";
  s += ", " + std::to_string(failed) + " failed";
  return s;
}

RuleLoader::RuleLoader(const RuleVars& vars, const Classifications& classes) {
  env_.vars = &vars;
  env_.classes = &classes;
  env_.flowbits = &set_.flowbits;
  env_.flowints = &set_.flowints;
  env_.xbits = &set_.xbits;
  set_.datasets = std::make_shared<DatasetRegistry>(false);
  env_.datasets = set_.datasets.get();
}

Status RuleLoader::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int e = errno;
    return ErrnoError(e == 0 ? ENOENT : e, "rule file " + path);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  // Dataset files (load, save, state) are found next to the rule file.
  const size_t slash = path.rfind('/');
  env_.rule_dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  env_.datasets->set_files_allowed(true);
  LoadText(ss.str(), path);
  env_.rule_dir.clear();
  env_.datasets->set_files_allowed(false);
  return Status::Ok();
}

void RuleLoader::LoadText(std::string_view text, std::string_view name) {
  ++report_.files;
  std::string pending;
  int pending_line = 0;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view trimmed = Trim(line);
    if (pending.empty()) {
      if (trimmed.empty() || trimmed[0] == '#') continue;
      pending_line = line_no;
    }
    if (!trimmed.empty() && trimmed.back() == '\\') {
      trimmed.remove_suffix(1);
      pending.append(trimmed);
      continue;
    }
    pending.append(trimmed);
    AddRule(pending, name, pending_line);
    pending.clear();
  }
  if (!pending.empty()) AddRule(pending, name, pending_line);
}

void RuleLoader::AddRule(std::string_view text, std::string_view file, int line) {
  const std::string where = std::string(file) + ":" + std::to_string(line) + ": ";
  ParseResult r = ParseRule(text, env_);
  switch (r.outcome) {
    case ParseResult::Outcome::kFailed:
      ++report_.failed;
      report_.errors.push_back(where + r.message);
      return;
    case ParseResult::Outcome::kSkipped:
      ++report_.skipped;
      ++report_.skipped_keywords[r.keyword.empty() ? "unknown" : r.keyword];
      report_.warnings.push_back(where + "skipped: " + r.message);
      return;
    case ParseResult::Outcome::kOk:
      break;
  }
  Rule& rule = *r.rule;
  rule.file = std::string(file);
  rule.line = line;
  const auto key = std::make_pair(rule.gid, rule.sid);
  auto it = by_sid_.find(key);
  if (it != by_sid_.end()) {
    Rule& old = *set_.rules[it->second];
    ++report_.failed;
    if (rule.rev > old.rev) {
      report_.errors.push_back(where + "duplicate sid " + std::to_string(rule.sid) + " replaces rev " +
                               std::to_string(old.rev) + " from " + old.file + ":" + std::to_string(old.line));
      set_.rules[it->second] = std::move(r.rule);
    } else {
      report_.errors.push_back(where + "duplicate sid " + std::to_string(rule.sid) + " (already loaded from " +
                               old.file + ":" + std::to_string(old.line) + ")");
    }
    return;
  }
  by_sid_[key] = set_.rules.size();
  set_.rules.push_back(std::move(r.rule));
  ++report_.loaded;
}

RuleSet RuleLoader::Take() {
  RuleSet out = std::move(set_);
  set_ = RuleSet();
  env_.flowbits = &set_.flowbits;
  env_.flowints = &set_.flowints;
  env_.xbits = &set_.xbits;
  set_.datasets = std::make_shared<DatasetRegistry>(false);
  env_.datasets = set_.datasets.get();
  by_sid_.clear();
  return out;
}

}  // namespace rampart::detect
