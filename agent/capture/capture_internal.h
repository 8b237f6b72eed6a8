#pragma once
// Shared pieces of the capture sources (not part of the module's contract).

#include <memory>
#include <optional>
#include <vector>

#include "agent/capture/capture.h"
#include "common/util/mutex.h"

namespace rampart::capture {

// A fixed set of batch buffers. Acquire() waits for a free one.
class BufferPool {
 public:
  BufferPool(int count, size_t size);
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A cleared batch with refcount 1, or nullptr once Close() was called.
  FrameBatch* Acquire() EXCLUDES(mu_);
  void Put(FrameBatch* batch) EXCLUDES(mu_);
  // Wakes a waiting Acquire(), which then returns nullptr.
  void Close() EXCLUDES(mu_);
  size_t buffer_size() const { return size_; }

 private:
  size_t size_;
  std::vector<std::unique_ptr<FrameBatch>> batches_;
  Mutex mu_;
  CondVar cv_;
  std::vector<FrameBatch*> free_ GUARDED_BY(mu_);
  bool closed_ GUARDED_BY(mu_) = false;
};

// Access to FrameBatch internals for the sources.
class SourceBase {
 protected:
  static std::vector<uint8_t>& Buffer(FrameBatch* b) { return b->buffer_; }
  static size_t& Used(FrameBatch* b) { return b->used_; }
  static std::vector<Frame>& Frames(FrameBatch* b) { return b->frames_; }
};

// LINKTYPE_* (file headers) and DLT_* (libpcap) values to LinkType.
std::optional<LinkType> FromLinkTypeValue(uint32_t linktype);
std::optional<LinkType> FromDlt(int dlt);
// "link type 127 (IEEE802_11_RADIO) is not supported; ..." for messages.
std::string UnsupportedLinkType(uint32_t value, bool is_dlt);

// pcapng (or a gzip-compressed capture of either kind) through libpcap.
Result<std::unique_ptr<PacketSource>> OpenWithLibpcap(const std::string& path, bool gzip, const FileOptions& options);

}  // namespace rampart::capture
