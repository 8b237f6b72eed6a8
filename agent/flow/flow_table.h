#pragma once
// A worker's flow table: a flat open-addressing hash of flows (no
// allocation per packet), timeouts by protocol and state driven by packet
// time, and a cap on the number of flows (from a memory budget) with
// eviction of the least recently seen flow.
//
// Time: the table's clock is the latest packet timestamp it has seen (it
// never goes back, so a capture whose timestamps jump backwards does not
// resurrect or instantly expire flows). A flow times out when the clock
// passes its last packet by the timeout of its protocol and state.
//
// TCP: Track() runs the connection tracking and reassembly for a packet
// (flow state, both directions' streams) and returns the in-order bytes.
// A RST closes the session. When its receiver may have dropped it, the
// session can come back, as in Suricata (stream-tcp.c): a RST signed with
// TCP MD5 (RFC 2385) or TCP-AO (RFC 5925), whose key a monitor does not
// have, or a RST answering a SYN. If the sender of such a RST then sends
// anything but another RST, the RST was ignored by its peer or was forged
// by a third party: that packet raises stream.suspected_rst_inject and the
// session returns to its state before the RST (an evasion otherwise:
// detection would stop at a RST the endpoints ignored).
//
// One FlowTable per worker thread; the end callback runs on that thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "agent/decode/packet.h"
#include "agent/flow/flow.h"
#include "agent/flow/tcp_stream.h"
#include "common/metrics/counters.h"

namespace rampart::flow {

struct FlowTimeouts {
  // Seconds, Suricata's defaults.
  int tcp_new = 60;
  int tcp_established = 600;
  int tcp_closed = 60;
  int udp_new = 30;
  int udp_established = 300;
  int icmp_new = 30;
  int icmp_established = 300;
  int other_new = 30;
  int other_established = 300;
};

struct FlowTableOptions {
  // Budget for flows in this table; the flow cap is memcap / flow_cost.
  size_t memcap = 32u << 20;
  // Bytes one flow is assumed to cost (Flow, TCP session, parser and sensor
  // state on average).
  size_t flow_cost = 1024;
  FlowTimeouts timeouts;
  // Pick up TCP connections whose handshake was not seen (reassemble and
  // parse them). Suricata's default is off; tshark always dissects.
  bool midstream = true;
  // Packets added to a worker-local id counter make flow ids unique per worker.
  uint32_t worker = 0;
};

// Suricata counts TCP sessions and TCP flows apart; here they are the same
// count, reported at both paths, as are evictions (get_used, flows_evicted).
#define RAMPART_FLOW_COUNTERS(X)                                                                     \
  X(kCounter, created, "", "flows created")                                                         \
  X(kCounter, tcp, "flow.tcp tcp.sessions", "TCP flows created")                                    \
  X(kCounter, udp, "flow.udp", "UDP flows created")                                                 \
  X(kCounter, icmpv4, "flow.icmpv4", "ICMPv4 flows created")                                        \
  X(kCounter, icmpv6, "flow.icmpv6", "ICMPv6 flows created")                                        \
  X(kCounter, timeouts, "flow.mgr.flows_timeout", "flows ended by their idle timeout")              \
  X(kCounter, evicted, "flow.get_used flow.mgr.flows_evicted", "flows ended early to stay under the cap") \
  X(kCounter, tcp_reuse, "flow.tcp_reuse", "TCP flows replaced by a new connection on the same tuple") \
  X(kGauge, active, "", "flows in the table now")                                                   \
  X(kMax, peak_active, "", "most flows in one worker's table at once")                              \
  X(kCounter, midstream_pickups, "tcp.midstream_pickups", "TCP flows picked up without a handshake") \
  X(kCounter, syn, "tcp.syn", "TCP SYN segments")                                                   \
  X(kCounter, synack, "tcp.synack", "TCP SYN-ACK segments")                                         \
  X(kCounter, rst, "tcp.rst", "TCP RST segments")

struct FlowCounters {
  RAMPART_COUNTERS(FlowCounters, "flow", RAMPART_FLOW_COUNTERS)
};

// What TCP tracking did with one packet.
struct TcpResult {
  std::vector<StreamChunk> chunks;      // In-order bytes in the packet's direction.
  std::vector<StreamEvent> events;      // Stream anomalies raised.
  bool depth_reached = false;           // Reassembly ended in this direction.
};

class FlowTable {
 public:
  using EndCallback = std::function<void(Flow& flow, EndReason reason)>;

