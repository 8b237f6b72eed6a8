// rampartctl site add|list|history: sites (agencies) and their WAN links.

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

Command AddSiteCommand(CLI::App& app) {
  struct Flags {
    Where where;
    std::string site;
    std::string description;
    std::string since = "1h";
  };
  auto f = std::make_shared<Flags>();
  CLI::App* site = app.add_subcommand("site", "Sites (agencies) and their WAN links");
  site->require_subcommand(1);
  CLI::App* add = site->add_subcommand("add", "Create a site");
  add->add_option("site", f->site, "Site id: a-z, 0-9 and '-'")->required();
  add->add_option("--description", f->description, "Free text, e.g. the agency's name");
  AddWhere(add, &f->where);
  CLI::App* list = site->add_subcommand("list", "Sites with their link state");
  AddWhere(list, &f->where);
  CLI::App* history = site->add_subcommand("history", "A site's link history");
  history->add_option("site", f->site, "Site id")->required();
  history->add_option("--since", f->since, "How far back (10m, 24h, 30d)");
  AddWhere(history, &f->where);
  return {site, [f, add, list, history]() -> int {
            if (add->parsed()) {
              Status s = Client(f->where)->CreateSite(f->site, f->description);
              if (!s.ok()) return Fail(s);
              std::printf("site %s created\n", f->site.c_str());
              return kExitOk;
            }
            if (list->parsed()) {
              return PrintList(Client(f->where)->List(fleet::ListWhat::kSites), f->where.json,
                               {{"SITE", "id"}, {"LINK", "state"}, {"SINCE", "since"}, {"AGENTS", "agents"},
                                {"UP", "agents_up"}, {"LOSS", "loss"}, {"RTT_MS", "rtt"}, {"REASON", "reason"}},
                               [](const json& row, const char* key) -> std::string {
                                 const json& link = row["link"];
                                 const std::string k = key;
                                 char buf[32];
                                 if (k == "state" || k == "since" || k == "reason") return Str(link, key);
                                 if (k == "loss") {
                                   std::snprintf(buf, sizeof(buf), "%.1f%%",
                                                 100 * link["metrics"].value("loss_ratio", 0.0));
                                   return buf;
                                 }
                                 if (k == "rtt") {
                                   std::snprintf(buf, sizeof(buf), "%.1f", link["metrics"].value("rtt_ms", 0.0));
                                   return buf;
                                 }
                                 return Str(row, key);
                               });
            }
            if (history->parsed()) {
              auto since = ParseDuration(f->since);
              if (!since) return Fail(since.error().WithContext("--since"));
              const int64_t now = WallNanos();
              const int64_t from = now - static_cast<int64_t>(since->count()) * 1'000'000;
              return PrintList(Client(f->where)->List(fleet::ListWhat::kLinkHistory, f->site, {}, from, now, 500),
                               f->where.json,
                               {{"START", "start"}, {"SECONDS", "duration_seconds"}, {"WORST", "worst"},
                                {"AVAILABILITY", "availability"}, {"LOSS", "loss_ratio"}, {"RTT_MS", "rtt_ms_avg"},
                                {"JITTER_MS", "jitter_ms"}});
            }
            return kExitUsage;
          }};
}

}  // namespace rampart::controller_cli
