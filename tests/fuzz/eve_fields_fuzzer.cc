// Any bytes as an EVE line for the agent's spool: the envelope reader
// (agent/store/eve_fields.h) never crashes, and what it accepts is one JSON
// object (checked against nlohmann's parser) with valid UTF-8 text fields.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "agent/store/eve_fields.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  rampart::agent_store::EveFields f;
  const bool ok = rampart::agent_store::ParseEveFields(line, &f);
  if (ok) {
    // Accepted lines are JSON objects for a strict parser too (which may
    // still refuse raw control characters or bad UTF-8 inside strings, that
    // the reader tolerates, so only the opposite direction is checked).
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && !j.is_object()) std::abort();
  }
  (void)rampart::agent_store::ParseEveTimestamp(line.substr(0, 64));
  return 0;
}
