#pragma once
// The agent daemon: `rampart-agent run --config FILE`.

#include "agent/runtime/agent_config.h"
#include "common/status/status.h"

namespace rampart::agent {

// Prepares the data directory, starts every enabled component and blocks
// until ShutdownRequested() (common/util/shutdown.h); then stops them in
// reverse order. Returns the first error that stopped it, if any.
Status RunAgent(const AgentConfig& config);

}  // namespace rampart::agent
