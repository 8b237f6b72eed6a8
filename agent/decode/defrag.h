#pragma once
// IPv4 and IPv6 defragmentation with bounded memory.
//
// Fragments are grouped by (addresses, identification[, protocol for
// IPv4]). Overlapping fragments keep the bytes that arrived first (one
// policy for both versions; an overlap raises ipv4/ipv6.frag_overlap).
// A datagram is rebuilt when the fragment without "more fragments" has
// arrived and the data from 0 to its end is covered; the rebuilt datagram
// has the first fragment's header with its length fixed and the fragment
// fields cleared (IPv6: the fragment header removed).
//
// Memory: every pending datagram's buffer counts against `memcap`; when a
// new fragment would exceed it, the oldest pending datagrams are dropped
// (counted in max_frag_hits). Pending datagrams expire `timeout_nanos`
// after their first fragment, measured in packet time.
//
// One Defragmenter per worker thread.

#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>
#include <vector>

#include "agent/decode/events.h"
#include "agent/decode/packet.h"
#include "common/metrics/counters.h"

namespace rampart::decode {

struct DefragOptions {
  size_t memcap = 16u << 20;            // Bytes of pending fragments per worker.
  int64_t timeout_nanos = 60'000'000'000;  // Suricata's default: 60 s.
  uint32_t max_fragments = 1024;        // Per datagram; more drops the datagram.
};

#define RAMPART_DEFRAG_COUNTERS(X)                                                                 \
  X(kCounter, ipv4_fragments, "defrag.ipv4.fragments", "IPv4 fragments received")                 \
  X(kCounter, ipv4_reassembled, "defrag.ipv4.reassembled", "IPv4 datagrams rebuilt")               \
  X(kCounter, ipv4_timeouts, "defrag.ipv4.timeouts", "IPv4 datagrams expired incomplete")          \
  X(kCounter, ipv6_fragments, "defrag.ipv6.fragments", "IPv6 fragments received")                 \
  X(kCounter, ipv6_reassembled, "defrag.ipv6.reassembled", "IPv6 datagrams rebuilt")               \
  X(kCounter, ipv6_timeouts, "defrag.ipv6.timeouts", "IPv6 datagrams expired incomplete")          \
  X(kCounter, max_frag_hits, "defrag.max_frag_hits", "datagrams dropped to stay under the memcap") \
  X(kGauge, memuse, "", "bytes of fragments held now")

struct DefragCounters {
  RAMPART_COUNTERS(DefragCounters, "defrag", RAMPART_DEFRAG_COUNTERS)
};

class Defragmenter {
 public:
  explicit Defragmenter(const DefragOptions& options = {}) : options_(options) {}

  // Adds a fragment (p.fragment set by the decoder). Returns the rebuilt
  // datagram when this fragment completed one, else an empty span; the
  // bytes stay valid until the next call. An anomaly found on the way
  // (overlap) is stored in *event and true returned in *has_event.
  std::span<const uint8_t> Add(const Packet& p, Event* event, bool* has_event);

  // Drops datagrams older than the timeout at packet time `now`.
  void Expire(int64_t now_nanos);

  const DefragCounters& counters() const { return counters_; }
  size_t pending() const { return trackers_.size(); }

 private:
  struct Key {
    uint8_t family;
    uint8_t proto;
    uint32_t id;
    uint8_t src[16];
    uint8_t dst[16];
    bool operator==(const Key& o) const;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct Tracker {
    Key key;
    int64_t first_seen = 0;
    std::vector<uint8_t> header;  // IPv4 header / IPv6 unfragmentable part (from offset 0).
    uint8_t next_header = 0;      // IPv6: next header after the fragment header.
    std::vector<uint8_t> data;    // Fragment data by offset.
    std::vector<std::pair<uint32_t, uint32_t>> covered;  // Sorted, merged [begin, end).
    uint32_t total = 0;           // Data length, once the last fragment arrived.
    bool have_last = false;
    bool have_first = false;
    uint32_t fragments = 0;
    size_t charged = 0;           // Bytes counted against the memcap.
  };
  using List = std::list<Tracker>;

  void Drop(List::iterator it);
  void Charge(Tracker& t);
  bool Complete(const Tracker& t) const;
  std::span<const uint8_t> Build(List::iterator it);

  DefragOptions options_;
  DefragCounters counters_;
  List trackers_;  // Oldest first.
  std::unordered_map<Key, List::iterator, KeyHash> index_;
  std::vector<uint8_t> out_;
};

}  // namespace rampart::decode
