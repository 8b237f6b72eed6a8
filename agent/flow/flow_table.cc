#include "agent/flow/flow_table.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "common/status/check.h"

namespace rampart::flow {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

inline uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

constexpr uint8_t kSyn = 0x02, kAck = 0x10, kFin = 0x01, kRst = 0x04;

}  // namespace

FlowKey MakeKey(const decode::Packet& p, bool* lo_is_src) {
  FlowKey k;
  std::memset(&k, 0, sizeof(k));
  k.family = p.src.family;
  k.proto = p.proto;
  k.vlan = p.vlan_count > 0 ? p.vlan[0] : 0;
  const uint16_t sp = p.has_ports() ? p.sport : 0;
  const uint16_t dp = p.has_ports() ? p.dport : 0;
  const int c = std::memcmp(p.src.bytes, p.dst.bytes, 16);
  const bool src_lo = c < 0 || (c == 0 && sp <= dp);
  *lo_is_src = src_lo;
  if (src_lo) {
    std::memcpy(k.addr_lo, p.src.bytes, 16);
    std::memcpy(k.addr_hi, p.dst.bytes, 16);
    k.port_lo = sp;
    k.port_hi = dp;
  } else {
    std::memcpy(k.addr_lo, p.dst.bytes, 16);
    std::memcpy(k.addr_hi, p.src.bytes, 16);
    k.port_lo = dp;
    k.port_hi = sp;
  }
  return k;
}

uint64_t HashKey(const FlowKey& k) {
  uint64_t w[5];
  std::memcpy(w, &k, sizeof(w));
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (uint64_t x : w) h = Mix(h ^ x) + 0x9e3779b97f4a7c15ULL;
  return h;
}

decode::IpAddr Flow::Client() const {
  decode::IpAddr a;
  a.family = key.family;
  std::memcpy(a.bytes, client_is_lo ? key.addr_lo : key.addr_hi, 16);
  return a;
}

decode::IpAddr Flow::Server() const {
  decode::IpAddr a;
  a.family = key.family;
  std::memcpy(a.bytes, client_is_lo ? key.addr_hi : key.addr_lo, 16);
  return a;
}

FlowTable::FlowTable(const FlowTableOptions& options, EndCallback on_end)
    : options_(options), on_end_(std::move(on_end)) {
  max_flows_ = std::max<size_t>(options_.memcap / std::max<size_t>(options_.flow_cost, 64), 64);
  const size_t nslots = std::bit_ceil(max_flows_ * 2);
  slots_.assign(nslots, Slot{0, 0});
  mask_ = nslots - 1;
  flows_.Grow();  // Index 0 is never used.
  const FlowTimeouts& t = options_.timeouts;
  const int secs[kListCount] = {t.tcp_new, t.tcp_established, t.tcp_closed, t.udp_new, t.udp_established,
                                t.icmp_new, t.icmp_established, t.other_new, t.other_established};
  for (int i = 0; i < kListCount; ++i) lists_[i].timeout = static_cast<int64_t>(secs[i]) * kSecond;
}

FlowTable::~FlowTable() = default;

size_t FlowTable::FindSlot(const FlowKey& k, uint64_t hash) const {
  const auto tag = static_cast<uint32_t>(hash >> 32);
  size_t i = hash & mask_;
  while (true) {
    const Slot& s = slots_[i];
    if (s.index == 0) return i;
    if (s.tag == tag && flows_[s.index].key == k) return i;
    i = (i + 1) & mask_;
  }
}

void FlowTable::EraseSlot(size_t i) {
  slots_[i] = Slot{0, 0};
  size_t j = i;
  while (true) {
    j = (j + 1) & mask_;
    if (slots_[j].index == 0) return;
    const size_t home = flows_[slots_[j].index].hash & mask_;
    // Move j back to i when its home position is not in (i, j] cyclically.
    const bool between = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
    if (!between) {
      slots_[i] = slots_[j];
      slots_[j] = Slot{0, 0};
      i = j;
    }
  }
}

