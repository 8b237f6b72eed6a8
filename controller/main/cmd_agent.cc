// rampartctl agent list|revoke: enrolled agents.

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

Command AddAgentCommand(CLI::App& app) {
  struct Flags {
    Where where;
    std::string site;
    std::string agent;
    std::string reason;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* agent = app.add_subcommand("agent", "Enrolled agents");
  agent->require_subcommand(1);
  CLI::App* list = agent->add_subcommand("list", "Agents with state, health and ingest counters");
  list->add_option("--site", f->site, "Only this site's agents");
  AddWhere(list, &f->where);
  CLI::App* revoke = agent->add_subcommand("revoke", "Refuse an agent from now on and end its live stream");
  revoke->add_option("id", f->agent, "Agent id (a-...)")->required();
  revoke->add_option("--reason", f->reason, "Recorded in the log");
  AddWhere(revoke, &f->where);
  return {agent, [f, list, revoke]() -> int {
            if (list->parsed()) {
              return PrintList(Client(f->where)->List(fleet::ListWhat::kAgents, f->site), f->where.json,
                               {{"AGENT", "id"}, {"NAME", "name"}, {"SITE", "site"}, {"STATE", "state"},
                                {"CONNECTED", "connected"}, {"STORED", "events_stored"}, {"QUEUE", "queue"},
                                {"LAST_SEEN", "last_seen"}, {"VERSION", "version"}},
                               [](const json& row, const char* key) -> std::string {
                                 if (std::string(key) == "queue") return Str(row["health"], "queue_depth");
                                 return Str(row, key);
                               });
            }
            if (revoke->parsed()) {
              Status s = Client(f->where)->RevokeAgent(f->agent, f->reason);
              if (!s.ok()) return Fail(s);
              std::printf("agent %s revoked\n", f->agent.c_str());
              return kExitOk;
            }
            return kExitUsage;
          }};
}

}  // namespace rampart::controller_cli
