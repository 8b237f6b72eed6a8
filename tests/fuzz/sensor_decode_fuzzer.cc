// Any bytes as a captured frame of each link type: the decoder, tunnels it
// opens and the dispatch hash never read outside the frame or crash.

#include <cstddef>
#include <cstdint>

#include "agent/decode/decoder.h"

using rampart::capture::LinkType;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const LinkType kLinks[] = {LinkType::kEthernet, LinkType::kRawIp,    LinkType::kIpv4, LinkType::kIpv6,
                                    LinkType::kLinuxSll, LinkType::kLinuxSll2, LinkType::kNull, LinkType::kLoop};
  const LinkType link = kLinks[data[0] % 8];
  rampart::decode::DecoderOptions o;
  o.all_checksums = (data[0] & 0x80) != 0;
  rampart::decode::Decoder d(link, o);
  rampart::capture::Frame f;
  f.bytes = {data + 1, size - 1};
  f.wire_length = static_cast<uint32_t>(size - 1);
  rampart::decode::Packet p, inner[rampart::decode::Decoder::kMaxTunnelDepth + 1];
  d.Decode(f, &p);
  const rampart::decode::Packet* cur = &p;
  for (int i = 0; i <= rampart::decode::Decoder::kMaxTunnelDepth && cur->tunnel != rampart::decode::TunnelType::kNone;
       ++i) {
    d.DecodeInner(*cur, &inner[i]);
    cur = &inner[i];
  }
  (void)rampart::decode::DispatchHash(link, f.bytes);
  return 0;
}
