#include "agent/decode/defrag.h"

#include <algorithm>
#include <cstring>

#include "agent/decode/checksum.h"

namespace rampart::decode {
namespace {

constexpr size_t kTrackerOverhead = sizeof(void*) * 8 + 128;

}  // namespace

bool Defragmenter::Key::operator==(const Key& o) const {
  return family == o.family && proto == o.proto && id == o.id && std::memcmp(src, o.src, 16) == 0 &&
         std::memcmp(dst, o.dst, 16) == 0;
}

size_t Defragmenter::KeyHash::operator()(const Key& k) const {
  uint64_t w[4];
  std::memcpy(w, k.src, 16);
  std::memcpy(w + 2, k.dst, 16);
  uint64_t h = k.id ^ (static_cast<uint64_t>(k.proto) << 40) ^ (static_cast<uint64_t>(k.family) << 48);
  for (uint64_t x : w) {
    h ^= x;
    h *= 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
  }
  return static_cast<size_t>(h);
}

void Defragmenter::Drop(List::iterator it) {
  counters_.memuse -= it->charged;
  index_.erase(it->key);
  trackers_.erase(it);
}

void Defragmenter::Charge(Tracker& t) {
  const size_t now = t.data.capacity() + t.header.capacity() + t.covered.capacity() * 8 + kTrackerOverhead;
  counters_.memuse = counters_.memuse - t.charged + now;
  t.charged = now;
}

void Defragmenter::Expire(int64_t now) {
  while (!trackers_.empty() && now - trackers_.front().first_seen > options_.timeout_nanos) {
    if (trackers_.front().key.family == 4) {
      ++counters_.ipv4_timeouts;
    } else {
      ++counters_.ipv6_timeouts;
    }
    Drop(trackers_.begin());
  }
}

bool Defragmenter::Complete(const Tracker& t) const {
  return t.have_last && t.have_first && t.covered.size() == 1 && t.covered[0].first == 0 &&
         t.covered[0].second == t.total;
}

std::span<const uint8_t> Defragmenter::Add(const Packet& p, Event* event, bool* has_event) {
  *has_event = false;
  const bool v4 = p.ip_version == 4;
  if (v4) {
    ++counters_.ipv4_fragments;
  } else {
    ++counters_.ipv6_fragments;
  }
  if (p.l3_truncated) return {};  // Cut by the snap length: cannot be rebuilt.
  Expire(p.timestamp_nanos);

  Key key{};
  key.family = p.ip_version;
  key.proto = v4 ? p.proto : 0;
  key.id = p.ip_id;
  std::memcpy(key.src, p.src.bytes, 16);
  std::memcpy(key.dst, p.dst.bytes, 16);

  const uint8_t* frag_data = p.l3 + p.l3_hlen;
  const uint32_t frag_len = p.l3_len - p.l3_hlen;
  const uint32_t begin = p.frag_offset;
  const uint32_t end = begin + frag_len;
  const uint32_t max_data = v4 ? 65535u - p.l3_hlen : 65535u;
  if (end > max_data) return {};  // frag_pkt_too_large was raised by the decoder.
  // A non-last fragment must carry a multiple of 8 bytes: such a fragment
  // cannot be part of a valid datagram (frag_invalid_length was raised).
  if (p.ip_mf && (frag_len == 0 || (frag_len % 8) != 0)) return {};

  auto found = index_.find(key);
  List::iterator it;
  if (found == index_.end()) {
    // Make room: a new datagram may need up to `end` bytes.
    const size_t need = end + kTrackerOverhead + p.l3_hlen;
    while (!trackers_.empty() && counters_.memuse + need > options_.memcap) {
      ++counters_.max_frag_hits;
      Drop(trackers_.begin());
    }
    if (need > options_.memcap) return {};
    trackers_.emplace_back();
    it = std::prev(trackers_.end());
    it->key = key;
    it->first_seen = p.timestamp_nanos;
    index_.emplace(key, it);
  } else {
    it = found->second;
  }
  Tracker& t = *it;
  if (++t.fragments > options_.max_fragments) {
    Drop(it);
    return {};
  }
  if (!p.ip_mf) {
    if (t.have_last && t.total != end) {
      // Two different ends: keep the first one (first wins).
      *event = v4 ? Event::kIpv4FragOverlap : Event::kIpv6FragOverlap;
      *has_event = true;
    } else if (!t.have_last) {
      if (!t.covered.empty() && t.covered.back().second > end) {
        *event = v4 ? Event::kIpv4FragOverlap : Event::kIpv6FragOverlap;
        *has_event = true;
      } else {
        t.have_last = true;
        t.total = end;
      }
    }
  }
  if (t.have_last && end > t.total) {
    // Data past the end: ignore the excess.
    *event = v4 ? Event::kIpv4FragOverlap : Event::kIpv6FragOverlap;
    *has_event = true;
  }
  if (begin == 0 && !t.have_first) {
    t.have_first = true;
    if (v4) {
      t.header.assign(p.l3, p.l3 + p.l3_hlen);
    } else {
      t.header.assign(p.l3, p.l3 + p.ipv6_frag_hdr_offset);
      t.next_header = p.ipv6_frag_next;
    }
  }
  const uint32_t limit = t.have_last ? std::min(end, t.total) : end;
  if (limit > begin) {
    if (t.data.size() < limit) t.data.resize(limit);
    // Copy only the parts not covered yet (first wins).
    uint32_t pos = begin;
    bool overlap = false;
    for (const auto& [cb, ce] : t.covered) {
      if (ce <= pos) continue;
      if (cb >= limit) break;
      if (cb > pos) std::memcpy(t.data.data() + pos, frag_data + (pos - begin), cb - pos);
      overlap = true;
      pos = std::max(pos, ce);
      if (pos >= limit) break;
    }
    if (pos < limit) std::memcpy(t.data.data() + pos, frag_data + (pos - begin), limit - pos);
    if (overlap) {
      *event = v4 ? Event::kIpv4FragOverlap : Event::kIpv6FragOverlap;
      *has_event = true;
    }
    // Merge [begin, limit) into the covered list.
    t.covered.emplace_back(begin, limit);
    std::sort(t.covered.begin(), t.covered.end());
    size_t w = 0;
    for (size_t r = 1; r < t.covered.size(); ++r) {
      if (t.covered[r].first <= t.covered[w].second) {
        t.covered[w].second = std::max(t.covered[w].second, t.covered[r].second);
      } else {
        t.covered[++w] = t.covered[r];
      }
    }
    t.covered.resize(w + 1);
  }
  Charge(t);
  if (!Complete(t)) {
    if (counters_.memuse > options_.memcap) {
      ++counters_.max_frag_hits;
      Drop(it);
    }
    return {};
  }
  return Build(it);
}

std::span<const uint8_t> Defragmenter::Build(List::iterator it) {
  Tracker& t = *it;
  const bool v4 = t.key.family == 4;
  out_.clear();
  out_.insert(out_.end(), t.header.begin(), t.header.end());
  out_.insert(out_.end(), t.data.begin(), t.data.begin() + t.total);
  uint8_t* h = out_.data();
  if (v4) {
    const size_t total = out_.size();
    h[2] = static_cast<uint8_t>(total >> 8);
    h[3] = static_cast<uint8_t>(total);
    h[6] = static_cast<uint8_t>(h[6] & 0x40);  // Keep DF; clear MF and the offset.
    h[7] = 0;
    h[10] = 0;
    h[11] = 0;
    const uint16_t sum = ChecksumFinish(ChecksumAdd(h, t.header.size()));
    std::memcpy(h + 10, &sum, 2);
    ++counters_.ipv4_reassembled;
  } else {
    const size_t plen = out_.size() - 40;
    h[4] = static_cast<uint8_t>(plen >> 8);
    h[5] = static_cast<uint8_t>(plen);
    // The header before the (removed) fragment header now points past it.
    size_t next_pos = 6;
    uint8_t next = h[6];
    size_t off = 40;
    while (off < t.header.size()) {
      next_pos = off;
      if (off + 2 > t.header.size()) break;
      const size_t len = next == 51 ? (h[off + 1] + 2u) * 4u : (h[off + 1] + 1u) * 8u;
      next = h[off];
      off += len;
    }
    h[next_pos] = t.next_header;
    ++counters_.ipv6_reassembled;
  }
  Drop(it);
  return {out_.data(), out_.size()};
}

}  // namespace rampart::decode
