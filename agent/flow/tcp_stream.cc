#include "agent/flow/tcp_stream.h"

#include <algorithm>
#include <cstring>

namespace rampart::flow {
namespace {

// Segments further ahead than this are not plausible for a capture of this
// connection (a bogus or very old sequence number): ignored.
constexpr uint64_t kMaxAhead = 64ull << 20;

}  // namespace

const char* StreamEventName(StreamEvent e) {
  switch (e) {
    case StreamEvent::kRetransmission: return "stream.pkt_retransmission";
    case StreamEvent::kOverlapDifferentData: return "stream.reassembly_overlap_different_data";
    case StreamEvent::kSeqGap: return "stream.reassembly_seq_gap";
    case StreamEvent::kDepthReached: return "stream.reassembly_depth_reached";
    case StreamEvent::kSegmentBeforeBaseSeq: return "stream.reassembly_segment_before_base_seq";
    case StreamEvent::kSuspectedRstInject: return "stream.suspected_rst_inject";
    case StreamEvent::kCount: break;
  }
  return "stream.unknown";
}

const char* TcpStateName(TcpState s) {
  switch (s) {
    case TcpState::kNone: return "none";
    case TcpState::kSynSent: return "syn_sent";
    case TcpState::kSynRecv: return "syn_recv";
    case TcpState::kEstablished: return "established";
    case TcpState::kFinWait1: return "fin_wait1";
    case TcpState::kFinWait2: return "fin_wait2";
    case TcpState::kTimeWait: return "time_wait";
    case TcpState::kCloseWait: return "close_wait";
    case TcpState::kLastAck: return "last_ack";
    case TcpState::kClosing: return "closing";
    case TcpState::kClosed: return "closed";
  }
  return "none";
}

TcpStream::~TcpStream() = default;

int64_t TcpStream::Relative(uint32_t seq) const {
  // The 64-bit offset congruent to (seq - base) mod 2^32 that is closest to next_.
  const uint32_t rel32 = seq - base_seq_;
  const int64_t next = static_cast<int64_t>(next_);
  int64_t cand = (next & ~int64_t{0xffffffff}) | rel32;
  if (cand - next > (int64_t{1} << 31)) cand -= int64_t{1} << 32;
  if (next - cand > (int64_t{1} << 31)) cand += int64_t{1} << 32;
  return cand;
}

void TcpStream::AddSegment(uint32_t seq, const uint8_t* data, uint32_t captured, uint32_t seg_len,
                           ReassemblyMemory& mem, std::vector<StreamChunk>* out, std::vector<StreamEvent>* events) {
  delivered_.clear();
  if (seg_len == 0) return;
  if (captured > seg_len) captured = seg_len;
  ++mem.counters.segments;
  if (!has_base_) SetBase(seq);
  if (depth_reached_) return;
  int64_t rel = Relative(seq);
  if (rel < 0) {
    if (rel + static_cast<int64_t>(seg_len) <= 0) {
      ++mem.counters.before_base;
      events->push_back(StreamEvent::kSegmentBeforeBaseSeq);
      return;
    }
    const auto skip = static_cast<uint32_t>(-rel);
    const uint32_t dropped = std::min(skip, captured);
    data += dropped;
    captured -= dropped;
    seg_len -= skip;
    rel = 0;
  }
  const auto off = static_cast<uint64_t>(rel);
  const uint64_t end = off + seg_len;
  if (end <= next_) {
    ++mem.counters.retransmissions;
    events->push_back(StreamEvent::kRetransmission);
    return;
  }
  if (off > next_ + kMaxAhead) {
    ++mem.counters.out_of_window;
    return;
  }
  if (off > next_) {
    // Ahead of the in-order data: keep it until the hole fills.
    if (captured > 0) Insert(data, off, captured, mem, events);
    if (pending_bytes_ > mem.options.max_pending) DrainPending(mem, out, events, /*skip_holes=*/true);
    SkipAckedHoles(mem, out, events);
    return;
  }
  // Starts at or before next_ and ends after it.
  const auto trim = static_cast<uint32_t>(next_ - off);
  if (trim > 0) ++mem.counters.overlaps;
  const uint64_t captured_end = off + captured;
  if (trim < captured) {
    if (pending_.empty() || pending_.front().offset >= captured_end) {
      // The common case: straight from the packet, no copy.
      Deliver(data + trim, next_, captured - trim, gap_pending_, mem, out, events);
    } else {
      // It overlaps data that arrived earlier: merge first-wins, then drain.
      Insert(data + trim, next_, captured - trim, mem, events);
      DrainPending(mem, out, events, false);
    }
  }
  if (captured < seg_len && next_ >= captured_end && next_ < end && !depth_reached_) {
    // The capture cut this segment short: the rest is missing for good, up
    // to where data that arrived earlier resumes.
    uint64_t to = end;
    if (!pending_.empty() && pending_.front().offset < to) to = pending_.front().offset;
    SkipTo(to, mem, events);
  }
  DrainPending(mem, out, events, false);
  SkipAckedHoles(mem, out, events);
}

void TcpStream::OnAck(uint32_t ack) {
  if (!has_base_) return;
  const int64_t rel = Relative(ack);
  if (rel <= static_cast<int64_t>(acked_) || static_cast<uint64_t>(rel) > next_ + kMaxAhead) return;
  acked_ = static_cast<uint64_t>(rel);
}

void TcpStream::SkipAckedHoles(ReassemblyMemory& mem, std::vector<StreamChunk>* out,
                               std::vector<StreamEvent>* events) {
  // Holes the receiver has acknowledged past will not fill: skip them.
  while (!depth_reached_ && !pending_.empty() && pending_.front().offset > next_ &&
         pending_.front().offset < acked_) {
    SkipTo(pending_.front().offset, mem, events);
    DrainPending(mem, out, events, false);
  }
}

void TcpStream::Flush(ReassemblyMemory& mem, std::vector<StreamChunk>* out, std::vector<StreamEvent>* events) {
  delivered_.clear();
  if (depth_reached_) return;
  DrainPending(mem, out, events, /*skip_holes=*/true);
}

void TcpStream::Release(ReassemblyMemory& mem) {
  mem.used -= pending_bytes_;
  pending_bytes_ = 0;
  pending_.clear();
  pending_.shrink_to_fit();
  delivered_.clear();
  delivered_.shrink_to_fit();
}

void TcpStream::Deliver(const uint8_t* data, uint64_t offset, uint32_t len, bool gap, ReassemblyMemory& mem,
                        std::vector<StreamChunk>* out, std::vector<StreamEvent>* events) {
  const uint64_t depth = mem.options.depth;
  if (offset >= depth) {
    if (!depth_reached_) {
      depth_reached_ = true;
      ++mem.counters.depth_reached;
      events->push_back(StreamEvent::kDepthReached);
    }
    next_ = offset + len;
    return;
  }
  const uint32_t keep = static_cast<uint32_t>(std::min<uint64_t>(len, depth - offset));
  out->push_back(StreamChunk{data, keep, offset, gap});
  gap_pending_ = false;
  next_ = offset + len;
  if (keep < len || next_ >= depth) {
    depth_reached_ = true;
    ++mem.counters.depth_reached;
    events->push_back(StreamEvent::kDepthReached);
  }
}

void TcpStream::SkipTo(uint64_t offset, ReassemblyMemory& mem, std::vector<StreamEvent>* events) {
  if (offset <= next_) return;
  ++mem.counters.gaps;
  events->push_back(StreamEvent::kSeqGap);
  gap_pending_ = true;
  next_ = offset;
  if (next_ >= mem.options.depth && !depth_reached_) {
    depth_reached_ = true;
    ++mem.counters.depth_reached;
    events->push_back(StreamEvent::kDepthReached);
  }
}

void TcpStream::Insert(const uint8_t* data, uint64_t offset, uint32_t len, ReassemblyMemory& mem,
                       std::vector<StreamEvent>* events) {
  const uint64_t depth = mem.options.depth;
  if (offset >= depth) return;
  if (offset + len > depth) len = static_cast<uint32_t>(depth - offset);
  const uint64_t end = offset + len;
  // Walk the pending segments that intersect [offset, end) and add the parts
  // they do not cover; compare the parts they do.
  auto it = std::lower_bound(pending_.begin(), pending_.end(), offset,
                             [](const Pending& p, uint64_t o) { return p.offset + p.data.size() <= o; });
  uint64_t pos = offset;
  std::vector<Pending> fresh;
  bool overlap = false, differs = false;
  for (; it != pending_.end() && it->offset < end; ++it) {
    const uint64_t pb = it->offset, pe = it->offset + it->data.size();
    if (pb > pos) fresh.push_back(Pending{pos, std::vector<uint8_t>(data + (pos - offset), data + (pb - offset))});
    const uint64_t ob = std::max(pos, pb), oe = std::min(end, pe);
    if (oe > ob) {
      overlap = true;
      if (std::memcmp(data + (ob - offset), it->data.data() + (ob - pb), oe - ob) != 0) differs = true;
    }
    pos = std::max(pos, pe);
    if (pos >= end) break;
  }
  if (pos < end) fresh.push_back(Pending{pos, std::vector<uint8_t>(data + (pos - offset), data + len)});
  if (overlap) {
    ++mem.counters.overlaps;
    if (differs) {
      ++mem.counters.overlap_diff_data;
      events->push_back(StreamEvent::kOverlapDifferentData);
    }
  }
  for (Pending& f : fresh) {
    const size_t n = f.data.size();
    if (mem.used + n > mem.options.memcap) {
      ++mem.counters.memcap_drops;
      continue;
    }
    mem.used += n;
    if (mem.used > mem.peak) mem.peak = mem.used;
    pending_bytes_ += n;
    auto at = std::lower_bound(pending_.begin(), pending_.end(), f.offset,
                               [](const Pending& p, uint64_t o) { return p.offset < o; });
    pending_.insert(at, std::move(f));
  }
}

void TcpStream::DrainPending(ReassemblyMemory& mem, std::vector<StreamChunk>* out, std::vector<StreamEvent>* events,
                             bool skip_holes) {
  size_t taken = 0;
  while (taken < pending_.size() && !depth_reached_) {
    Pending& p = pending_[taken];
    if (p.offset > next_) {
      if (!skip_holes) break;
      SkipTo(p.offset, mem, events);
      if (depth_reached_) break;
    }
    const uint64_t pe = p.offset + p.data.size();
    if (pe > next_) {
      const auto trim = static_cast<uint32_t>(next_ - p.offset);
      Deliver(p.data.data() + trim, next_, static_cast<uint32_t>(p.data.size()) - trim, gap_pending_, mem, out,
              events);
    }
    ++taken;
  }
  if (depth_reached_) taken = pending_.size();  // Nothing more will be delivered.
  if (taken > 0 && !pending_.empty()) {
    // Move the delivered segments out (their bytes back chunks until the next call).
    size_t freed = 0;
    for (size_t i = 0; i < taken; ++i) {
      freed += pending_[i].data.size();
      delivered_.push_back(std::move(pending_[i]));
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(taken));
    pending_bytes_ -= freed;
    mem.used -= freed;
  }
}

}  // namespace rampart::flow
