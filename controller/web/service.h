#pragma once
// The controller's web side, wired: the HTTPS server, the API and UI, the
// users database, triage state, the live feed (new alerts and link changes
// from the store's subscriptions) and the hand-off of the same events to
// the notifier's routing. controller/runtime starts one of these.
//
// Threads: the store calls the subscriptions on its writer thread; they
// only queue. One dispatcher thread publishes to the feed and submits to the
// notifier (whose Submit syncs RocksDB), so the writer never waits on them.

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

namespace rampart::web {

struct WebOptions {
  bool enabled = true;
  ServerOptions server;
  ApiOptions api;
  std::string data_dir;  // <controller data_dir>: auth/ and web/ go below it.
  // Events queued for the feed and notifications before new ones are
  // dropped (counted and logged): bounds memory when targets are slow.
  size_t max_queued = 100000;
};

// Reads `web:` (address, port, cert_file, key_file, threads, ui_dir, ...).
// Relative ui_dir defaults to share/rampart/ui beside the program's bin/.
void ReadOptions(config::Section section, WebOptions* out);

// The UI directory installed or built beside the running program
// (<prefix>/share/rampart/ui), used when ui_dir is not configured.
std::string DefaultUiDir();

class WebService {
 public:
  // `store` must outlive the service; `notifier` may be null.
  static Result<std::unique_ptr<WebService>> Start(const WebOptions& options, controller_store::Store& store,
                                                   notify::Notifier* notifier);
  virtual ~WebService() = default;
  virtual uint16_t port() const = 0;
  // Cancels the subscriptions, drains the dispatcher, stops the server.
  virtual void Stop() = 0;
};

}  // namespace rampart::web