uint8_t FlowTable::ListFor(const Flow& f) const {
  const bool est = f.state != FlowState::kNew;
  switch (f.proto) {
    case 6:
      if (f.state == FlowState::kClosed) return kTcpClosed;
      return est ? kTcpEst : kTcpNew;
    case 17: return est ? kUdpEst : kUdpNew;
    case 1:
    case 58: return est ? kIcmpEst : kIcmpNew;
    default: return est ? kOtherEst : kOtherNew;
  }
}

void FlowTable::Unlink(Flow& f) {
  List& l = lists_[f.list];
  if (f.prev != 0) {
    flows_[f.prev].next = f.next;
  } else {
    l.head = f.next;
  }
  if (f.next != 0) {
    flows_[f.next].prev = f.prev;
  } else {
    l.tail = f.prev;
  }
  f.prev = f.next = 0;
}

void FlowTable::LinkTail(Flow& f, uint32_t index, uint8_t list) {
  List& l = lists_[list];
  f.list = list;
  f.prev = l.tail;
  f.next = 0;
  if (l.tail != 0) {
    flows_[l.tail].next = index;
  } else {
    l.head = index;
  }
  l.tail = index;
}

void FlowTable::Relist(Flow& f, uint32_t index) {
  const uint8_t want = ListFor(f);
  if (f.list == want && lists_[want].tail == index) return;
  Unlink(f);
  LinkTail(f, index, want);
}

uint32_t FlowTable::Allocate() {
  if (!free_.empty()) {
    const uint32_t i = free_.back();
    free_.pop_back();
    return i;
  }
  return flows_.Grow();
}

void FlowTable::End(uint32_t index, EndReason reason) {
  Flow& f = flows_[index];
  RAMPART_CHECK(f.in_use) << "ending a free flow slot " << index;
  on_end_(f, reason);
  Flow& g = flows_[index];  // The callback does not add flows, but be safe about references.
  if (g.tcp) {
    g.tcp->stream[0].Release(reassembly_);
    g.tcp->stream[1].Release(reassembly_);
  }
  Unlink(g);
  EraseSlot(FindSlot(g.key, g.hash));
  g = Flow();
  free_.push_back(index);
  --active_;
  counters_.active = active_;
}

void FlowTable::EvictOne() {
  uint32_t victim = 0;
  int64_t oldest = INT64_MAX;
  for (const List& l : lists_) {
    if (l.head != 0 && flows_[l.head].touched < oldest) {
      oldest = flows_[l.head].touched;
      victim = l.head;
    }
  }
  if (victim == 0) return;
  ++counters_.evicted;
  End(victim, EndReason::kForced);
}

