// rampartctl events alerts|export: stored alerts and events.

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

Command AddEventsCommand(CLI::App& app) {
  struct Flags {
    Where where;
    std::string site;
    std::string agent;
    uint64_t from = 1;
    uint32_t limit = 50;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* events = app.add_subcommand("events", "Stored events and alerts");
  events->require_subcommand(1);
  CLI::App* alerts = events->add_subcommand("alerts", "Newest alerts");
  alerts->add_option("--site", f->site, "Only this site");
  alerts->add_option("--agent", f->agent, "Only this agent");
  alerts->add_option("--limit", f->limit, "Rows")->check(CLI::Range(1, 1000));
  AddWhere(alerts, &f->where);
  CLI::App* exp = events->add_subcommand("export", "Every stored event of an agent, in sequence order, as JSON lines");
  exp->add_option("--agent", f->agent, "Agent id")->required();
  exp->add_option("--from", f->from, "First sequence");
  AddWhere(exp, &f->where);
  return {events, [f, alerts, exp]() -> int {
            if (alerts->parsed()) {
              return PrintList(Client(f->where)->List(fleet::ListWhat::kAlerts, f->site, f->agent, 0, 0, f->limit),
                               f->where.json,
                               {{"ID", "id"}, {"SEVERITY", "severity"}, {"SITE", "site"}, {"SIGNATURE", "signature"},
                                {"SRC", "src_ip"}, {"DEST", "dest_ip"}});
            }
            if (exp->parsed()) {
              Status s = Client(f->where)->Export(f->agent, f->from, [](std::string_view lines) {
                std::fwrite(lines.data(), 1, lines.size(), stdout);
              });
              if (!s.ok()) return Fail(s);
              return kExitOk;
            }
            return kExitUsage;
          }};
}

}  // namespace rampart::controller_cli
