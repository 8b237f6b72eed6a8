#pragma once
// The controller's configuration file (controller.yaml).
//
//   controller:
//     name: dc-01
//     data_dir: /var/lib/rampart-controller
//     log: {level: info, format: text, file: ""}

#include <string>

#include "common/log/log.h"
#include "common/status/status.h"

namespace rampart::controller {

struct ControllerConfig {
  std::string name;                                       // Host name if empty.
  std::string data_dir = "/var/lib/rampart-controller";   // Stores, CA, outboxes.
  log::Options log;
};

// kInvalidArgument listing every problem; kNotFound when the file is missing.
Result<ControllerConfig> LoadControllerConfig(const std::string& path);

}  // namespace rampart::controller
