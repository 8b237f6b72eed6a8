// Any sequence of segments and acknowledgments on one TCP stream: every
// delivered chunk lies within what was given, offsets only grow, and memory
// accounting returns to zero.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "agent/flow/tcp_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rampart::flow::ReassemblyMemory mem;
  mem.options.depth = 4096;
  mem.options.memcap = 16 * 1024;
  mem.options.max_pending = 2048;
  rampart::flow::TcpStream s;
  const uint32_t base = 0xfffff000;  // Close to the wrap.
  s.SetBase(base);
  std::vector<rampart::flow::StreamChunk> chunks;
  std::vector<rampart::flow::StreamEvent> events;
  uint64_t next = 0;
  size_t pos = 0;
  while (pos + 6 <= size) {
    const uint8_t op = data[pos];
    const uint32_t off = static_cast<uint32_t>(data[pos + 1]) << 8 | data[pos + 2];
    const uint32_t len = data[pos + 3] % 64;
    const uint32_t extra = data[pos + 4] % 16;  // Bytes missing from the capture.
    pos += 6;
    if (op % 5 == 0) {
      s.OnAck(base + off);
      continue;
    }
    const uint32_t have = static_cast<uint32_t>(std::min<size_t>(len, size - pos));
    chunks.clear();
    events.clear();
    if (op % 5 == 1) {
      s.Flush(mem, &chunks, &events);
    } else {
      s.AddSegment(base + off - 256, data + pos, have, have + extra, mem, &chunks, &events);
    }
    for (const auto& c : chunks) {
      if (c.offset < next) abort();  // Delivery never goes back.
      next = c.offset + c.len;
      volatile uint8_t sink = 0;
      for (uint32_t i = 0; i < c.len; ++i) sink = static_cast<uint8_t>(sink ^ c.data[i]);
    }
    pos += have;
  }
  s.Release(mem);
  if (mem.used != 0) abort();
  return 0;
}
