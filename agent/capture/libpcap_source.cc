// Sources backed by libpcap: pcapng files (and gzip-compressed captures of
// either format), and live interfaces. libpcap reuses its buffer on the next
// call, so each frame is copied once into the batch buffer.

#include <pcap/pcap.h>
#include <poll.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "agent/capture/capture.h"
#include "agent/capture/capture_internal.h"

namespace rampart::capture {
namespace {

// A FILE* that reads a gzip stream, for pcap_fopen_offline.
ssize_t GzRead(void* cookie, char* buf, size_t size) {
  const int n = gzread(static_cast<gzFile>(cookie), buf, static_cast<unsigned>(std::min<size_t>(size, 1u << 30)));
  if (n < 0) {
    errno = EIO;
    return -1;
  }
  return n;
}
int GzClose(void* cookie) { return gzclose(static_cast<gzFile>(cookie)) == Z_OK ? 0 : EOF; }

// libpcap's read errors for well-formed pcapng it does not support: one
// link type and one snapshot length per file, known section versions. Its
// API has no error codes, so its messages (libpcap 1.10's sf-pcapng.c) tell.
bool BeyondLibpcap(const std::string& why) {
  return why.find("different from the type of the first interface") != std::string::npos ||
         why.find("different from the snapshot length of the first interface") != std::string::npos ||
         why.find("unknown pcapng savefile major version") != std::string::npos;
}

int64_t Nanos(const struct pcap_pkthdr* h, bool nano) {
  return static_cast<int64_t>(h->ts.tv_sec) * 1000000000 +
         (nano ? static_cast<int64_t>(h->ts.tv_usec) : static_cast<int64_t>(h->ts.tv_usec) * 1000);
}

class LibpcapSource : public PacketSource, protected SourceBase {
 public:
  LibpcapSource(pcap_t* p, LinkType lt, std::string what, int buffers, size_t buffer_size, bool live)
      : p_(p), link_type_(lt), what_(std::move(what)), pool_(buffers, buffer_size), live_(live) {}
  ~LibpcapSource() override {
    if (p_ != nullptr) pcap_close(p_);
  }

  void Stop() override {
    stopped_.store(true);
    pool_.Close();
  }
  LinkType link_type() const override { return link_type_; }
  std::string Describe() const override { return what_; }
  SourceStats Stats() override {
    SourceStats s;
    s.packets = count_;
    s.bytes = bytes_;
    if (live_) {
      struct pcap_stat ps = {};
      if (pcap_stats(p_, &ps) == 0) {
        s.kernel_packets = ps.ps_recv;
        s.kernel_drops = ps.ps_drop;
        s.interface_drops = ps.ps_ifdrop;
      }
    }
    return s;
  }

 protected:
  // Copies one frame into the batch; false when it does not fit.
  bool Add(FrameBatch* batch, const struct pcap_pkthdr* h, const u_char* bytes) {
    std::vector<uint8_t>& buf = Buffer(batch);
    size_t& used = Used(batch);
    const size_t len = h->caplen;
    if (buf.size() - used < len) return false;
    std::memcpy(buf.data() + used, bytes, len);
    Frame f;
    f.timestamp_nanos = Nanos(h, true);
    f.bytes = {buf.data() + used, len};
    f.wire_length = h->len;
    f.number = ++count_;
    used += len;
    bytes_ += len;
    Frames(batch).push_back(f);
    return true;
  }

  pcap_t* p_;
  LinkType link_type_;
  std::string what_;
  BufferPool pool_;
  bool live_;
  uint64_t count_ = 0;
  uint64_t bytes_ = 0;
  std::atomic<bool> stopped_{false};
};

class OfflineSource final : public LibpcapSource {
 public:
  using LibpcapSource::LibpcapSource;

