#include "tests/testing/packets.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <gtest/gtest.h>

namespace rampart::testing {
namespace {

void Put16(Bytes* b, uint16_t v) {
  b->push_back(static_cast<uint8_t>(v >> 8));
  b->push_back(static_cast<uint8_t>(v));
}
void Put32(Bytes* b, uint32_t v) {
  Put16(b, static_cast<uint16_t>(v >> 16));
  Put16(b, static_cast<uint16_t>(v));
}

uint32_t Sum(const uint8_t* d, size_t n, uint32_t s = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) s += static_cast<uint32_t>(d[i] << 8 | d[i + 1]);
  if (n & 1) s += static_cast<uint32_t>(d[n - 1] << 8);
  return s;
}
uint16_t Fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s);
}

bool ParseAddr(const std::string& text, uint8_t out[16], bool* v6) {
  *v6 = text.find(':') != std::string::npos;
  const int r = inet_pton(*v6 ? AF_INET6 : AF_INET, text.c_str(), out);
  if (r != 1) ADD_FAILURE() << "packet builder: bad address " << text;
  return r == 1;
}

Bytes Pad4(Bytes b) {
  while (b.size() % 4) b.push_back(0);
  return b;
}

}  // namespace

Bytes BuildIp(const PacketSpec& s) {
  uint8_t src[16] = {}, dst[16] = {};
  bool v6 = false, v6b = false;
  ParseAddr(s.src, src, &v6);
  ParseAddr(s.dst, dst, &v6b);
  // L4.
  Bytes l4;
  switch (s.proto) {
    case 6: {
      const Bytes opts = Pad4(s.tcp_options);
      Put16(&l4, s.sport);
      Put16(&l4, s.dport);
      Put32(&l4, s.seq);
      Put32(&l4, s.ack);
      l4.push_back(static_cast<uint8_t>(((20 + opts.size()) / 4) << 4));
      l4.push_back(s.tcp_flags);
      Put16(&l4, s.window);
      Put16(&l4, 0);  // checksum
      Put16(&l4, 0);  // urgent
      l4.insert(l4.end(), opts.begin(), opts.end());
      break;
    }
    case 17:
      Put16(&l4, s.sport);
      Put16(&l4, s.dport);
      Put16(&l4, static_cast<uint16_t>(8 + s.payload.size()));
      Put16(&l4, 0);
      break;
    case 1:
    case 58:
      l4.push_back(s.icmp_type);
      l4.push_back(s.icmp_code);
      Put16(&l4, 0);
      Put32(&l4, 0x00010001);  // id 1, seq 1
      break;
    default:
      break;
  }
  l4.insert(l4.end(), s.payload.begin(), s.payload.end());
  // L4 checksum with the pseudo-header.
  const size_t csum_at = s.proto == 6 ? 16 : (s.proto == 17 ? 6 : 2);
  if (s.proto == 6 || s.proto == 17 || s.proto == 1 || s.proto == 58) {
    uint32_t sum = 0;
    if (s.proto != 1) {
      sum = Sum(src, v6 ? 16 : 4, sum);
      sum = Sum(dst, v6 ? 16 : 4, sum);
      sum += s.proto;
      sum += static_cast<uint32_t>(l4.size() & 0xffff) + static_cast<uint32_t>(l4.size() >> 16);
    }
    uint16_t c = Fold(Sum(l4.data(), l4.size(), sum));
    if (s.proto == 17 && c == 0) c = 0xffff;
    if (s.bad_l4_checksum) c = static_cast<uint16_t>(c ^ 0x5a5a);
    l4[csum_at] = static_cast<uint8_t>(c >> 8);
    l4[csum_at + 1] = static_cast<uint8_t>(c);
  }
  Bytes ip;
  if (!v6) {
    const Bytes opts = Pad4(s.ip_options);
    const size_t hlen = 20 + opts.size();
    ip.push_back(static_cast<uint8_t>(0x40 | (hlen / 4)));
    ip.push_back(0);
    Put16(&ip, static_cast<uint16_t>(hlen + l4.size()));
    Put16(&ip, static_cast<uint16_t>(s.ip_id));
    Put16(&ip, s.df ? 0x4000 : 0);
    ip.push_back(s.ttl);
    ip.push_back(s.proto);
    Put16(&ip, 0);
    ip.insert(ip.end(), src, src + 4);
    ip.insert(ip.end(), dst, dst + 4);
    ip.insert(ip.end(), opts.begin(), opts.end());
    uint16_t c = Fold(Sum(ip.data(), ip.size()));
    if (s.bad_ip_checksum) c = static_cast<uint16_t>(c ^ 0x1111);
    ip[10] = static_cast<uint8_t>(c >> 8);
    ip[11] = static_cast<uint8_t>(c);
  } else {
    Put32(&ip, 0x60000000);
    Put16(&ip, static_cast<uint16_t>(l4.size()));
    ip.push_back(s.proto);
    ip.push_back(s.ttl);
    ip.insert(ip.end(), src, src + 16);
    ip.insert(ip.end(), dst, dst + 16);
  }
  ip.insert(ip.end(), l4.begin(), l4.end());
  return ip;
}

