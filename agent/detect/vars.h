#pragma once
// Rule variables ($HOME_NET, $HTTP_PORTS, ...) with Suricata's default
// values (those of its stock suricata.yaml), which the agent's configuration
// may override or extend (agent.detect.vars), and the classification table
// (classification.config) that gives classtypes their text and priority.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "agent/detect/address.h"
#include "common/status/status.h"

namespace rampart::detect {

class RuleVars {
 public:
  // Suricata's defaults: HOME_NET [192.168.0.0/16,10.0.0.0/8,172.16.0.0/12],
  // EXTERNAL_NET !$HOME_NET, the *_SERVERS groups, HTTP_PORTS 80, ...
  static RuleVars Defaults();

  // Sets or replaces a variable; the name is given without '$'.
  void Set(std::string_view name, std::string_view value);
  std::optional<std::string> Get(std::string_view name) const;
  // Checks that every variable parses as an address or a port group and
  // that no variable refers to an undefined one; one message per problem.
  Status Validate() const;
  VarLookup Lookup() const;
  const std::map<std::string, std::string, std::less<>>& all() const { return vars_; }

 private:
  std::map<std::string, std::string, std::less<>> vars_;
};

struct ClassInfo {
  std::string name;
  std::string description;
  int priority = 3;
};

class Classifications {
 public:
  // Lines "config classification: name,description,priority"; comments and
  // blank lines are skipped. A malformed line is an error naming FILE:LINE.
  static Result<Classifications> Load(const std::string& path);
  static Result<Classifications> Parse(std::string_view text, std::string_view name);
  // Suricata's built-in table, used when no file is configured.
  static Classifications Builtin();

  const ClassInfo* Find(std::string_view name) const;
  size_t size() const { return classes_.size(); }

 private:
  std::map<std::string, ClassInfo, std::less<>> classes_;
};

}  // namespace rampart::detect
