#include "common/eve/sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace rampart::eve {
namespace {

class FileSink final : public EveSink {
 public:
  FileSink(int fd, bool owned, std::string path) : fd_(fd), owned_(owned), path_(std::move(path)) {
    buffer_.reserve(kBufferSize);
  }
  ~FileSink() override {
    (void)Flush();
    if (owned_) ::close(fd_);
  }

  Status Write(std::string_view lines) override {
    MutexLock lock(&mu_);
    if (buffer_.size() + lines.size() > kBufferSize) {
      RAMPART_RETURN_IF_ERROR(FlushLocked());
      if (lines.size() >= kBufferSize) return WriteAll(lines);
    }
    buffer_.append(lines);
    return Status::Ok();
  }

  Status Flush() override {
    MutexLock lock(&mu_);
    return FlushLocked();
  }

 private:
  static constexpr size_t kBufferSize = 1 << 20;

  Status FlushLocked() REQUIRES(mu_) {
    if (buffer_.empty()) return Status::Ok();
    Status s = WriteAll(buffer_);
    buffer_.clear();
    return s;
  }

  Status WriteAll(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError(errno, "cannot write EVE output " + path_);
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  }

  Mutex mu_;
  const int fd_;
  const bool owned_;
  const std::string path_;
  std::string buffer_ GUARDED_BY(mu_);
};

}  // namespace

Result<std::unique_ptr<EveSink>> OpenFileSink(const std::string& path, OpenMode mode) {
  if (path == "-") return std::unique_ptr<EveSink>(std::make_unique<FileSink>(STDOUT_FILENO, false, "stdout"));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (mode == OpenMode::kAppend ? O_APPEND : O_TRUNC), 0640);
  if (fd < 0) return ErrnoError(errno, "cannot open EVE output " + path);
  return std::unique_ptr<EveSink>(std::make_unique<FileSink>(fd, true, path));
}

Status MemorySink::Write(std::string_view lines) {
  MutexLock lock(&mu_);
  text_.append(lines);
  return Status::Ok();
}

std::vector<std::string> MemorySink::Lines() const {
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text_.size()) {
    size_t end = text_.find('\n', start);
    if (end == std::string::npos) end = text_.size();
    out.emplace_back(text_.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace rampart::eve
