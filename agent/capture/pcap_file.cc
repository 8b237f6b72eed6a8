// Classic pcap files, read straight into batch buffers (no libpcap copy),
// plain or gzip-compressed. pcapng goes to libpcap (libpcap_source.cc).

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "agent/capture/capture.h"
#include "agent/capture/capture_internal.h"

namespace rampart::capture {
namespace {

constexpr uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kMagicNano = 0xa1b23c4d;
constexpr uint32_t kMagicPcapng = 0x0a0d0d0a;
constexpr size_t kRecordHeader = 16;
// libpcap refuses records longer than this (its largest snap length).
constexpr uint32_t kMaxRecord = 262144;

uint32_t Swap32(uint32_t v) { return __builtin_bswap32(v); }

// Reads bytes from a plain file or a gzip stream.
class Input {
 public:
  ~Input() { Close(); }
  Status Open(const std::string& path, bool gzip) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return ErrnoError(errno, "cannot open " + path);
    if (gzip) {
      gz_ = gzdopen(fd_, "rb");
      if (gz_ == nullptr) return InternalError("cannot start gzip reader for " + path);
      fd_ = -1;  // Owned by gz_ now.
      gzbuffer(gz_, 256 * 1024);
    } else {
      posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    return Status::Ok();
  }
  // Fills up to n bytes; fewer only at the end of the data. -1 on error.
  ssize_t Read(uint8_t* out, size_t n) {
    size_t got = 0;
    while (got < n) {
      ssize_t r;
      if (gz_ != nullptr) {
        const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - got, 1u << 30));
        r = gzread(gz_, out + got, chunk);
        if (r < 0) {
          int errnum = 0;
          error_ = gzerror(gz_, &errnum);
          return -1;
        }
      } else {
        r = ::read(fd_, out + got, n - got);
        if (r < 0) {
          if (errno == EINTR) continue;
          error_ = std::strerror(errno);
          return -1;
        }
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    return static_cast<ssize_t>(got);
  }
  const std::string& error() const { return error_; }
  void Close() {
    if (gz_ != nullptr) gzclose(gz_);
    gz_ = nullptr;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  gzFile gz_ = nullptr;
  std::string error_;
};

class PcapFileSource final : public PacketSource, private SourceBase {
 public:
  PcapFileSource(std::string path, const FileOptions& options)
      : path_(std::move(path)), pool_(options.buffers, std::max<size_t>(options.buffer_size, 2 * kMaxRecord)) {}

  Status Open(bool gzip) {
    gzip_ = gzip;
    RAMPART_RETURN_IF_ERROR(input_.Open(path_, gzip));
    uint8_t header[24];
    const ssize_t n = input_.Read(header, sizeof(header));
    if (n < 0) return DataLossError(path_ + ": read error: " + input_.error());
    if (n < 24) return InvalidArgumentError(path_ + ": not a capture file (shorter than a pcap header)");
    uint32_t magic;
    std::memcpy(&magic, header, 4);
    if (magic == kMagicMicro || magic == kMagicNano) {
      swapped_ = false;
    } else if (Swap32(magic) == kMagicMicro || Swap32(magic) == kMagicNano) {
      swapped_ = true;
      magic = Swap32(magic);
    } else {
      return InvalidArgumentError(path_ + ": not a pcap file (magic " + Hex(magic) + ")");
    }
    nanos_ = magic == kMagicNano;
    const uint32_t linktype = Get32(header + 20);
    auto lt = FromLinkTypeValue(linktype);
    if (!lt) return UnimplementedError(path_ + ": " + UnsupportedLinkType(linktype & 0x03ffffff, false));
    link_type_ = *lt;
    return Status::Ok();
  }

