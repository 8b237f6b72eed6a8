// Any bytes as QUIC datagrams (length-prefixed): header parsing, key
// derivation, decryption attempts and CRYPTO reassembly stay in bounds.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "agent/applayer/quic.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rampart::applayer::QuicParser q;
  std::vector<rampart::applayer::TlsEvent> events;
  size_t pos = 0;
  while (pos + 2 <= size) {
    const size_t len = static_cast<size_t>(data[pos]) << 8 | data[pos + 1];
    pos += 2;
    const size_t n = std::min(len, size - pos);
    bool progressed = false;
    (void)rampart::applayer::LooksLikeQuicInitial(data + pos, n);
    q.Feed(0, data + pos, n, &progressed, &events);
    pos += n;
  }
  return 0;
}
