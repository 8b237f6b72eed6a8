#pragma once
// Packet and capture-file builders for tests: real frames with correct
// lengths and checksums (or deliberately wrong ones), TCP conversations
// with consistent sequence numbers, and classic pcap files.
//
//   testing::TcpConversation c("10.0.0.1", 40000, "10.0.0.2", 80);
//   testing::PcapWriter pcap(dir.File("x.pcap"));
//   pcap.Add(c.Handshake());
//   pcap.Add(c.Client("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
//   pcap.Add(c.Server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
//   pcap.Add(c.Close());
//   ASSERT_TRUE(pcap.Close().ok());

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status/status.h"

namespace rampart::testing {

using Bytes = std::vector<uint8_t>;

inline Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

// One packet's headers. Addresses with ':' make IPv6.
struct PacketSpec {
  std::string src = "10.0.0.1";
  std::string dst = "10.0.0.2";
  uint8_t proto = 6;          // 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, or any (payload follows IP).
  uint16_t sport = 40000;
  uint16_t dport = 80;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t tcp_flags = 0x18;   // PSH|ACK
  uint16_t window = 65535;
  Bytes tcp_options;          // Raw, padded to 4 bytes by the builder.
  uint8_t icmp_type = 8;
  uint8_t icmp_code = 0;
  Bytes payload;
  uint8_t ttl = 64;
  uint32_t ip_id = 1;
  bool df = false;
  Bytes ip_options;           // IPv4 options, raw, padded to 4 bytes.
  std::vector<uint16_t> vlans;  // 802.1Q tags, outer first.
  bool bad_l4_checksum = false;
  bool bad_ip_checksum = false;
};

// The IP datagram (header + L4 header + payload).
Bytes BuildIp(const PacketSpec& spec);
// An Ethernet frame carrying BuildIp(spec), with the VLAN tags.
Bytes BuildEthernet(const PacketSpec& spec);
// An Ethernet frame around any ethertype payload.
Bytes EthernetFrame(uint16_t ethertype, const Bytes& payload, const std::vector<uint16_t>& vlans = {});
// Splits an IPv4 datagram into fragments of at most `max_data` bytes of
// data each (a multiple of 8), as Ethernet frames.
std::vector<Bytes> FragmentIpv4(const Bytes& datagram, size_t max_data);
// The same for IPv6 (a fragment header with `id` after the fixed header).
std::vector<Bytes> FragmentIpv6(const Bytes& datagram, size_t max_data, uint32_t id);

// Both directions of one TCP connection with consistent sequence numbers.
// Each call returns Ethernet frames (one per segment of at most `mss` bytes).
class TcpConversation {
 public:
  TcpConversation(std::string client, uint16_t client_port, std::string server, uint16_t server_port,
                  uint32_t client_isn = 1000, uint32_t server_isn = 5000);
  std::vector<Bytes> Handshake();  // SYN, SYN/ACK, ACK.
  std::vector<Bytes> Client(std::string_view data, size_t mss = 1460);
  std::vector<Bytes> Server(std::string_view data, size_t mss = 1460);
  std::vector<Bytes> Close();      // FIN/ACK both ways and the last ACK.
  // A segment with explicit sequence number (retransmissions, overlaps, holes);
  // does not move the conversation's own counters.
  Bytes ClientSegmentAt(uint32_t seq, std::string_view data) const;
  Bytes ServerSegmentAt(uint32_t seq, std::string_view data) const;
  uint32_t client_next() const { return cseq_; }
  uint32_t server_next() const { return sseq_; }
  PacketSpec& base() { return base_; }

 private:
  Bytes Segment(bool from_client, uint32_t seq, uint32_t ack, uint8_t flags, std::string_view data) const;
  PacketSpec base_;
  std::string client_, server_;
  uint16_t cport_, sport_;
  uint32_t cseq_, sseq_;
};

// A classic pcap file (microsecond timestamps). Frames get increasing
// timestamps from `start_nanos` in steps of `step_nanos` unless given one.
class PcapWriter {
 public:
  explicit PcapWriter(std::string path, uint32_t linktype = 1, int64_t start_nanos = 1'700'000'000'000'000'000,
                      int64_t step_nanos = 1'000'000);
  void Add(const Bytes& frame);
  void Add(const std::vector<Bytes>& frames);
  void AddAt(int64_t timestamp_nanos, const Bytes& frame, uint32_t wire_length = 0);
  // Writes the file. kPermissionDenied / kNotFound from the file system.
  Status Close();
  int64_t next_nanos() const { return next_; }

 private:
  std::string path_;
  uint32_t linktype_;
  int64_t next_;
  int64_t step_;
  std::string data_;
};

}  // namespace rampart::testing
