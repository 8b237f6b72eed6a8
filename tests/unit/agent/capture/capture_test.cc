// Capture files of every supported kind, broken ones, and a live capture on
// the loopback interface.

#include "agent/capture/capture.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "tests/testing/packets.h"
#include "tests/testing/temp_dir.h"

namespace rampart::capture {
namespace {

using testing::Bytes;

struct Read {
  std::vector<Frame> frames;
  std::vector<Bytes> bytes;
  Status error;
};

Read ReadAll(PacketSource& src) {
  Read r;
  while (true) {
    auto b = src.Next();
    if (!b) {
      r.error = b.error();
      break;
    }
    if (*b == nullptr) break;
    for (const Frame& f : (*b)->frames()) {
      r.frames.push_back(f);
      r.bytes.emplace_back(f.bytes.begin(), f.bytes.end());
    }
    (*b)->Release();
  }
  return r;
}

std::vector<Bytes> SomeFrames(int n) {
  std::vector<Bytes> out;
  for (int i = 0; i < n; ++i) {
    testing::PacketSpec s;
    s.proto = 17;
    s.sport = static_cast<uint16_t>(1000 + i);
    s.payload = Bytes(static_cast<size_t>(10 + i * 7), static_cast<uint8_t>(i));
    out.push_back(testing::BuildEthernet(s));
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

void Gzip(const std::string& in, const std::string& out) {
  gzFile g = gzopen(out.c_str(), "wb");
  ASSERT_NE(g, nullptr);
  const std::string data = ReadFile(in);
  ASSERT_EQ(gzwrite(g, data.data(), static_cast<unsigned>(data.size())), static_cast<int>(data.size()));
  gzclose(g);
}

class CaptureFileTest : public ::testing::Test {
 protected:
  testing::ScopedTempDir dir_{"capture"};
};

TEST_F(CaptureFileTest, ClassicPcapFramesTimestampsAndNumbers) {
  const auto frames = SomeFrames(500);
  testing::PcapWriter w(dir_.File("a.pcap"), 1, 1'600'000'000'123'456'000, 1'000);
  w.Add(frames);
  ASSERT_TRUE(w.Close().ok());
  FileOptions o;
  o.buffers = 2;
  o.buffer_size = 1 << 19;
  auto src = OpenFile(dir_.File("a.pcap"), o);
  ASSERT_TRUE(src) << src.error();
  EXPECT_EQ((*src)->link_type(), LinkType::kEthernet);
  Read r = ReadAll(**src);
  ASSERT_TRUE(r.error.ok()) << r.error;
  ASSERT_EQ(r.frames.size(), frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(r.bytes[i], frames[i]);
    EXPECT_EQ(r.frames[i].number, i + 1);
    EXPECT_EQ(r.frames[i].wire_length, frames[i].size());
    EXPECT_EQ(r.frames[i].timestamp_nanos, 1'600'000'000'123'456'000 + static_cast<int64_t>(i) * 1'000);
  }
  EXPECT_EQ((*src)->Stats().packets, 500u);
}

TEST_F(CaptureFileTest, BigEndianNanosecondPcap) {
  // Header and records written in big-endian order with the nanosecond magic.
  std::string data;
  auto be32 = [&](uint32_t v) {
    const uint32_t n = htonl(v);
    data.append(reinterpret_cast<const char*>(&n), 4);
  };
  be32(0xa1b23c4d);
  data.append("\x00\x02\x00\x04", 4);
  be32(0);
  be32(0);
  be32(65535);
  be32(101);  // LINKTYPE_RAW
  testing::PacketSpec s;
  s.proto = 17;
  const Bytes ip = testing::BuildIp(s);
  be32(1'700'000'000);
  be32(999'999'999);
  be32(static_cast<uint32_t>(ip.size()));
  be32(static_cast<uint32_t>(ip.size()));
  data.append(reinterpret_cast<const char*>(ip.data()), ip.size());
  WriteFile(dir_.File("be.pcap"), data);
  auto src = OpenFile(dir_.File("be.pcap"));
  ASSERT_TRUE(src) << src.error();
  EXPECT_EQ((*src)->link_type(), LinkType::kRawIp);
  Read r = ReadAll(**src);
  ASSERT_EQ(r.frames.size(), 1u);
  EXPECT_EQ(r.frames[0].timestamp_nanos, 1'700'000'000'999'999'999);
  EXPECT_EQ(r.bytes[0], ip);
}

TEST_F(CaptureFileTest, GzipCompressedPcap) {
  const auto frames = SomeFrames(50);
  testing::PcapWriter w(dir_.File("a.pcap"));
  w.Add(frames);
  ASSERT_TRUE(w.Close().ok());
  Gzip(dir_.File("a.pcap"), dir_.File("a.pcap.gz"));
  auto src = OpenFile(dir_.File("a.pcap.gz"));
  ASSERT_TRUE(src) << src.error();
  Read r = ReadAll(**src);
  ASSERT_TRUE(r.error.ok()) << r.error;
  ASSERT_EQ(r.bytes.size(), 50u);
  EXPECT_EQ(r.bytes[49], frames[49]);
}

// A minimal pcapng file: section header, one interface (Ethernet), packets.
std::string Pcapng(const std::vector<Bytes>& frames, uint16_t linktype = 1) {
  std::string out;
  auto u32 = [&](uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { out.append(reinterpret_cast<const char*>(&v), 2); };
  u32(0x0a0d0d0a);
  u32(28);
  u32(0x1a2b3c4d);
  u16(1);
  u16(0);
  u32(0xffffffff);
  u32(0xffffffff);
  u32(28);
  u32(1);  // IDB
  u32(20);
  u16(linktype);
  u16(0);
  u32(65535);
  u32(20);
  uint64_t ts = 1'700'000'000'000'000;  // microseconds
  for (const Bytes& f : frames) {
    const uint32_t padded = static_cast<uint32_t>((f.size() + 3) & ~size_t{3});
    const uint32_t len = 32 + padded;
    u32(6);  // EPB
    u32(len);
    u32(0);
    u32(static_cast<uint32_t>(ts >> 32));
    u32(static_cast<uint32_t>(ts));
    u32(static_cast<uint32_t>(f.size()));
    u32(static_cast<uint32_t>(f.size()));
    out.append(reinterpret_cast<const char*>(f.data()), f.size());
    out.append(padded - f.size(), '\0');
    u32(len);
    ts += 1000;
  }
  return out;
}

TEST_F(CaptureFileTest, PcapngLibpcapCannotReadIsRefusedNotDamaged) {
  const auto frames = SomeFrames(3);
  // A second interface with another link type after the packets: libpcap
  // reads one link type per file.
  std::string data = Pcapng(frames);
  auto u32 = [&](uint32_t v) { data.append(reinterpret_cast<const char*>(&v), 4); };
  u32(1);
  u32(20);
  u32(101);  // LINKTYPE_RAW, reserved 0
  u32(65535);
  u32(20);
  WriteFile(dir_.File("mixed.pcapng"), data);
  auto src = OpenFile(dir_.File("mixed.pcapng"));
  ASSERT_TRUE(src) << src.error();
  Read r = ReadAll(**src);
  EXPECT_EQ(r.bytes.size(), 3u);
  EXPECT_EQ(r.error.code(), StatusCode::kUnimplemented) << r.error;
  EXPECT_NE(r.error.message().find("libpcap cannot read this capture beyond packet 3"), std::string::npos)
      << r.error;
  // A pcapng file cut inside a block is damage.
  std::string cut = Pcapng(frames);
  cut.resize(cut.size() - 10);
  WriteFile(dir_.File("cut.pcapng"), cut);
  auto src2 = OpenFile(dir_.File("cut.pcapng"));
  ASSERT_TRUE(src2) << src2.error();
  Read r2 = ReadAll(**src2);
  EXPECT_EQ(r2.bytes.size(), 2u);
  EXPECT_EQ(r2.error.code(), StatusCode::kDataLoss) << r2.error;
}

TEST_F(CaptureFileTest, PcapngPlainAndGzip) {
  const auto frames = SomeFrames(20);
  WriteFile(dir_.File("a.pcapng"), Pcapng(frames));
  Gzip(dir_.File("a.pcapng"), dir_.File("a.pcapng.gz"));
  for (const char* name : {"a.pcapng", "a.pcapng.gz"}) {
    auto src = OpenFile(dir_.File(name));
    ASSERT_TRUE(src) << name << ": " << src.error();
    Read r = ReadAll(**src);
    ASSERT_TRUE(r.error.ok()) << r.error;
    ASSERT_EQ(r.bytes.size(), 20u) << name;
    EXPECT_EQ(r.bytes[7], frames[7]);
    EXPECT_EQ(r.frames[1].timestamp_nanos, 1'700'000'000'001'000'000);
  }
}

TEST_F(CaptureFileTest, TruncatedFileDeliversEveryWholePacketThenSaysWhere) {
  const auto frames = SomeFrames(30);
  testing::PcapWriter w(dir_.File("a.pcap"));
  w.Add(frames);
  ASSERT_TRUE(w.Close().ok());
  std::string data = ReadFile(dir_.File("a.pcap"));
  data.resize(data.size() - 5);
  WriteFile(dir_.File("cut.pcap"), data);
  auto src = OpenFile(dir_.File("cut.pcap"));
  ASSERT_TRUE(src);
  Read r = ReadAll(**src);
  EXPECT_EQ(r.bytes.size(), 29u);
  EXPECT_EQ(r.error.code(), StatusCode::kDataLoss);
  EXPECT_NE(r.error.message().find("truncated"), std::string::npos) << r.error;
  EXPECT_NE(r.error.message().find("packet 30"), std::string::npos) << r.error;
  // Where the damage starts, for a look with a hex editor.
  size_t at = 24;
  for (size_t i = 0; i < 29; ++i) at += 16 + frames[i].size();
  EXPECT_TRUE(r.error.message().ends_with("its record starts at byte " + std::to_string(at))) << r.error;
}

TEST_F(CaptureFileTest, CorruptRecordLengthIsAnError) {
  const auto frames = SomeFrames(3);
  testing::PcapWriter w(dir_.File("a.pcap"));
  w.Add(frames);
  ASSERT_TRUE(w.Close().ok());
  std::string data = ReadFile(dir_.File("a.pcap"));
  // The second record's captured length: 24 (file header) + 16 + first frame + 8.
  const size_t at = 24 + 16 + frames[0].size() + 8;
  const uint32_t huge = 50'000'000;
  std::memcpy(&data[at], &huge, 4);
  WriteFile(dir_.File("bad.pcap"), data);
  auto src = OpenFile(dir_.File("bad.pcap"));
  ASSERT_TRUE(src);
  Read r = ReadAll(**src);
  EXPECT_EQ(r.bytes.size(), 1u);
  EXPECT_EQ(r.error.code(), StatusCode::kDataLoss);
  EXPECT_NE(r.error.message().find("packet 2 claims 50000000"), std::string::npos) << r.error;
  EXPECT_TRUE(r.error.message().ends_with("its record starts at byte " + std::to_string(24 + 16 + frames[0].size())))
      << r.error;
}

TEST_F(CaptureFileTest, UnknownLinkTypeNamesItself) {
  testing::PcapWriter w(dir_.File("wifi.pcap"), 127);  // 802.11 radiotap
  w.Add(Bytes(40, 0));
  ASSERT_TRUE(w.Close().ok());
  auto src = OpenFile(dir_.File("wifi.pcap"));
  ASSERT_FALSE(src);
  EXPECT_EQ(src.error().code(), StatusCode::kUnimplemented);
  EXPECT_NE(src.error().message().find("link type 127 (IEEE802_11_RADIO)"), std::string::npos) << src.error();
}

TEST_F(CaptureFileTest, NotACaptureFileAndMissingFile) {
  WriteFile(dir_.File("text.pcap"), "this is not a capture file at all\n");
  auto a = OpenFile(dir_.File("text.pcap"));
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code(), StatusCode::kInvalidArgument);
  auto b = OpenFile(dir_.File("missing.pcap"));
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code(), StatusCode::kNotFound);
  WriteFile(dir_.File("tiny.pcap"), "\xd4\xc3\xb2\xa1");
  auto c = OpenFile(dir_.File("tiny.pcap"));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), StatusCode::kInvalidArgument);
}

TEST_F(CaptureFileTest, BatchesAreSharedAndComeBackAfterTheLastRelease) {
  // 2 buffers of 512 KiB: 5000 frames of ~100 bytes need several batches, so
  // reading on requires the earlier batches back.
  std::vector<Bytes> frames;
  for (int i = 0; i < 5000; ++i) frames.push_back(Bytes(100, static_cast<uint8_t>(i)));
  testing::PcapWriter w(dir_.File("many.pcap"));
  w.Add(frames);
  ASSERT_TRUE(w.Close().ok());
  FileOptions o;
  o.buffers = 2;
  o.buffer_size = 512 * 1024;
  auto src = OpenFile(dir_.File("many.pcap"), o);
  ASSERT_TRUE(src);
  size_t total = 0;
  std::vector<std::thread> releasers;
  while (true) {
    auto b = (*src)->Next();
    ASSERT_TRUE(b);
    if (*b == nullptr) break;
    FrameBatch* batch = *b;
    total += batch->frames().size();
    // Two users release from other threads, after the frames were checked.
    EXPECT_EQ(batch->frames()[0].bytes[0], static_cast<uint8_t>(batch->frames()[0].number - 1));
    batch->Retain(2);
    releasers.emplace_back([batch] { batch->Release(); });
    releasers.emplace_back([batch] {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      batch->Release();
    });
  }
  for (auto& t : releasers) t.join();
  EXPECT_EQ(total, 5000u);
}

TEST(CaptureLiveTest, LoopbackWithFilterSeesOurDatagram) {
  if (geteuid() != 0) GTEST_SKIP() << "live capture needs root or CAP_NET_RAW";
  LiveOptions o;
  o.interface = "lo";
  o.bpf_filter = "udp and dst port 47999";
  o.poll_interval_ms = 50;
  auto src = OpenLive(o);
  ASSERT_TRUE(src) << src.error();
  EXPECT_EQ((*src)->link_type(), LinkType::kEthernet);
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(47999);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool seen = false;
  for (int attempt = 0; attempt < 40 && !seen; ++attempt) {
    ASSERT_EQ(sendto(fd, "rampart-live", 12, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 12);
    auto b = (*src)->Next();
    ASSERT_TRUE(b) << b.error();
    ASSERT_NE(*b, nullptr);
    for (const Frame& f : (*b)->frames()) {
      const std::string_view bytes(reinterpret_cast<const char*>(f.bytes.data()), f.bytes.size());
      if (bytes.find("rampart-live") != std::string_view::npos) seen = true;
      EXPECT_GT(f.timestamp_nanos, 1'600'000'000'000'000'000);
    }
    (*b)->Release();
  }
  close(fd);
  EXPECT_TRUE(seen);
  (*src)->Stop();
  auto after = (*src)->Next();
  ASSERT_TRUE(after);
  EXPECT_EQ(*after, nullptr);
}

TEST(CaptureLiveTest, BadFilterAndUnknownInterface) {
  if (geteuid() != 0) GTEST_SKIP() << "live capture needs root or CAP_NET_RAW";
  LiveOptions o;
  o.interface = "lo";
  o.bpf_filter = "udp and and port";
  auto bad = OpenLive(o);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("bad capture filter"), std::string::npos);
  LiveOptions n;
  n.interface = "rampart-no-such0";
  auto none = OpenLive(n);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message().find("rampart-no-such0"), std::string::npos) << none.error();
}

}  // namespace
}  // namespace rampart::capture