  FlowTable(const FlowTableOptions& options, EndCallback on_end);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // The flow of `p` (which must have an IP layer and not be an unreassembled
  // fragment), created if new. *dir is 0 when the packet goes client ->
  // server, 1 otherwise. Counters and timestamps include the packet.
  Flow* Lookup(const decode::Packet& p, int* dir, bool* created);

  // TCP connection tracking and reassembly for a packet of `f` (call after
  // Lookup; skip for packets with a bad checksum when checks are on).
  void Track(Flow& f, const decode::Packet& p, int dir, TcpResult* out);
  // Ends the flow's reassembly: flushes pending data of direction `dir`
  // into *out (holes skipped), for the app layer before the flow ends.
  void FlushStream(Flow& f, int dir, TcpResult* out);

  // Advances the clock to `now` (packet time) and ends timed-out flows.
  void Advance(int64_t now_nanos);
  // Ends every flow (reason kShutdown), e.g. at the end of a capture.
  void EndAll();

  int64_t now() const { return now_; }
  size_t active() const { return active_; }
  size_t max_flows() const { return max_flows_; }
  const FlowCounters& counters() const { return counters_; }
  ReassemblyMemory& reassembly() { return reassembly_; }
  const ReassemblyMemory& reassembly() const { return reassembly_; }
  void set_reassembly_options(const ReassemblyOptions& o) { reassembly_.options = o; }

 private:
  struct Slot {
    uint32_t index;  // flows_ index + 1; 0 = empty.
    uint32_t tag;    // Upper hash bits, to skip most key compares.
  };
  enum ListId : uint8_t {
    kTcpNew, kTcpEst, kTcpClosed, kUdpNew, kUdpEst, kIcmpNew, kIcmpEst, kOtherNew, kOtherEst, kListCount
  };
  struct List {
    uint32_t head = 0;  // flows_ index + 1; 0 = empty.
    uint32_t tail = 0;
    int64_t timeout = 0;
  };

  uint32_t Allocate();
  void End(uint32_t index, EndReason reason);
  void Unlink(Flow& f);
  void LinkTail(Flow& f, uint32_t index, uint8_t list);
  uint8_t ListFor(const Flow& f) const;
  void Relist(Flow& f, uint32_t index);
  size_t FindSlot(const FlowKey& k, uint64_t hash) const;
  void EraseSlot(size_t slot);
  void EvictOne();

  FlowTableOptions options_;
  EndCallback on_end_;
  size_t max_flows_;
  // Flows in chunks of kFlowsPerChunk: growing never moves a flow, and
  // never holds the old and the new copy of the whole slab at once (a
  // vector doubling did, a peak of 1.5x the slab on a full table).
  class Slab {
   public:
    Flow& operator[](uint32_t i) { return chunks_[i >> kShift][i & kMask]; }
    const Flow& operator[](uint32_t i) const { return chunks_[i >> kShift][i & kMask]; }
    uint32_t size() const { return size_; }
    uint32_t Grow() {
      if ((size_ & kMask) == 0) chunks_.push_back(std::make_unique<Flow[]>(kMask + 1));
      return size_++;
    }

   private:
    static constexpr uint32_t kShift = 10;
    static constexpr uint32_t kMask = (1u << kShift) - 1;
    std::vector<std::unique_ptr<Flow[]>> chunks_;
    uint32_t size_ = 0;
  };
  Slab flows_;                      // Index 0 unused.
  std::vector<uint32_t> free_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  List lists_[kListCount];
  size_t active_ = 0;
  int64_t now_ = INT64_MIN;
  int64_t next_expiry_check_ = INT64_MIN;
  uint64_t id_counter_ = 0;
  FlowCounters counters_;
  ReassemblyMemory reassembly_;
};

}  // namespace rampart::flow
