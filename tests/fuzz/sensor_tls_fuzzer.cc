// Any bytes as the two directions of a TLS connection in chunks, and as a
// certificate for the X.509 field extraction.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "agent/applayer/tls.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rampart::applayer::TlsParser p;
  std::vector<rampart::applayer::TlsEvent> events;
  size_t pos = 0;
  while (pos < size) {
    const uint8_t ctl = data[pos++];
    const size_t n = std::min<size_t>(1 + ctl, size - pos);
    bool progressed = false;
    p.Feed(ctl & 1, data + pos, n, (ctl & 0x80) != 0 && (ctl & 0x40) != 0, &progressed, &events);
    pos += n;
  }
  rampart::applayer::TlsInfo info;
  (void)rampart::applayer::ParseCertificate(data, size, &info);
  (void)rampart::applayer::ParseClientHello(data, size, &info, &events);
  return 0;
}
