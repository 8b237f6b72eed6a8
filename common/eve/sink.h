#pragma once
// Where EVE lines go: a file (appended), stdout ("-"), or a test's memory.
// Write() is thread-safe; lines from one call are never interleaved with
// another's. Workers should batch several records into one call.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status/status.h"
#include "common/util/mutex.h"

namespace rampart::eve {

class EveSink {
 public:
  virtual ~EveSink() = default;
  // `lines` is one or more complete records, each ending in '\n'.
  virtual Status Write(std::string_view lines) = 0;
  virtual Status Flush() = 0;
};

enum class OpenMode { kTruncate, kAppend };

// Opens `path` ("-" is stdout): replay truncates, the daemon appends.
// kPermissionDenied/kNotFound when it cannot be opened. Buffered; Flush() or
// destruction writes out.
Result<std::unique_ptr<EveSink>> OpenFileSink(const std::string& path, OpenMode mode = OpenMode::kTruncate);

// Keeps every line in memory, for tests.
class MemorySink final : public EveSink {
 public:
  Status Write(std::string_view lines) override;
  Status Flush() override { return Status::Ok(); }
  // The lines so far, without their newlines.
  std::vector<std::string> Lines() const;

 private:
  mutable Mutex mu_;
  std::string text_ GUARDED_BY(mu_);
};

}  // namespace rampart::eve
