// Any bytes as a capture file through the whole sensor: file reader
// (pcap, pcapng via libpcap, gzip), decoder, flows, reassembly, parsers and
// EVE output. Errors are fine; crashes, leaks and bad reads are not.

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/sensor/sensor.h"
#include "common/eve/sink.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd_create("pcap", 0);
  if (fd < 0) return 0;
  if (write(fd, data, size) != static_cast<ssize_t>(size)) {
    close(fd);
    return 0;
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  rampart::capture::FileOptions fo;
  fo.buffers = 2;
  auto src = rampart::capture::OpenFile(path, fo);
  if (src) {
    rampart::eve::MemorySink sink;
    rampart::sensor::SensorOptions o;
    o.flows.memcap = 256 * 1024;
    o.reassembly.memcap = 1 << 20;
    o.decoder.checksum_checks = false;
    auto sensor = rampart::sensor::Sensor::Create(o, (*src)->link_type(), &sink);
    if (sensor) (void)(*sensor)->Run(**src);
  }
  close(fd);
  return 0;
}