  Result<FrameBatch*> Next() override {
    if (!pending_.ok()) {
      Status e = pending_;
      pending_ = Status::Ok();
      return e;
    }
    if (done_ || stopped_.load(std::memory_order_relaxed)) return nullptr;
    FrameBatch* batch = pool_.Acquire();
    if (batch == nullptr) return nullptr;
    Status error;
    if (held_) {
      // The frame that did not fit last time (libpcap's buffer is still intact
      // because pcap_next_ex has not been called since).
      Add(batch, held_hdr_, held_data_);
      held_ = false;
    }
    while (true) {
      struct pcap_pkthdr* h = nullptr;
      const u_char* data = nullptr;
      const int r = pcap_next_ex(p_, &h, &data);
      if (r == 1) {
        if (!Add(batch, h, data)) {
          held_ = true;
          held_hdr_ = h;
          held_data_ = data;
          break;
        }
        continue;
      }
      done_ = true;
      if (r == PCAP_ERROR) {
        const std::string why = pcap_geterr(p_);
        if (BeyondLibpcap(why)) {
          // Not damage: the rest of the file is in a form libpcap does not
          // read. The file is refused (after what could be read), not
          // reported as damaged.
          error = UnimplementedError(what_ + ": libpcap cannot read this capture beyond packet " +
                                     std::to_string(count_) + ": " + why);
        } else {
          error = DataLossError(what_ + ": corrupt or truncated capture after packet " + std::to_string(count_) +
                                ": " + why);
        }
      }
      break;
    }
    if (Frames(batch).empty()) {
      batch->Release();
      if (!error.ok()) return error;
      return nullptr;
    }
    if (!error.ok()) pending_ = error;
    return batch;
  }

  // An error found while filling a batch is reported on the call after it.
  Status pending_;
  bool done_ = false;
  bool held_ = false;
  struct pcap_pkthdr* held_hdr_ = nullptr;
  const u_char* held_data_ = nullptr;
};

class LiveSource final : public LibpcapSource {
 public:
  LiveSource(pcap_t* p, LinkType lt, const LiveOptions& o)
      : LibpcapSource(p, lt, "interface " + o.interface, o.buffers, std::max<size_t>(o.buffer_size, 2 * 65536), true),
        snap_(static_cast<size_t>(o.snap_length)),
        poll_ms_(o.poll_interval_ms) {}

  Result<FrameBatch*> Next() override {
    if (!pending_.ok()) {
      Status e = pending_;
      pending_ = Status::Ok();
      return e;
    }
    if (stopped_.load(std::memory_order_relaxed)) return nullptr;
    FrameBatch* batch = pool_.Acquire();
    if (batch == nullptr) return nullptr;
    batch_ = batch;
    bool waited = false;
    while (!stopped_.load(std::memory_order_relaxed)) {
      const size_t room = Buffer(batch).size() - Used(batch);
      if (room < snap_ || Frames(batch).size() >= 4096) break;
      const int cnt = static_cast<int>(std::min<size_t>(room / snap_, 512));
      const int n = pcap_dispatch(p_, cnt, &LiveSource::OnPacket, reinterpret_cast<u_char*>(this));
      if (n == PCAP_ERROR) {
        const std::string err = pcap_geterr(p_);
        if (!Frames(batch).empty()) {
          pending_ = UnavailableError(what_ + ": capture failed: " + err);
          return batch;
        }
        batch->Release();
        return UnavailableError(what_ + ": capture failed: " + err);
      }
      if (n > 0) continue;
      if (!Frames(batch).empty() || waited) break;
      struct pollfd pfd = {pcap_get_selectable_fd(p_), POLLIN, 0};
      ::poll(&pfd, 1, poll_ms_);
      waited = true;
    }
    return batch;
  }

 private:
  static void OnPacket(u_char* user, const struct pcap_pkthdr* h, const u_char* bytes) {
    auto* self = reinterpret_cast<LiveSource*>(user);
    self->Add(self->batch_, h, bytes);  // Room for a full snap length was checked.
  }

