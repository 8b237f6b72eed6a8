// Any sequence of IP packets (length-prefixed) through the decoder and the
// defragmenter with a small memory cap; rebuilt datagrams are decoded too.

#include <cstddef>
#include <cstdint>

#include "agent/decode/decoder.h"
#include "agent/decode/defrag.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rampart::decode::Decoder dec(rampart::capture::LinkType::kRawIp, {});
  rampart::decode::DefragOptions o;
  o.memcap = 64 * 1024;
  o.max_fragments = 64;
  o.timeout_nanos = 5'000'000'000;
  rampart::decode::Defragmenter defrag(o);
  size_t pos = 0;
  int64_t ts = 0;
  while (pos + 3 <= size) {
    const size_t len = static_cast<size_t>(data[pos]) << 8 | data[pos + 1];
    ts += static_cast<int64_t>(data[pos + 2]) * 100'000'000;  // Up to 25 s between packets.
    pos += 3;
    const size_t n = len < size - pos ? len : size - pos;
    rampart::capture::Frame f;
    f.bytes = {data + pos, n};
    f.wire_length = static_cast<uint32_t>(n);
    f.timestamp_nanos = ts;
    pos += n;
    rampart::decode::Packet p;
    dec.Decode(f, &p);
    if (!p.fragment) continue;
    rampart::decode::Event ev;
    bool has_ev = false;
    auto whole = defrag.Add(p, &ev, &has_ev);
    if (!whole.empty()) {
      rampart::decode::Packet r = p;
      dec.DecodeReassembled(whole, &r);
    }
  }
  defrag.Expire(ts + 100'000'000'000);
  return 0;
}
