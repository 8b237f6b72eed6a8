#include "agent/capture/capture.h"

#include <pcap/pcap.h>

#include <string>

#include "agent/capture/capture_internal.h"
#include "common/status/check.h"

namespace rampart::capture {

std::string_view LinkTypeName(LinkType type) {
  switch (type) {
    case LinkType::kEthernet: return "ethernet";
    case LinkType::kRawIp: return "raw";
    case LinkType::kIpv4: return "ipv4";
    case LinkType::kIpv6: return "ipv6";
    case LinkType::kLinuxSll: return "sll";
    case LinkType::kLinuxSll2: return "sll2";
    case LinkType::kNull: return "null";
    case LinkType::kLoop: return "loop";
  }
  return "?";
}

void FrameBatch::Release() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) pool_->Put(this);
}

BufferPool::BufferPool(int count, size_t size) : size_(size) {
  RAMPART_CHECK(count > 0 && size > 0) << "count=" << count << " size=" << size;
  for (int i = 0; i < count; ++i) {
    auto b = std::make_unique<FrameBatch>();
    b->buffer_.resize(size);
    b->frames_.reserve(size / 512);
    b->index_ = i;
    b->pool_ = this;
    free_.push_back(b.get());
    batches_.push_back(std::move(b));
  }
}

FrameBatch* BufferPool::Acquire() {
  MutexLock lock(&mu_);
  while (!closed_ && free_.empty()) cv_.Wait(&mu_);
  if (closed_) return nullptr;
  FrameBatch* b = free_.back();
  free_.pop_back();
  b->used_ = 0;
  b->frames_.clear();
  b->refs_.store(1, std::memory_order_relaxed);
  return b;
}

void BufferPool::Put(FrameBatch* batch) {
  {
    MutexLock lock(&mu_);
    free_.push_back(batch);
  }
  cv_.Signal();
}

void BufferPool::Close() {
  {
    MutexLock lock(&mu_);
    closed_ = true;
  }
  cv_.SignalAll();
}

std::optional<LinkType> FromLinkTypeValue(uint32_t linktype) {
  switch (linktype & 0x03ffffff) {  // The upper bits carry FCS information.
    case 1: return LinkType::kEthernet;
    case 101:  // LINKTYPE_RAW
    case 12:   // DLT_RAW as some writers stored it
    case 14: return LinkType::kRawIp;
    case 228: return LinkType::kIpv4;
    case 229: return LinkType::kIpv6;
    case 113: return LinkType::kLinuxSll;
    case 276: return LinkType::kLinuxSll2;
    case 0: return LinkType::kNull;
    case 108: return LinkType::kLoop;
    default: return std::nullopt;
  }
}

std::optional<LinkType> FromDlt(int dlt) {
  switch (dlt) {
    case DLT_EN10MB: return LinkType::kEthernet;
    case DLT_RAW: return LinkType::kRawIp;
#ifdef DLT_IPV4
    case DLT_IPV4: return LinkType::kIpv4;
#endif
#ifdef DLT_IPV6
    case DLT_IPV6: return LinkType::kIpv6;
#endif
    case DLT_LINUX_SLL: return LinkType::kLinuxSll;
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2: return LinkType::kLinuxSll2;
#endif
    case DLT_NULL: return LinkType::kNull;
    case DLT_LOOP: return LinkType::kLoop;
    default: return std::nullopt;
  }
}

std::string UnsupportedLinkType(uint32_t value, bool is_dlt) {
  // LINKTYPE values equal DLT values for everything above 104 and most below;
  // libpcap knows the names.
  const char* name = pcap_datalink_val_to_name(static_cast<int>(value));
  std::string text = "link type " + std::to_string(value);
  if (name != nullptr) text += std::string(" (") + name + ")";
  (void)is_dlt;
  text += " is not supported; supported: Ethernet (with 802.1Q/QinQ), raw IP, IPv4, IPv6, "
          "Linux cooked (SLL, SLL2), BSD null/loopback";
  return text;
}

}  // namespace rampart::capture
