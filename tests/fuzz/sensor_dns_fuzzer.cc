// Any bytes as a DNS message, and as DNS-over-TCP framing through the app layer.

#include <cstddef>
#include <cstdint>

#include "agent/applayer/dns.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rampart::applayer::DnsMessage m;
  rampart::applayer::DnsProblem problem;
  (void)rampart::applayer::ParseDnsMessage(data, size, &m, &problem);
  (void)rampart::applayer::LooksLikeDns(data, size);
  for (const auto& q : m.questions) (void)rampart::applayer::DnsTypeName(q.type);
  return 0;
}
