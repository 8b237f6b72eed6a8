#pragma once
// TCP reassembly of one direction of a connection.
//
// Bytes are numbered from the stream's base (offset 0 = the first byte
// after the SYN, or the first byte seen when the connection was picked up
// midstream). A segment that continues the in-order data is delivered at
// once, pointing into the packet (no copy); a segment ahead of it is copied
// and kept until the hole before it fills.
//
// Overlap policy (one, for every OS): the bytes that arrived first win.
// Bytes already delivered are never delivered again; a retransmission
// that differs from pending data raises reassembly_overlap_different_data.
//
// A hole is given up (a gap: delivery resumes after it, flagged) when the
// peer acknowledges data beyond it, when more than `max_pending` bytes wait
// behind it, or when the flow ends. A segment cut by the snap length is a
// gap from where the capture stopped.
//
// Depth: only the first `depth` bytes of each direction are delivered
// (reassembly_depth_reached once); the rest is counted, not kept.
//
// Memory for pending segments is charged to the worker's ReassemblyMemory;
// past its cap new out-of-order segments are dropped (and later become a
// gap).

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/metrics/counters.h"

namespace rampart::flow {

struct ReassemblyOptions {
  uint32_t depth = 1u << 20;           // Bytes per direction handed to the app layer (Suricata: 1 MiB).
  size_t memcap = 64u << 20;           // Pending out-of-order bytes per worker.
  uint32_t max_pending = 256u << 10;   // Pending bytes per direction before the first hole is skipped.
};

#define RAMPART_REASSEMBLY_COUNTERS(X)                                                              \
  X(kCounter, segments, "", "TCP segments with payload handed to reassembly")                      \
  X(kCounter, retransmissions, "", "segments whose bytes were all seen before")                    \
  X(kCounter, overlaps, "tcp.overlap", "segments overlapping bytes already held")                  \
  X(kCounter, overlap_diff_data, "tcp.overlap_diff_data", "overlaps whose bytes differ (first wins)") \
  X(kCounter, gaps, "tcp.reassembly_gap", "holes skipped in a stream")                             \
  X(kCounter, depth_reached, "tcp.stream_depth_reached", "streams that reached the reassembly depth") \
  X(kCounter, memcap_drops, "tcp.segment_memcap_drop", "segments dropped at the memory cap")       \
  X(kCounter, before_base, "", "segments entirely before the stream's base sequence")              \
  X(kCounter, out_of_window, "", "segments too far beyond the expected sequence")

struct ReassemblyCounters {
  RAMPART_COUNTERS(ReassemblyCounters, "reassembly", RAMPART_REASSEMBLY_COUNTERS)
};

// Per-worker accounting shared by every stream of the worker.
struct ReassemblyMemory {
  ReassemblyOptions options;
  size_t used = 0;
  size_t peak = 0;
  ReassemblyCounters counters;
};

// Stream anomalies, named as Suricata's stream events.
enum class StreamEvent : uint8_t {
  kRetransmission,          // stream.pkt_retransmission
  kOverlapDifferentData,    // stream.reassembly_overlap_different_data
  kSeqGap,                  // stream.reassembly_seq_gap
  kDepthReached,            // stream.reassembly_depth_reached
  kSegmentBeforeBaseSeq,    // stream.reassembly_segment_before_base_seq
  kSuspectedRstInject,      // stream.suspected_rst_inject (flow_table.h)
  kCount
};
const char* StreamEventName(StreamEvent e);

// In-order bytes handed to the app layer.
struct StreamChunk {
  const uint8_t* data = nullptr;
  uint32_t len = 0;
  uint64_t offset = 0;     // Stream offset of data[0].
  bool gap_before = false; // Bytes before this chunk are missing.
};

// EVE tcp.state names.
enum class TcpState : uint8_t {
  kNone, kSynSent, kSynRecv, kEstablished, kFinWait1, kFinWait2, kTimeWait, kCloseWait, kLastAck, kClosing, kClosed
};
const char* TcpStateName(TcpState s);

class TcpStream {
 public:
  TcpStream() = default;
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;
  ~TcpStream();

  bool has_base() const { return has_base_; }
  void SetBase(uint32_t seq) {
    base_seq_ = seq;
    has_base_ = true;
  }
  uint32_t base_seq() const { return base_seq_; }
  // The next in-order offset (bytes delivered or skipped as gaps so far).
  uint64_t next_offset() const { return next_; }
  bool depth_reached() const { return depth_reached_; }
  uint64_t pending_bytes() const { return pending_bytes_; }

  // Adds a segment of `seg_len` bytes at `seq`, of which the first
  // `captured` are in `data`. Appends what became in-order to *out (chunks
  // valid until the next call on this stream) and raised events to *events.
  void AddSegment(uint32_t seq, const uint8_t* data, uint32_t captured, uint32_t seg_len, ReassemblyMemory& mem,
                  std::vector<StreamChunk>* out, std::vector<StreamEvent>* events);
  // The peer acknowledged everything before `ack`: holes before it will not
  // fill. Remembered; the pending data behind such holes is delivered with
  // the next segment of this direction or at Flush().
  void OnAck(uint32_t ack);
  // Delivers everything pending, skipping holes (flow end).
  void Flush(ReassemblyMemory& mem, std::vector<StreamChunk>* out, std::vector<StreamEvent>* events);
  // Frees pending data (flow end after Flush, or when reassembly is not wanted).
  void Release(ReassemblyMemory& mem);

 private:
  struct Pending {
    uint64_t offset;
    std::vector<uint8_t> data;
  };

  int64_t Relative(uint32_t seq) const;  // Offset of `seq` (may be negative: before the base).
  void Deliver(const uint8_t* data, uint64_t offset, uint32_t len, bool gap, ReassemblyMemory& mem,
               std::vector<StreamChunk>* out, std::vector<StreamEvent>* events);
  void Insert(const uint8_t* data, uint64_t offset, uint32_t len, ReassemblyMemory& mem,
              std::vector<StreamEvent>* events);
  void DrainPending(ReassemblyMemory& mem, std::vector<StreamChunk>* out, std::vector<StreamEvent>* events,
                    bool skip_holes);
  void SkipTo(uint64_t offset, ReassemblyMemory& mem, std::vector<StreamEvent>* events);
  void SkipAckedHoles(ReassemblyMemory& mem, std::vector<StreamChunk>* out, std::vector<StreamEvent>* events);

  uint32_t base_seq_ = 0;
  bool has_base_ = false;
  bool depth_reached_ = false;
  bool gap_pending_ = false;  // The next delivered chunk follows a gap.
  uint64_t next_ = 0;
  uint64_t acked_ = 0;        // The peer has acknowledged everything before this offset.
  uint64_t pending_bytes_ = 0;
  std::vector<Pending> pending_;    // Sorted by offset, not overlapping.
  std::vector<Pending> delivered_;  // Kept until the next call (chunks point into them).
};

}  // namespace rampart::flow