Flow* FlowTable::Lookup(const decode::Packet& p, int* dir, bool* created) {
  *created = false;
  Advance(p.timestamp_nanos);
  bool lo_is_src = true;
  const FlowKey key = MakeKey(p, &lo_is_src);
  const uint64_t hash = HashKey(key);
  size_t slot = FindSlot(key, hash);
  uint32_t index = slots_[slot].index;
  if (index != 0) {
    Flow& f = flows_[index];
    // A new connection reusing the tuple of a closed one.
    if (f.proto == 6 && f.state == FlowState::kClosed && (p.tcp_flags & (kSyn | kAck)) == kSyn) {
      ++counters_.tcp_reuse;
      End(index, EndReason::kForced);
      slot = FindSlot(key, hash);
      index = 0;
    }
  }
  if (index == 0) {
    if (active_ >= max_flows_) {
      EvictOne();
      slot = FindSlot(key, hash);
    }
    index = Allocate();
    Flow& f = flows_[index];
    f.in_use = true;
    f.index = index;
    f.key = key;
    f.hash = hash;
    f.proto = p.proto;
    f.family = p.src.family;
    f.start_nanos = p.timestamp_nanos;
    // The client is the sender of the first packet, except for a SYN/ACK
    // (the handshake's second packet) and, for a connection picked up in the
    // middle, a packet from a well-known port to an ephemeral one.
    bool src_is_client = true;
    if (p.proto == 6) {
      const uint8_t fl = p.tcp_flags;
      if ((fl & (kSyn | kAck)) == (kSyn | kAck)) {
        src_is_client = false;
      } else if ((fl & kSyn) == 0 && p.sport < 1024 && p.dport >= 1024) {
        src_is_client = false;
      }
    } else if (p.proto == 17 && p.sport < 1024 && p.dport >= 1024) {
      src_is_client = false;
    }
    f.client_is_lo = src_is_client ? lo_is_src : !lo_is_src;
    uint64_t id = Mix(hash ^ (++id_counter_ * 0x9e3779b97f4a7c15ULL) ^ (static_cast<uint64_t>(options_.worker) << 58) ^
                      static_cast<uint64_t>(p.timestamp_nanos));
    id &= (uint64_t{1} << 51) - 1;
    f.id = id == 0 ? 1 : id;
    if (p.proto == 6) f.tcp = std::make_unique<TcpSession>();
    slots_[slot] = Slot{index, static_cast<uint32_t>(hash >> 32)};
    LinkTail(f, index, ListFor(f));
    ++active_;
    counters_.active = active_;
    if (active_ > counters_.peak_active) counters_.peak_active = active_;
    ++counters_.created;
    switch (p.proto) {
      case 6: ++counters_.tcp; break;
      case 17: ++counters_.udp; break;
      case 1: ++counters_.icmpv4; break;
      case 58: ++counters_.icmpv6; break;
      default: break;
    }
    *created = true;
  }
  Flow& f = flows_[index];
  const bool src_is_lo = lo_is_src;
  const int d = (src_is_lo == f.client_is_lo) ? 0 : 1;
  *dir = d;
  f.seen[d] = true;
  ++f.pkts[d];
  f.bytes[d] += p.reassembled ? p.l3_len : (p.wire_length != 0 ? p.wire_length : p.caplen);
  f.last_nanos = p.timestamp_nanos;
  f.touched = now_;
  if (f.proto == 1 || f.proto == 58) {
    if (f.pkts[d] == 1) {
      f.icmp_type[d] = p.icmp_type;
      f.icmp_code[d] = p.icmp_code;
    }
  }
  if (f.proto != 6 && f.state == FlowState::kNew && f.seen[0] && f.seen[1]) f.state = FlowState::kEstablished;
  Relist(f, index);
  return &f;
}

