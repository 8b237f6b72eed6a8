#include <CLI/CLI.hpp>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include "common/util/build_info.h"
#include "common/util/ids.h"
#include "controller/auth/access.h"
#include "controller/main/commands.h"

namespace rampart::controller_cli {
namespace {

// The password from stdin: typed without echo on a terminal, or one line
// from a pipe (scripts). Never from the command line, where `ps` shows it.
std::string ReadPassword(const char* prompt) {
  std::string line;
  if (::isatty(STDIN_FILENO)) {
    std::fprintf(stderr, "%s", prompt);
    termios old{};
    ::tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::getline(std::cin, line);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fprintf(stderr, "\n");
  } else {
    std::getline(std::cin, line);
  }
  return line;
}

int Fail(const Status& s) {
  std::fprintf(stderr, "rampartctl: %s\n", s.ToString().c_str());
  if (s.code() == StatusCode::kUnavailable) {
    std::fprintf(stderr,
                 "rampartctl: the controller holds its user database while it runs; stop it first, or manage users "
                 "in the web UI (Settings)\n");
    return kExitUnavailable;
  }
  return kExitFailure;
}

struct Flags {
  std::string data_dir = "/var/lib/rampart-controller";
  std::string name;
  std::string role = "analyst";
  std::vector<std::string> sites;
  bool generate = false;
  bool enable = false;
};

int Run(const Flags& f, const std::string& what) {
  auth::Options o;
  o.path = f.data_dir + "/auth";
  auto ac = auth::AccessControl::Open(o);
  if (!ac) return Fail(ac.error());
  auth::AccessControl& access = **ac;
  auto audit = [&](const std::string& action, const std::string& detail) {
    (void)access.Audit({.actor = "rampartctl", .action = action, .target = f.name, .detail = detail});
  };
  if (what == "add" || what == "passwd") {
    std::string password;
    if (f.generate) {
      password = RandomToken(18);
    } else {
      password = ReadPassword("Password (at least 12 characters): ");
    }
    Status s;
    if (what == "add") {
      auto role = auth::ParseRole(f.role);
      if (!role) return Fail(role.error());
      s = access.AddUser({.name = f.name, .role = *role, .sites = f.sites}, password);
      if (s.code() == StatusCode::kAlreadyExists) {
        std::fprintf(stderr, "rampartctl: user '%s' already exists (use 'user passwd' to change the password)\n",
                     f.name.c_str());
        return 5;
      }
      if (s.ok()) audit("user.add", "role " + f.role);
    } else {
      s = access.SetPassword(f.name, password);
      if (s.ok()) audit("user.passwd", "");
    }
    if (!s.ok()) return Fail(s);
    if (f.generate) std::printf("%s\n", password.c_str());
    std::fprintf(stderr, "rampartctl: user '%s' %s\n", f.name.c_str(), what == "add" ? "added" : "password changed");
    return kExitOk;
  }
  if (what == "disable") {
    const Status s = access.SetDisabled(f.name, !f.enable);
    if (!s.ok()) return Fail(s);
    audit(f.enable ? "user.enable" : "user.disable", "");
    std::fprintf(stderr, "rampartctl: user '%s' %s\n", f.name.c_str(), f.enable ? "enabled" : "disabled");
    return kExitOk;
  }
  auto users = access.ListUsers();
  if (!users) return Fail(users.error());
  for (const auto& u : *users) {
    std::string sites;
    for (const auto& s : u.sites) sites += (sites.empty() ? "" : ",") + s;
    std::printf("%-24s %-8s %-9s %s\n", u.name.c_str(), std::string(auth::RoleName(u.role)).c_str(),
                u.disabled ? "disabled" : "active", sites.empty() ? "*" : sites.c_str());
  }
  return kExitOk;
}

}  // namespace

Command AddUserCommand(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  CLI::App* user = app.add_subcommand("user", "Users of the web UI (when the controller is stopped)");
  user->require_subcommand(1);
  user->fallthrough();  // --data-dir may follow the subcommand too.
  user->add_option("--data-dir", f->data_dir, "The controller's data_dir")->capture_default_str();
  CLI::App* add = user->add_subcommand("add", "Add a user; the password is read from stdin");
  add->add_option("name", f->name, "User name ([a-z0-9._-])")->required();
  add->add_option("--role", f->role, "viewer, analyst or admin")->capture_default_str();
  add->add_option("--site", f->sites, "Limit the user to this site (repeatable); default: every site");
  add->add_flag("--generate-password", f->generate, "Make a random password and print it once on stdout");
  CLI::App* passwd = user->add_subcommand("passwd", "Set a user's password (also lifts a lockout)");
  passwd->add_option("name", f->name, "User name")->required();
  passwd->add_flag("--generate-password", f->generate, "Make a random password and print it once on stdout");
  CLI::App* disable = user->add_subcommand("disable", "Disable a user; their sessions end");
  disable->add_option("name", f->name, "User name")->required();
  disable->add_flag("--enable", f->enable, "Enable the user again instead");
  CLI::App* list = user->add_subcommand("list", "List users");
  return {user, [f, add, passwd, disable, list]() -> int {
            if (add->parsed()) return Run(*f, "add");
            if (passwd->parsed()) return Run(*f, "passwd");
            if (disable->parsed()) return Run(*f, "disable");
            if (list->parsed()) return Run(*f, "list");
            return kExitUsage;
          }};
}

}  // namespace rampart::controller_cli
