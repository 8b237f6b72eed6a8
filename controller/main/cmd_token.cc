// rampartctl token create|list: one-time enrolment tokens, through the
// running controller's admin socket (controller/fleet/admin.h).

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "common/util/build_info.h"
#include "common/util/clock.h"
#include "common/util/units.h"
#include "controller/main/admin_cli.h"
#include "controller/main/commands.h"

namespace rampart::controller_cli {

using nlohmann::json;

Command AddTokenCommand(CLI::App& app) {
  struct Flags {
    Where where;
    std::string site;
    std::string ttl = "24h";
    bool no_create_site = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* token = app.add_subcommand("token", "One-time enrolment tokens");
  token->require_subcommand(1);
  CLI::App* create = token->add_subcommand("create", "Create a token that enrols one agent into SITE");
  create->add_option("--site", f->site, "The site (agency) the agent will belong to")->required();
  create->add_option("--ttl", f->ttl, "How long the token stays valid (30m, 24h, 7d)");
  create->add_flag("--no-create-site", f->no_create_site, "Fail instead of creating a site that does not exist");
  AddWhere(create, &f->where);
  CLI::App* list = token->add_subcommand("list", "Tokens (only hash prefixes are stored)");
  AddWhere(list, &f->where);
  return {token, [f, create, list]() -> int {
            if (create->parsed()) {
              auto ttl = ParseDuration(f->ttl);
              if (!ttl) return Fail(ttl.error().WithContext("--ttl"));
              auto t = Client(f->where)->CreateToken(f->site, std::chrono::duration_cast<std::chrono::seconds>(*ttl),
                                                     !f->no_create_site);
              if (!t) return Fail(t.error());
              if (f->where.json) {
                json j = {{"token", t->token},
                          {"site", t->site},
                          {"expires", FormatRfc3339(t->expires_unix_nanos)},
                          {"ca_sha256", t->ca_sha256}};
                std::printf("%s\n", j.dump().c_str());
              } else {
                std::printf("%s\n", t->token.c_str());
                std::fprintf(stderr,
                             "site %s; valid until %s; use once:\n"
                             "  rampart-agent enroll --controller HOST:4317 --token %s --ca-sha256 %s\n",
                             t->site.c_str(), FormatRfc3339(t->expires_unix_nanos).c_str(), t->token.c_str(),
                             t->ca_sha256.c_str());
              }
              return kExitOk;
            }
            if (list->parsed()) {
              return PrintList(Client(f->where)->List(fleet::ListWhat::kTokens), f->where.json,
                               {{"HASH", "sha256_prefix"}, {"SITE", "site"}, {"EXPIRES", "expires"},
                                {"USED", "used"}, {"AGENT", "used_by"}});
            }
            return kExitUsage;
          }};
}

}  // namespace rampart::controller_cli