void FlowTable::Track(Flow& f, const decode::Packet& p, int dir, TcpResult* out) {
  out->chunks.clear();
  out->events.clear();
  out->depth_reached = false;
  if (!f.tcp) f.tcp = std::make_unique<TcpSession>();
  TcpSession& s = *f.tcp;
  const uint8_t fl = p.tcp_flags;
  s.flags_seen[dir] |= fl;
  TcpStream& mine = s.stream[dir];
  TcpStream& peer = s.stream[1 - dir];
  const bool syn = (fl & kSyn) != 0, ack = (fl & kAck) != 0;
  const uint32_t seq = p.tcp_seq;
  auto state = static_cast<TcpState>(s.tcp_state);

  if ((fl & kRst) == 0 && s.doubtful_rst[dir]) {
    // The RST's own sender carries on: its peer ignored the RST, or someone
    // else sent it. Undo the close (Suricata's StreamTcpPacketCheckPostRst).
    s.doubtful_rst[dir] = false;
    out->events.push_back(StreamEvent::kSuspectedRstInject);
    if (s.rst_seen && !s.doubtful_rst[1 - dir]) {
      s.rst_seen = false;
      state = static_cast<TcpState>(s.state_before_rst);
      f.state = static_cast<FlowState>(s.flow_state_before_rst);
    }
  }

  if (syn && !ack) {
    ++counters_.syn;
    if (!mine.has_base() || (mine.next_offset() == 0 && mine.pending_bytes() == 0)) mine.SetBase(seq + 1);
    s.syn_seen = true;
    if (state == TcpState::kNone) state = TcpState::kSynSent;
  } else if (syn && ack) {
    ++counters_.synack;
    if (!mine.has_base() || (mine.next_offset() == 0 && mine.pending_bytes() == 0)) mine.SetBase(seq + 1);
    s.synack_seen = true;
    if (state == TcpState::kNone || state == TcpState::kSynSent) state = TcpState::kSynRecv;
  } else if (!s.handshake_done && ack && s.syn_seen && s.synack_seen && dir == 0) {
    s.handshake_done = true;
    state = TcpState::kEstablished;
    f.state = FlowState::kEstablished;
  }

  // Length of the segment's data by its headers (the capture may hold less).
  uint32_t seg_len = p.payload_len;
  if (p.l3_truncated && p.l3_declared_len > p.l3_hlen + p.l4_hlen) {
    seg_len = p.l3_declared_len - p.l3_hlen - p.l4_hlen;
  }
  if (seg_len > 0 && (fl & kRst) == 0) {
    const uint32_t data_seq = syn ? seq + 1 : seq;
    bool take = true;
    if (!mine.has_base()) {
      if (!s.syn_seen && !s.synack_seen) {
        if (!options_.midstream) {
          take = false;
        } else if (!s.midstream) {
          s.midstream = true;
          ++counters_.midstream_pickups;
        }
      }
      if (take) mine.SetBase(data_seq);
    }
    if (take) {
      if (!s.handshake_done && f.state == FlowState::kNew && (s.midstream || s.syn_seen || s.synack_seen)) {
        // Picked up in the middle, or one side of the handshake missing from
        // the capture: treat as established once data flows.
        f.state = FlowState::kEstablished;
        if (state == TcpState::kNone || state == TcpState::kSynSent || state == TcpState::kSynRecv) {
          state = TcpState::kEstablished;
        }
      }
      mine.AddSegment(data_seq, p.payload, p.payload_len, seg_len, reassembly_, &out->chunks, &out->events);
    }
  }
  if (ack && peer.has_base()) peer.OnAck(p.tcp_ack);
  if ((fl & kFin) != 0 && !s.fin_seen[dir]) {
    s.fin_seen[dir] = true;
    if (s.fin_seen[1 - dir]) {
      state = TcpState::kTimeWait;
    } else {
      state = dir == 0 ? TcpState::kFinWait1 : TcpState::kCloseWait;
    }
  }
  if ((fl & kRst) != 0) {
    ++counters_.rst;
    // Whether the receiver may have dropped this RST (see flow_table.h).
    // Answering a SYN: from the server any RST; from the client only the
    // form some middleboxes send (seq = ISN, window 0, ack = ISN + 1).
    bool doubtful = p.tcp_md5_sig || p.tcp_auth_opt;
    if (state == TcpState::kSynSent && s.syn_seen && !s.synack_seen) {
      if (dir == 1) {
        doubtful = true;
      } else if (mine.has_base() && seq == mine.base_seq() - 1 && p.tcp_window == 0 && p.tcp_ack == mine.base_seq()) {
        doubtful = true;
      }
    }
    if (!s.rst_seen) {
      s.state_before_rst = static_cast<uint8_t>(state);
      s.flow_state_before_rst = static_cast<uint8_t>(f.state);
    }
    if (doubtful) s.doubtful_rst[dir] = true;
    s.rst_seen = true;
    state = TcpState::kClosed;
  }
  if (s.rst_seen || (s.fin_seen[0] && s.fin_seen[1])) f.state = FlowState::kClosed;
  s.tcp_state = static_cast<uint8_t>(state);
  out->depth_reached = mine.depth_reached();
  // The state may have changed the timeout list.
  Relist(f, f.index);
}

void FlowTable::FlushStream(Flow& f, int dir, TcpResult* out) {
  out->chunks.clear();
  out->events.clear();
  out->depth_reached = false;
  if (!f.tcp) return;
  f.tcp->stream[dir].Flush(reassembly_, &out->chunks, &out->events);
}

void FlowTable::Advance(int64_t now) {
  if (now > now_) now_ = now;
  if (now_ < next_expiry_check_) return;
  next_expiry_check_ = now_ + kSecond;
  for (int l = 0; l < kListCount; ++l) {
    while (lists_[l].head != 0) {
      const uint32_t h = lists_[l].head;
      if (flows_[h].touched + lists_[l].timeout > now_) break;
      ++counters_.timeouts;
      End(h, EndReason::kTimeout);
    }
  }
}

void FlowTable::EndAll() {
  for (int l = 0; l < kListCount; ++l) {
    while (lists_[l].head != 0) End(lists_[l].head, EndReason::kShutdown);
  }
}

}  // namespace rampart::flow
