// rampart-agent rules check FILE...: loads Suricata rule files as the agent
// would, prints every problem as FILE:LINE: message, the rules skipped for
// keywords this engine does not implement (with counts per keyword), and a
// loaded/skipped/failed summary; --build also builds the engine and prints
// the time it took.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "agent/detect/detect_config.h"
#include "agent/main/commands.h"
#include "common/util/build_info.h"

namespace rampart::agent_cli {
namespace {

struct RulesCheckArgs {
  std::vector<std::string> files;
  std::vector<std::string> vars;
  std::string classification;
  bool build = false;
  bool quiet = false;
};

int RunRulesCheck(const RulesCheckArgs& args) {
  detect::DetectOptions options;
  options.rule_files = args.files;
  options.classification_file = args.classification;
  for (const std::string& v : args.vars) {
    const size_t eq = v.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "rampart-agent rules check: --var wants NAME=VALUE, got '%s'\n", v.c_str());
      return kExitUsage;
    }
    options.vars[v.substr(0, eq)] = v.substr(eq + 1);
  }
  auto expanded = detect::ExpandRuleFiles(options.rule_files);
  if (!expanded) {
    std::fprintf(stderr, "rampart-agent rules check: %s\n", expanded.error().message().c_str());
    return kExitBadConfig;
  }
  options.rule_files = *expanded;
  const auto start = std::chrono::steady_clock::now();
  detect::LoadReport report;
  auto engine = detect::BuildEngine(options, &report);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!engine) {
    std::fprintf(stderr, "rampart-agent rules check: %s\n", engine.error().message().c_str());
    return kExitBadConfig;
  }
  if (!args.quiet) {
    for (const std::string& e : report.errors) std::fprintf(stderr, "%s\n", e.c_str());
    for (const std::string& w : report.warnings) std::fprintf(stderr, "%s\n", w.c_str());
  }
  std::printf("%s\n", report.Summary().c_str());
  const size_t total = report.loaded + report.skipped + report.failed;
  if (total > 0) {
    std::printf("accepted: %.2f%% of %zu rules\n", 100.0 * static_cast<double>(report.loaded) /
                                                      static_cast<double>(total), total);
  }
  if (!report.skipped_keywords.empty()) {
    std::vector<std::pair<std::string, size_t>> kws(report.skipped_keywords.begin(), report.skipped_keywords.end());
    std::sort(kws.begin(), kws.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    std::printf("skipped keywords (rules):\n");
    for (const auto& [k, n] : kws) std::printf("  %-32s %zu\n", k.c_str(), n);
  }
  if (args.build) {
    std::printf("engine: %zu rules, %zu Vectorscan databases (%zu KiB), built in %.0f ms\n", (*engine)->rule_count(),
                (*engine)->database_count(), (*engine)->database_bytes() / 1024, ms);
  }
  return report.failed == 0 ? kExitOk : kExitFailure;
}

}  // namespace

Command AddRulesCommand(CLI::App& app) {
  auto args = std::make_shared<RulesCheckArgs>();
  CLI::App* rules = app.add_subcommand("rules", "Work with Suricata-syntax rule files");
  CLI::App* check = rules->add_subcommand("check", "Load rule files and report every problem and skipped keyword");
  rules->require_subcommand(1);
  check->add_option("files", args->files, "Rule files (a '*' in the file name selects several)")->required();
  check->add_option("--var", args->vars, "Override a rule variable: NAME=VALUE (repeatable)");
  check->add_option("--classification", args->classification, "classification.config (default: built-in table)");
  check->add_flag("--build", args->build, "Also build the engine and report its size and build time");
  check->add_flag("-q,--quiet", args->quiet, "Print only the summary and the skipped keywords");
  return {rules, [args] { return RunRulesCheck(*args); }};
}

}  // namespace rampart::agent_cli
