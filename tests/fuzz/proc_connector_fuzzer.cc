// Any bytes as a datagram from the netlink process connector: the parser
// never reads out of bounds, and never yields more events than whole
// netlink headers fit in the datagram.

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "agent/host/procfs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uint64_t malformed = 0;
  const auto events = rampart::host::ParseProcConnectorDatagram(std::span<const uint8_t>(data, size), &malformed);
  if (events.size() > size / NLMSG_HDRLEN) std::abort();
  return 0;
}
