#pragma once
// Packet sources: capture files (pcap, pcapng, gzip-compressed either way)
// and live interfaces through libpcap (TPACKET_V3 ring, BPF filter,
// configurable kernel buffer).
//
// A source hands out frames in batches. A batch is one buffer of the
// source's pool with the frames that were read into it; frame bytes are not
// copied again after that (classic pcap files are read straight into the
// batch buffer; libpcap's own buffers, which are reused on the next call,
// are copied into it once). A batch stays valid until it has been released
// as many times as Retain() said, from any thread, which lets the reader
// thread share one batch among several workers without copying. When every
// buffer is in use, Next() waits for a release: that is the back-pressure
// that bounds memory.
//
// Threads: one thread calls Next(); Stop() and FrameBatch::Release() may be
// called from any thread.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/metrics/counters.h"
#include "common/status/status.h"

namespace rampart::capture {

// Link layers the decoder understands. Other link types are refused when
// the source is opened, with their name in the message.
enum class LinkType : uint8_t {
  kEthernet,   // DLT_EN10MB (802.1Q / QinQ tags are handled by the decoder).
  kRawIp,      // DLT_RAW / LINKTYPE_RAW: IPv4 or IPv6 by the version nibble.
  kIpv4,       // LINKTYPE_IPV4.
  kIpv6,       // LINKTYPE_IPV6.
  kLinuxSll,   // Linux cooked capture v1.
  kLinuxSll2,  // Linux cooked capture v2.
  kNull,       // BSD loopback, host-order 4-byte address family.
  kLoop,       // OpenBSD loopback, network-order address family.
};

std::string_view LinkTypeName(LinkType type);

struct Frame {
  int64_t timestamp_nanos = 0;    // Capture time, Unix epoch.
  std::span<const uint8_t> bytes; // Captured bytes; valid while the batch is.
  uint32_t wire_length = 0;       // Original length (bytes may be shorter: snap length).
  uint64_t number = 0;            // 1-based position in the capture.
};

class BufferPool;

// Frames read into one pooled buffer.
class FrameBatch {
 public:
  std::span<const Frame> frames() const { return {frames_.data(), frames_.size()}; }
  // Index of this batch's buffer in the pool, 0 .. pool size - 1 (callers
  // may keep per-buffer scratch indexed by it).
  int index() const { return index_; }
  // Sets how many Release() calls return the buffer to the pool (default 1).
  // Call before handing the batch to other threads.
  void Retain(int count) { refs_.store(count, std::memory_order_relaxed); }
  // Thread-safe; the last release returns the buffer to the pool.
  void Release();

 private:
  friend class BufferPool;
  friend class SourceBase;
  std::vector<uint8_t> buffer_;
  size_t used_ = 0;
  std::vector<Frame> frames_;
  std::atomic<int> refs_{0};
  int index_ = 0;
  BufferPool* pool_ = nullptr;
};

// The kernel's figures exist in live capture only (pcap_stats ps_recv,
// ps_drop, ps_ifdrop); the stats record reports them only then.
#define RAMPART_CAPTURE_COUNTERS(X)                                                                  \
  X(kCounter, packets, "", "frames handed out")                                                     \
  X(kCounter, bytes, "", "captured bytes of those frames")                                          \
  X(kCounter, kernel_packets, "capture.kernel_packets", "packets the kernel received for the capture") \
  X(kCounter, kernel_drops, "capture.kernel_drops", "packets dropped because the capture buffer was full") \
  X(kCounter, interface_drops, "capture.kernel_ifdrops", "packets dropped by the interface or its driver")

struct SourceStats {
  RAMPART_COUNTERS(SourceStats, "capture", RAMPART_CAPTURE_COUNTERS)
};

class PacketSource {
 public:
  virtual ~PacketSource() = default;
  // The next batch, or nullptr at the end of a file or after Stop(). A live
  // source returns at least every Options::poll_interval, possibly with an
  // empty batch, so the caller can do timed work. An error (truncated or
  // corrupt file, interface gone) comes after every frame before it was
  // handed out; its message says where.
  virtual Result<FrameBatch*> Next() = 0;
  // Makes Next() return nullptr soon (within one poll interval).
  virtual void Stop() = 0;
  virtual LinkType link_type() const = 0;
  virtual SourceStats Stats() = 0;
  // "file FILE" or "interface eth0", for messages.
  virtual std::string Describe() const = 0;
};

struct FileOptions {
  // Buffers of the pool and their size. A frame never spans buffers, so a
  // buffer must hold the largest frame (256 KiB); memory = count * size.
  // One reader and N workers need about 2 + 2N buffers to stay busy.
  int buffers = 4;
  size_t buffer_size = 1 << 20;
};

// Opens a capture file: classic pcap (micro- or nanosecond, either byte
// order) is read directly; pcapng through libpcap; either may be gzip
// compressed. kNotFound / kPermissionDenied for the file, kInvalidArgument
// when it is not a capture file, kUnimplemented for a link type the decoder
// does not handle ("link type 127 (IEEE802_11_RADIOTAP) is not supported").
Result<std::unique_ptr<PacketSource>> OpenFile(const std::string& path, const FileOptions& options = {});

struct LiveOptions {
  std::string interface;          // "eth0"; "any" captures on all interfaces (Linux cooked).
  int snap_length = 65535;        // Bytes kept per frame; lower saves memory, loses payload.
  bool promiscuous = true;        // See traffic not addressed to this host.
  // Kernel ring size (TPACKET_V3 blocks). Bigger absorbs longer bursts
  // before the kernel drops.
  size_t buffer_bytes = 32u << 20;
  // Deliver each packet at once. libpcap then uses TPACKET_V2 (it does not
  // combine immediate mode with TPACKET_V3), which costs more per packet;
  // off, packets arrive in TPACKET_V3 blocks within `poll_interval_ms`.
  bool immediate = false;
  std::string bpf_filter;         // Empty captures everything. Compiled at open.
  int poll_interval_ms = 100;     // Longest wait inside Next().
  int buffers = 8;                // Pool of batch buffers (see FileOptions).
  size_t buffer_size = 1 << 20;
};

// Opens a live interface. kPermissionDenied without CAP_NET_RAW,
// kNotFound for an unknown interface, kInvalidArgument for a bad filter
// (with libpcap's text), kUnimplemented for an unsupported link type.
Result<std::unique_ptr<PacketSource>> OpenLive(const LiveOptions& options);

}  // namespace rampart::capture
