// Any bytes as a UDP datagram to the controller's link-probe reflector, or
// as a reply to the agent's prober (common/probe/link_probe.h): parsing and
// MAC checks never crash, and a packet whose MAC verifies under the fuzzed
// key yields a reply that verifies too.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/probe/link_probe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The agent's side reads any bytes as a reply.
  (void)rampart::link_probe::ParseReply("fuzz key", "a-fuzz", data, size);
  std::vector<uint8_t> buf(data, data + size);
  const auto req = rampart::link_probe::ParseRequest(buf.data(), buf.size());
  if (!req) return 0;
  if (req->body_size + 16 != buf.size()) std::abort();
  const std::string key = rampart::link_probe::DeriveKey("fuzz secret", req->agent_id);
  if (rampart::link_probe::MacValid(key, buf.data(), req->body_size)) {
    rampart::link_probe::MakeReply(key, buf.data(), req->body_size, 1, 2);
    if (!rampart::link_probe::MacValid(key, buf.data(), req->body_size)) std::abort();
    if (!rampart::link_probe::ParseReply(key, req->agent_id, buf.data(), buf.size())) std::abort();
  }
  return 0;
}