Bytes EthernetFrame(uint16_t ethertype, const Bytes& payload, const std::vector<uint16_t>& vlans) {
  Bytes f = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x66, 0x77, 0x88, 0x99, 0xaa};
  for (uint16_t v : vlans) {
    Put16(&f, 0x8100);
    Put16(&f, v);
  }
  Put16(&f, ethertype);
  f.insert(f.end(), payload.begin(), payload.end());
  return f;
}

Bytes BuildEthernet(const PacketSpec& spec) {
  const bool v6 = spec.src.find(':') != std::string::npos;
  return EthernetFrame(v6 ? 0x86dd : 0x0800, BuildIp(spec), spec.vlans);
}

std::vector<Bytes> FragmentIpv4(const Bytes& d, size_t max_data) {
  const size_t hlen = (d[0] & 0x0f) * 4u;
  const size_t total = d.size() - hlen;
  max_data &= ~size_t{7};
  std::vector<Bytes> out;
  for (size_t off = 0; off < total; off += max_data) {
    const size_t n = std::min(max_data, total - off);
    Bytes f(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(hlen));
    f.insert(f.end(), d.begin() + static_cast<std::ptrdiff_t>(hlen + off),
             d.begin() + static_cast<std::ptrdiff_t>(hlen + off + n));
    const uint16_t len = static_cast<uint16_t>(hlen + n);
    f[2] = static_cast<uint8_t>(len >> 8);
    f[3] = static_cast<uint8_t>(len);
    const uint16_t frag = static_cast<uint16_t>((off / 8) | (off + n < total ? 0x2000 : 0));
    f[6] = static_cast<uint8_t>(frag >> 8);
    f[7] = static_cast<uint8_t>(frag);
    f[10] = f[11] = 0;
    const uint16_t c = Fold(Sum(f.data(), hlen));
    f[10] = static_cast<uint8_t>(c >> 8);
    f[11] = static_cast<uint8_t>(c);
    out.push_back(EthernetFrame(0x0800, f));
  }
  return out;
}

std::vector<Bytes> FragmentIpv6(const Bytes& d, size_t max_data, uint32_t id) {
  const uint8_t next = d[6];
  const size_t total = d.size() - 40;
  max_data &= ~size_t{7};
  std::vector<Bytes> out;
  for (size_t off = 0; off < total; off += max_data) {
    const size_t n = std::min(max_data, total - off);
    Bytes f(d.begin(), d.begin() + 40);
    f[6] = 44;
    const uint16_t plen = static_cast<uint16_t>(8 + n);
    f[4] = static_cast<uint8_t>(plen >> 8);
    f[5] = static_cast<uint8_t>(plen);
    f.push_back(next);
    f.push_back(0);
    Put16(&f, static_cast<uint16_t>(off | (off + n < total ? 1 : 0)));
    Put32(&f, id);
    f.insert(f.end(), d.begin() + static_cast<std::ptrdiff_t>(40 + off),
             d.begin() + static_cast<std::ptrdiff_t>(40 + off + n));
    out.push_back(EthernetFrame(0x86dd, f));
  }
  return out;
}

TcpConversation::TcpConversation(std::string client, uint16_t client_port, std::string server, uint16_t server_port,
                                 uint32_t client_isn, uint32_t server_isn)
    : client_(std::move(client)),
      server_(std::move(server)),
      cport_(client_port),
      sport_(server_port),
      cseq_(client_isn),
      sseq_(server_isn) {}

