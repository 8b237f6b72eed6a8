#pragma once
// The controller daemon: `rampart-controller run --config FILE`.

#include "common/status/status.h"
#include "controller/runtime/controller_config.h"

namespace rampart::controller {

// Prepares the data directory, starts every enabled service and blocks until
// ShutdownRequested(); then stops them in reverse order.
Status RunController(const ControllerConfig& config);

}  // namespace rampart::controller
