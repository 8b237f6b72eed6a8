#include "agent/detect/detect_config.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace rampart::detect {

namespace fs = std::filesystem;

void ReadDetectOptions(config::Section s, const std::string& base_dir, DetectOptions* out) {
  s.Bool("enabled", &out->enabled);
  std::vector<std::string> files;
  s.StringList("rule_files", &files);
  for (std::string& f : files) {
    if (!f.empty() && f[0] != '/' && !base_dir.empty()) f = (fs::path(base_dir) / f).string();
  }
  if (!files.empty()) out->rule_files = std::move(files);
  std::map<std::string, std::string> vars;
  s.StringMap("vars", &vars);
  for (auto& [k, v] : vars) {
    std::string name = k;
    if (!name.empty() && name[0] == '$') name.erase(0, 1);
    out->vars[name] = v;
  }
  if (!vars.empty()) {
    // Each configured variable must parse (with the others it refers to).
    RuleVars merged = RuleVars::Defaults();
    for (const auto& [k, v] : out->vars) merged.Set(k, v);
    const VarLookup lookup = merged.Lookup();
    for (const auto& [k, v] : out->vars) {
      std::string problem;
      if (k.ends_with("_PORTS") || k.ends_with("_PORT")) {
        auto ports = PortSet::Parse(v, lookup);
        if (!ports) problem = ports.error().message();
      } else {
        auto addrs = IpSet::Parse(v, lookup);
        if (!addrs) problem = addrs.error().message();
      }
      if (!problem.empty()) s.Problem("vars", "$" + k + ": " + problem);
    }
  }
  std::string cls = out->classification_file;
  s.String("classification_file", &cls);
  if (!cls.empty() && cls[0] != '/' && !base_dir.empty()) cls = (fs::path(base_dir) / cls).string();
  out->classification_file = cls;
  s.Int("stream_chunk_size", &out->engine.stream_chunk_size, 1, 1 << 24);
  s.Int("inspection_recursion_limit", &out->engine.recursion_limit, 10, 1 << 20);
  if (out->enabled && !out->rule_files.empty()) {
    if (auto expanded = ExpandRuleFiles(out->rule_files); !expanded) {
      s.Problem("rule_files", expanded.error().message());
    }
  }
  if (!out->classification_file.empty()) {
    if (auto c = Classifications::Load(out->classification_file); !c) {
      s.Problem("classification_file", c.error().message());
    }
  }
}

Result<std::vector<std::string>> ExpandRuleFiles(const std::vector<std::string>& patterns) {
  std::vector<std::string> out;
  for (const std::string& p : patterns) {
    const fs::path path(p);
    const std::string name = path.filename().string();
    const size_t star = name.find('*');
    if (star == std::string::npos) {
      std::error_code ec;
      if (!fs::exists(path, ec)) return NotFoundError("rule file " + p + ": no such file");
      out.push_back(p);
      continue;
    }
    const std::string prefix = name.substr(0, star);
    const std::string suffix = name.substr(star + 1);
    std::vector<std::string> found;
    std::error_code ec;
    const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string n = entry.path().filename().string();
      if (n.size() >= prefix.size() + suffix.size() && n.starts_with(prefix) && n.ends_with(suffix) &&
          entry.is_regular_file(ec)) {
        found.push_back(entry.path().string());
      }
    }
    if (ec) return NotFoundError("rule files " + p + ": " + ec.message());
    if (found.empty()) return NotFoundError("rule files " + p + ": the pattern matches no file");
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

Result<std::unique_ptr<Engine>> BuildEngine(const DetectOptions& options, LoadReport* report) {
  RuleVars vars = RuleVars::Defaults();
  for (const auto& [k, v] : options.vars) vars.Set(k, v);
  if (Status st = vars.Validate(); !st.ok()) return InvalidArgumentError("rule variables: " + st.message());
  Classifications classes = Classifications::Builtin();
  if (!options.classification_file.empty()) {
    RAMPART_ASSIGN_OR_RETURN(classes, Classifications::Load(options.classification_file));
  }
  RAMPART_ASSIGN_OR_RETURN(std::vector<std::string> files, ExpandRuleFiles(options.rule_files));
  RuleLoader loader(vars, classes);
  for (const std::string& f : files) RAMPART_RETURN_IF_ERROR(loader.LoadFile(f));
  *report = loader.report();
  return Engine::Build(loader.Take(), options.engine);
}

}  // namespace rampart::detect
