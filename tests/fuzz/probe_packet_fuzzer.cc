// Any bytes as a UDP datagram to the controller's link-probe reflector:
// parsing and MAC checks never crash, and a packet whose MAC verifies under
// the fuzzed key yields a reply that verifies too.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "controller/links/probe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> buf(data, data + size);
  const auto req = rampart::links::detail::ParseProbeRequest(buf.data(), buf.size());
  if (!req) return 0;
  if (req->body_size + 16 != buf.size()) std::abort();
  const std::string key = rampart::links::detail::DeriveProbeKey("fuzz secret", req->agent_id);
  if (rampart::links::detail::ProbeMacValid(key, buf.data(), req->body_size)) {
    rampart::links::detail::MakeProbeReply(key, buf.data(), req->body_size, 1, 2);
    if (!rampart::links::detail::ProbeMacValid(key, buf.data(), req->body_size)) std::abort();
  }
  return 0;
}
