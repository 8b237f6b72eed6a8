#pragma once
// The controller's web side, wired: the HTTPS server, the API and UI, the
// users database, triage state, and the live feed, which is one consumer of
// controller/dispatch (new alerts and link changes). controller/runtime
// starts one of these when `web` is configured; notifications do not depend
// on it (dispatch hands them to the notifier either way).
//
// Threads: the dispatcher thread publishes to the feed (non-blocking); the
// server's I/O threads run the API.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status/status.h"
#include "controller/web/api.h"
#include "controller/web/server.h"

namespace rampart::config {
class Section;
}
namespace rampart::dispatch {
class Dispatcher;
}

namespace rampart::web {

struct WebOptions {
  bool enabled = true;
  ServerOptions server;
  ApiOptions api;
  std::string data_dir;  // <controller data_dir>: auth/ and web/ go below it.
};

// Reads `web:` (address, port, cert_file, key_file, threads, ui_dir, ...).
// Relative ui_dir defaults to share/rampart/ui beside the program's bin/.
void ReadOptions(config::Section section, WebOptions* out);

// The UI directory installed or built beside the running program
// (<prefix>/share/rampart/ui), used when ui_dir is not configured.
std::string DefaultUiDir();

class WebService {
 public:
  // `store` (and its registry) must outlive the service. `notifier` may be
  // null (the settings page then lists no targets). The live feed is added
  // to `dispatcher` as a consumer; null: no live feed. The dispatcher must
  // outlive the service.
  static Result<std::unique_ptr<WebService>> Start(const WebOptions& options, controller_store::Store& store,
                                                   notify::Notifier* notifier, dispatch::Dispatcher* dispatcher);
  virtual ~WebService() = default;
  virtual uint16_t port() const = 0;
  // Leaves the dispatcher (the feed hears nothing more), stops the server.
  virtual void Stop() = 0;
};

}  // namespace rampart::web
