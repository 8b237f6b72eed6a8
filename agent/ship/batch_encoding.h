#pragma once
// Internal to agent/ship: the wire bytes of one AgentMessage{batch} written
// straight from the spool's serialized events (they are already
// rampart.v1.Event messages): no parse and re-serialize per event, and one
// buffer of the exact size. Exposed for the shipper and its unit test.

#include <cstdint>
#include <string>
#include <vector>

#include "agent/store/outbox.h"

namespace rampart::ship::detail {

// rampart.v1.AgentMessage{batch: EventBatch{events, backlog, gone, batch_id}}.
std::string EncodeBatch(const std::vector<agent_store::OutboxEntry>& entries, bool backlog,
                        const std::vector<agent_store::SeqRange>& gone, uint64_t batch_id);

}  // namespace rampart::ship::detail
