// Any bytes as the two directions of an HTTP connection, split into chunks
// (with gaps) as the first bytes say; bodies kept and decompressed.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "agent/applayer/http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  rampart::applayer::HttpOptions o;
  o.body_limit = (data[0] & 1) ? 4096 : 0;
  o.max_txs = 16;
  rampart::applayer::HttpParser p(o);
  std::vector<rampart::applayer::HttpTx*> progressed;
  std::vector<rampart::applayer::HttpEvent> events;
  size_t pos = 1;
  while (pos < size) {
    const uint8_t ctl = data[pos++];
    const size_t n = std::min<size_t>(1 + ctl / 4, size - pos);
    p.Feed(ctl & 1, data + pos, n, (ctl & 2) != 0 && (ctl & 0x40) != 0, &progressed, &events);
    for (auto* t : progressed) {
      t->progressed = 0;
      (void)t->Method();
      (void)t->UriNormalized();
      (void)t->Host();
      (void)t->request.Header("Host");
      if (t->ResponseComplete()) t->logged = true;
    }
    progressed.clear();
    p.Prune();
    pos += n;
  }
  p.Close(&progressed);
  (void)rampart::applayer::ClassifyHttpStart(data, size);
  return 0;
}
