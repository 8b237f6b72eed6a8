#pragma once
// The controller's configuration file (controller.yaml).
//
//   controller:
//     name: dc-01
//     data_dir: /var/lib/rampart-controller
//     log: {level: info, format: text, file: ""}
//     web: {address: 0.0.0.0, port: 8443, cert_file: ..., key_file: ...}   # UI + API (optional)
//     notify: {targets: [...], routes: [...]}                             # alert routing (optional)
//     agents: {listen: 0.0.0.0:4317, ...}   # agent port, links, admin socket:
//     links: {...}                          #   controller/runtime/agent_services.h
//     store: {retention: 90d, alert_retention: 365d, sync: true, writer_threads: 2}

#include <string>

#include "common/log/log.h"
#include "common/status/status.h"
#include "controller/dispatch/dispatcher.h"
#include "controller/notify/notify.h"
#include "controller/runtime/agent_services.h"
#include "controller/store/store.h"
#include "controller/web/service.h"

namespace rampart::controller {

struct ControllerConfig {
  std::string name;                                       // Host name if empty.
  std::string data_dir = "/var/lib/rampart-controller";   // Stores, CA, outboxes.
  log::Options log;
  web::WebOptions web;        // Enabled when the `web` section is present.
  notify::Options notify;     // Targets and routes; none when absent.
  controller_store::Options store;    // `store`; path: DATA_DIR/store.
  dispatch::Options dispatch;        // Defaults (not configurable).
  AgentServicesConfig agents;        // agents, links, admin_socket (agent_services.h).
};

// kInvalidArgument listing every problem; kNotFound when the file is missing.
Result<ControllerConfig> LoadControllerConfig(const std::string& path);

}  // namespace rampart::controller