  size_t snap_;
  int poll_ms_;
  FrameBatch* batch_ = nullptr;
  Status pending_;
};

Status ActivateError(pcap_t* p, int rc, const std::string& iface) {
  const std::string text = pcap_geterr(p);
  switch (rc) {
    case PCAP_ERROR_PERM_DENIED:
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      return PermissionDeniedError("interface " + iface + ": " + text +
                                   " (capturing needs root or CAP_NET_RAW)");
    case PCAP_ERROR_NO_SUCH_DEVICE:
      return NotFoundError("interface " + iface + ": no such interface (" + text + ")");
    case PCAP_ERROR_IFACE_NOT_UP:
      return UnavailableError("interface " + iface + " is down");
    default:
      return UnavailableError("interface " + iface + ": cannot capture: " + text);
  }
}

}  // namespace

Result<std::unique_ptr<PacketSource>> OpenWithLibpcap(const std::string& path, bool gzip, const FileOptions& options) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  FILE* f = nullptr;
  if (gzip) {
    gzFile gz = gzopen(path.c_str(), "rb");
    if (gz == nullptr) return ErrnoError(errno, "cannot open " + path);
    cookie_io_functions_t io = {GzRead, nullptr, nullptr, GzClose};
    f = fopencookie(gz, "r", io);
    if (f == nullptr) {
      gzclose(gz);
      return InternalError("cannot wrap gzip stream of " + path);
    }
  } else {
    f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return ErrnoError(errno, "cannot open " + path);
  }
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (p == nullptr) {
    std::fclose(f);
    return InvalidArgumentError(path + ": cannot read capture: " + errbuf);
  }
  const int dlt = pcap_datalink(p);
  auto lt = FromDlt(dlt);
  if (!lt) {
    pcap_close(p);
    return UnimplementedError(path + ": " + UnsupportedLinkType(static_cast<uint32_t>(dlt), true));
  }
  auto src = std::make_unique<OfflineSource>(p, *lt, "file " + path, options.buffers,
                                             std::max<size_t>(options.buffer_size, 2 * 262144), false);
  return std::unique_ptr<PacketSource>(std::move(src));
}

Result<std::unique_ptr<PacketSource>> OpenLive(const LiveOptions& o) {
  if (o.interface.empty()) return InvalidArgumentError("no interface given");
  if (o.snap_length < 64 || o.snap_length > 262144)
    return InvalidArgumentError("snap length must be 64..262144, got " + std::to_string(o.snap_length));
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_create(o.interface.c_str(), errbuf);
  if (p == nullptr) return UnavailableError("interface " + o.interface + ": " + errbuf);
  pcap_set_snaplen(p, o.snap_length);
  pcap_set_promisc(p, o.promiscuous ? 1 : 0);
  pcap_set_timeout(p, o.poll_interval_ms);
  pcap_set_buffer_size(p, static_cast<int>(std::min<size_t>(o.buffer_bytes, 1u << 30)));
  pcap_set_immediate_mode(p, o.immediate ? 1 : 0);
  pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
  const int rc = pcap_activate(p);
  if (rc < 0) {
    Status s = ActivateError(p, rc, o.interface);
    pcap_close(p);
    return s;
  }
  const bool nano = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;
  if (!nano) {
    pcap_close(p);
    return UnavailableError("interface " + o.interface + ": nanosecond timestamps not available");
  }
  const int dlt = pcap_datalink(p);
  auto lt = FromDlt(dlt);
  if (!lt) {
    pcap_close(p);
    return UnimplementedError("interface " + o.interface + ": " + UnsupportedLinkType(static_cast<uint32_t>(dlt), true));
  }
  if (!o.bpf_filter.empty()) {
    struct bpf_program prog = {};
    if (pcap_compile(p, &prog, o.bpf_filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      Status s = InvalidArgumentError("bad capture filter '" + o.bpf_filter + "': " + pcap_geterr(p));
      pcap_close(p);
      return s;
    }
    const int set = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (set != 0) {
      Status s = InvalidArgumentError("cannot install capture filter: " + std::string(pcap_geterr(p)));
      pcap_close(p);
      return s;
    }
  }
  if (pcap_setnonblock(p, 1, errbuf) != 0) {
    pcap_close(p);
    return UnavailableError("interface " + o.interface + ": " + errbuf);
  }
  return std::unique_ptr<PacketSource>(std::make_unique<LiveSource>(p, *lt, o));
}

}  // namespace rampart::capture
