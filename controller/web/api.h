#pragma once
// The REST JSON API and the static UI behind the HTTPS server (docs/API.md).
// Every request is authenticated by the session cookie except login and the
// static assets; every change needs the session's CSRF token in
// X-CSRF-Token, a role that allows it, and is written to the audit log.
// Users scoped to sites see only those sites' alerts, agents and links.
//
// Thread-safe: Handle() and AuthorizeFeed() run on the server's I/O threads.

#include <expected>
#include <memory>
#include <string>

#include "common/util/clock.h"
#include "controller/web/http.h"
#include "controller/web/server.h"

namespace rampart::auth {
class AccessControl;
}
namespace rampart::controller_store {
class Store;
struct EventSummary;
struct LinkChange;
}  // namespace rampart::controller_store
namespace rampart::notify {
class Notifier;
}

namespace rampart::web {

class TriageStore;

struct ApiOptions {
  std::string ui_dir;  // index.html, app.js, app.css, i18n.js.
  // Chart.js as Debian ships it (libjs-chart.js), served at /vendor/chart.js.
  std::string chart_js = "/usr/share/javascript/chart.js/chart.min.js";
  // The CA's revocation list (rampartctl pki init writes ca.crl), served at
  // /pki/ca.crl, where the server certificate's CRL distribution point
  // points. Empty: 404.
  std::string crl_file;
  // Rows the dashboard aggregates at most (newest first); bounds its cost.
  size_t dashboard_max_alerts = 20000;
};

struct ApiDeps {
  auth::AccessControl* access = nullptr;       // Required.
  controller_store::Store* store = nullptr;    // Required.
  TriageStore* triage = nullptr;               // Required.
  notify::Notifier* notifier = nullptr;        // Optional: settings show targets when set.
  const Clock* clock = &SystemClock();
};

class Api {
 public:
  Api(ApiOptions options, ApiDeps deps);
  ~Api();

  HttpResponse Handle(const HttpRequest& request);
  // The feed's filter for the session's user (their sites), or 401/403.
  std::expected<FeedFilter, HttpResponse> AuthorizeFeed(const HttpRequest& request);

  // What the live feed sends for a new alert / a link or agent change.
  static FeedMessage AlertMessage(const controller_store::EventSummary& alert);
  static FeedMessage LinkMessage(const controller_store::LinkChange& change);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rampart::web