  Result<FrameBatch*> Next() override {
    if (!pending_error_.ok()) {
      Status s = pending_error_;
      pending_error_ = Status::Ok();
      done_ = true;
      return s;
    }
    if (done_ || stopped_.load(std::memory_order_relaxed)) return nullptr;
    FrameBatch* batch = pool_.Acquire();
    if (batch == nullptr) return nullptr;
    std::vector<uint8_t>& buf = Buffer(batch);
    size_t have = carry_.size();
    if (have > 0) std::memcpy(buf.data(), carry_.data(), have);
    carry_.clear();
    if (!eof_) {
      const ssize_t n = input_.Read(buf.data() + have, buf.size() - have);
      if (n < 0) {
        pending_error_ = DataLossError(path_ + ": read error after packet " + std::to_string(count_) + ": " +
                                       input_.error());
        eof_ = true;
      } else {
        if (static_cast<size_t>(n) < buf.size() - have) eof_ = true;
        have += static_cast<size_t>(n);
      }
    }
    std::vector<Frame>& frames = Frames(batch);
    size_t pos = 0;
    while (have - pos >= kRecordHeader) {
      const uint8_t* h = buf.data() + pos;
      const uint32_t sec = Get32(h), frac = Get32(h + 4), caplen = Get32(h + 8), wirelen = Get32(h + 12);
      if (caplen > kMaxRecord) {
        // libpcap refuses such a record too (pcap_next_ex fails); nothing
        // after it can be trusted to be a record boundary.
        pending_error_ = DataLossError(path_ + ": corrupt capture: packet " + std::to_string(count_ + 1) +
                                       " claims " + std::to_string(caplen) + " captured bytes (at most " +
                                       std::to_string(kMaxRecord) + "); its record starts at " + Where());
        eof_ = true;
        have = pos;
        break;
      }
      if (have - pos - kRecordHeader < caplen) break;
      Frame f;
      f.timestamp_nanos = static_cast<int64_t>(sec) * 1000000000 + (nanos_ ? frac : static_cast<int64_t>(frac) * 1000);
      f.bytes = {h + kRecordHeader, caplen};
      f.wire_length = wirelen;
      f.number = ++count_;
      bytes_ += caplen;
      frames.push_back(f);
      pos += kRecordHeader + caplen;
      offset_ += kRecordHeader + caplen;
    }
    if (pos < have) {
      if (eof_ && pending_error_.ok()) {
        pending_error_ = DataLossError(path_ + ": capture file truncated: packet " + std::to_string(count_ + 1) +
                                       " is cut off after " + std::to_string(have - pos) +
                                       " bytes; its record starts at " + Where());
      } else if (!eof_) {
        carry_.assign(buf.begin() + static_cast<std::ptrdiff_t>(pos), buf.begin() + static_cast<std::ptrdiff_t>(have));
      }
    }
    Used(batch) = pos;
    if (frames.empty()) {
      batch->Release();
      if (!pending_error_.ok()) return Next();
      if (eof_) {
        done_ = true;
        return nullptr;
      }
      return Next();  // A carry-over only: read on.
    }
    return batch;
  }

  void Stop() override {
    stopped_.store(true);
    pool_.Close();
  }
  LinkType link_type() const override { return link_type_; }
  SourceStats Stats() override {
    SourceStats s;
    s.packets = count_;
    s.bytes = bytes_;
    return s;
  }
  std::string Describe() const override { return "file " + path_; }

 private:
  uint32_t Get32(const uint8_t* p) const {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return swapped_ ? Swap32(v) : v;
  }
  // "byte N" of the file (of the decompressed data for a gzip file).
  std::string Where() const {
    return "byte " + std::to_string(offset_) + (gzip_ ? " of the decompressed capture" : "");
  }
  static std::string Hex(uint32_t v) {
    char b[16];
    std::snprintf(b, sizeof(b), "0x%08x", v);
    return b;
  }

  std::string path_;
  BufferPool pool_;
  Input input_;
  bool gzip_ = false;
  bool swapped_ = false;
  bool nanos_ = false;
  LinkType link_type_ = LinkType::kEthernet;
  std::vector<uint8_t> carry_;
  bool eof_ = false;
  bool done_ = false;
  Status pending_error_;
  uint64_t count_ = 0;
  uint64_t bytes_ = 0;
  uint64_t offset_ = 24;  // File offset of the next record (after the file header).
  std::atomic<bool> stopped_{false};
};

// Reads the first bytes of the (possibly gzip-compressed) file.
Result<std::pair<bool, uint32_t>> Sniff(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "cannot open " + path);
  uint8_t head[4] = {};
  const ssize_t n = ::read(fd, head, 4);
  if (n < 0) {
    const int e = errno;
    ::close(fd);
    return ErrnoError(e, "cannot read " + path);
  }
  const bool gzip = n >= 2 && head[0] == 0x1f && head[1] == 0x8b;
  uint32_t magic = 0;
  if (gzip) {
    if (::lseek(fd, 0, SEEK_SET) < 0) {
      ::close(fd);
      return ErrnoError(errno, "cannot seek " + path);
    }
    gzFile gz = gzdopen(fd, "rb");
    if (gz == nullptr) {
      ::close(fd);
      return InternalError("cannot start gzip reader for " + path);
    }
    uint8_t inner[4] = {};
    const int m = gzread(gz, inner, 4);
    gzclose(gz);
    if (m == 4) std::memcpy(&magic, inner, 4);
  } else {
    ::close(fd);
    if (n == 4) std::memcpy(&magic, head, 4);
  }
  return std::make_pair(gzip, magic);
}

}  // namespace

Result<std::unique_ptr<PacketSource>> OpenFile(const std::string& path, const FileOptions& options) {
  RAMPART_ASSIGN_OR_RETURN(auto sniff, Sniff(path));
  const auto [gzip, magic] = sniff;
  if (magic == kMagicPcapng) return OpenWithLibpcap(path, gzip, options);
  if (magic == kMagicMicro || magic == kMagicNano || Swap32(magic) == kMagicMicro || Swap32(magic) == kMagicNano) {
    auto source = std::make_unique<PcapFileSource>(path, options);
    RAMPART_RETURN_IF_ERROR(source->Open(gzip));
    return std::unique_ptr<PacketSource>(std::move(source));
  }
  return InvalidArgumentError(path + ": not a pcap or pcapng capture file");
}

}  // namespace rampart::capture
