// rampart-agent enroll: trades a one-time token for this agent's
// certificate (agent/ship/identity.h does the work).

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "agent/main/commands.h"
#include "agent/runtime/agent_config.h"
#include "agent/ship/identity.h"
#include "common/tls/files.h"
#include "common/util/build_info.h"

namespace rampart::agent_cli {
namespace {

struct EnrollArgs {
  std::string controller;
  std::string token;
  std::string token_file;
  std::string ca_sha256;
  std::string config;
  std::string data_dir;
  std::string name;
  std::string server_name;
};

int RunEnroll(const EnrollArgs& a) {
  ship::EnrollOptions o;
  o.controller = a.controller;
  o.ca_sha256 = a.ca_sha256;
  o.server_name = a.server_name;
  o.version = VersionLine("rampart-agent");
  o.token = a.token;
  if (!a.token_file.empty()) {
    auto t = tls::ReadFile(a.token_file);
    if (!t) {
      std::fprintf(stderr, "rampart-agent enroll: %s\n", t.error().message().c_str());
      return kExitFailure;
    }
    o.token = *t;
    while (!o.token.empty() && (o.token.back() == '\n' || o.token.back() == '\r' || o.token.back() == ' ')) {
      o.token.pop_back();
    }
  }
  o.data_dir = a.data_dir;
  o.hostname = a.name;
  if (!a.config.empty()) {
    auto cfg = agent::LoadAgentConfig(a.config);
    if (!cfg) {
      std::fprintf(stderr, "rampart-agent enroll: %s\n", cfg.error().message().c_str());
      return kExitBadConfig;
    }
    if (o.data_dir.empty()) o.data_dir = cfg->data_dir;
    if (o.hostname.empty()) o.hostname = cfg->name;
  }
  if (o.data_dir.empty()) o.data_dir = "/var/lib/rampart-agent";
  auto id = ship::Enroll(o);
  if (!id) {
    std::fprintf(stderr, "rampart-agent enroll: %s\n", id.error().ToString().c_str());
    switch (id.error().code()) {
      case StatusCode::kUnavailable:
      case StatusCode::kDeadlineExceeded: return kExitUnavailable;
      case StatusCode::kInvalidArgument: return kExitUsage;
      default: return kExitFailure;
    }
  }
  std::printf("enrolled: agent %s, site %s, controller %s\ncertificate valid until %s\n", id->agent_id.c_str(),
              id->site.c_str(), id->controller.c_str(),
              FormatRfc3339(id->not_after_unix_seconds * 1'000'000'000).c_str());
  return kExitOk;
}

}  // namespace

Command AddEnrollCommand(CLI::App& app) {
  auto a = std::make_shared<EnrollArgs>();
  CLI::App* cmd = app.add_subcommand("enroll", "Enrol this agent with a controller using a one-time token");
  cmd->add_option("--controller", a->controller, "The controller's agent port, HOST:PORT")->required();
  auto* token = cmd->add_option("--token", a->token, "One-time token from `rampartctl token create`");
  auto* token_file = cmd->add_option("--token-file", a->token_file, "File holding the token (keeps it out of ps)");
  token->excludes(token_file);
  cmd->add_option("--ca-sha256", a->ca_sha256,
                  "SHA-256 fingerprint of the controller's CA (`rampartctl pki fingerprint`); hex, colons allowed")
      ->required();
  cmd->add_option("-c,--config", a->config, "Agent configuration (for data_dir and name)")->check(CLI::ExistingFile);
  cmd->add_option("--data-dir", a->data_dir, "Where the identity is kept (default: the config's data_dir)");
  cmd->add_option("--name", a->name, "Name shown in the controller (default: the config's name or host name)");
  cmd->add_option("--server-name", a->server_name,
                  "Name in the controller's certificate, when it differs from the HOST given");
  return {cmd, [a, token, token_file] {
            if (token->count() == 0 && token_file->count() == 0) {
              std::fprintf(stderr, "rampart-agent enroll: give --token or --token-file\n");
              return kExitUsage;
            }
            return RunEnroll(*a);
          }};
}

}  // namespace rampart::agent_cli