Bytes TcpConversation::Segment(bool from_client, uint32_t seq, uint32_t ack, uint8_t flags,
                               std::string_view data) const {
  PacketSpec s = base_;
  s.src = from_client ? client_ : server_;
  s.dst = from_client ? server_ : client_;
  s.sport = from_client ? cport_ : sport_;
  s.dport = from_client ? sport_ : cport_;
  s.seq = seq;
  s.ack = ack;
  s.tcp_flags = flags;
  s.payload = ToBytes(data);
  return BuildEthernet(s);
}

std::vector<Bytes> TcpConversation::Handshake() {
  std::vector<Bytes> out;
  out.push_back(Segment(true, cseq_, 0, 0x02, {}));
  out.push_back(Segment(false, sseq_, cseq_ + 1, 0x12, {}));
  ++cseq_;
  ++sseq_;
  out.push_back(Segment(true, cseq_, sseq_, 0x10, {}));
  return out;
}

std::vector<Bytes> TcpConversation::Client(std::string_view data, size_t mss) {
  std::vector<Bytes> out;
  for (size_t off = 0; off < data.size(); off += mss) {
    const std::string_view part = data.substr(off, mss);
    out.push_back(Segment(true, cseq_, sseq_, 0x18, part));
    cseq_ += static_cast<uint32_t>(part.size());
  }
  return out;
}

std::vector<Bytes> TcpConversation::Server(std::string_view data, size_t mss) {
  std::vector<Bytes> out;
  for (size_t off = 0; off < data.size(); off += mss) {
    const std::string_view part = data.substr(off, mss);
    out.push_back(Segment(false, sseq_, cseq_, 0x18, part));
    sseq_ += static_cast<uint32_t>(part.size());
  }
  return out;
}

std::vector<Bytes> TcpConversation::Close() {
  std::vector<Bytes> out;
  out.push_back(Segment(true, cseq_, sseq_, 0x11, {}));
  ++cseq_;
  out.push_back(Segment(false, sseq_, cseq_, 0x11, {}));
  ++sseq_;
  out.push_back(Segment(true, cseq_, sseq_, 0x10, {}));
  return out;
}

Bytes TcpConversation::ClientSegmentAt(uint32_t seq, std::string_view data) const {
  return Segment(true, seq, sseq_, 0x18, data);
}

Bytes TcpConversation::ServerSegmentAt(uint32_t seq, std::string_view data) const {
  return Segment(false, seq, cseq_, 0x18, data);
}

PcapWriter::PcapWriter(std::string path, uint32_t linktype, int64_t start_nanos, int64_t step_nanos)
    : path_(std::move(path)), linktype_(linktype), next_(start_nanos), step_(step_nanos) {
  const uint32_t hdr[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 262144, linktype_};
  data_.append(reinterpret_cast<const char*>(hdr), 4);
  data_.append(reinterpret_cast<const char*>(&hdr[1]), 4);  // version 2.4 (little-endian 02 00 04 00)
  data_.append(reinterpret_cast<const char*>(&hdr[2]), 16);
}

void PcapWriter::Add(const Bytes& frame) { AddAt(next_, frame); }

void PcapWriter::Add(const std::vector<Bytes>& frames) {
  for (const Bytes& f : frames) Add(f);
}

void PcapWriter::AddAt(int64_t ts, const Bytes& frame, uint32_t wire_length) {
  const uint32_t rec[4] = {static_cast<uint32_t>(ts / 1'000'000'000),
                           static_cast<uint32_t>((ts % 1'000'000'000) / 1000), static_cast<uint32_t>(frame.size()),
                           wire_length != 0 ? wire_length : static_cast<uint32_t>(frame.size())};
  data_.append(reinterpret_cast<const char*>(rec), sizeof(rec));
  data_.append(reinterpret_cast<const char*>(frame.data()), frame.size());
  if (ts >= next_) next_ = ts + step_;
}

Status PcapWriter::Close() {
  FILE* f = std::fopen(path_.c_str(), "wb");
  if (f == nullptr) return ErrnoError(errno, "cannot write " + path_);
  const size_t n = std::fwrite(data_.data(), 1, data_.size(), f);
  const int rc = std::fclose(f);
  if (n != data_.size() || rc != 0) return DataLossError("short write to " + path_);
  return Status::Ok();
}

}  // namespace rampart::testing
