#pragma once
// The agent.detect section of the configuration, and building an engine
// from it:
//
//   agent:
//     detect:
//       enabled: true
//       rule_files: [/etc/rampart/rules/local.rules, /etc/rampart/rules/et-open/*.rules]
//       vars:                              # override or add rule variables
//         HOME_NET: "[10.20.0.0/16]"
//         HTTP_PORTS: "[80,8080]"
//       classification_file: /etc/rampart/classification.config   # "" = built-in table
//       stream_chunk_size: 2560
//
// Relative rule paths are relative to the configuration file's directory;
// a path may end in a '*' pattern to take every matching file in sorted order.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/detect/engine.h"
#include "agent/detect/ruleset.h"
#include "common/config/config.h"
#include "common/status/status.h"

namespace rampart::detect {

struct DetectOptions {
  bool enabled = true;
  std::vector<std::string> rule_files;        // Empty: detection has nothing to do.
  std::map<std::string, std::string> vars;    // Override Suricata's defaults ($HOME_NET...).
  std::string classification_file;            // Empty: Suricata's built-in classification table.
  EngineOptions engine;
};

// Reads the section into *out (defaults stay for absent keys). Problems are
// recorded in the section's document (reported by Document::Finish()).
// `base_dir` resolves relative rule paths.
void ReadDetectOptions(config::Section section, const std::string& base_dir, DetectOptions* out);

// Expands rule file patterns ("dir/*.rules") into sorted file lists.
// kNotFound when a plain path does not exist or a pattern matches nothing.
Result<std::vector<std::string>> ExpandRuleFiles(const std::vector<std::string>& patterns);

// Loads the variables, classification table and every rule file, then
// builds the engine. Rule problems go to *report (never fatal); an
// unreadable rule file, a bad variable or classification file, or a
// Vectorscan failure is an error.
Result<std::unique_ptr<Engine>> BuildEngine(const DetectOptions& options, LoadReport* report);

}  // namespace rampart::detect
