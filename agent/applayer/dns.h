#pragma once
// DNS messages (RFC 1035) from UDP datagrams or TCP (length-prefixed):
// header, questions, answer and authority records, with name
// decompression that is bounded (pointer loops, length, label count).
// Additional records are counted, not kept.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::applayer {

struct DnsQuestion {
  std::string name;  // Dotted, no final dot; "" for the root.
  uint16_t type = 0;
  uint16_t qclass = 0;
};

struct DnsRecord {
  std::string name;
  uint16_t type = 0;
  uint16_t rclass = 0;
  uint32_t ttl = 0;
  std::vector<uint8_t> rdata;  // As on the wire.
  std::string rdata_text;      // Address, decompressed name, TXT text, SOA mname; "" otherwise.
  // SOA fields (type 6).
  std::string soa_rname;
  uint32_t soa_serial = 0, soa_refresh = 0, soa_retry = 0, soa_expire = 0, soa_minimum = 0;
  // SRV fields (type 33).
  uint16_t srv_priority = 0, srv_weight = 0, srv_port = 0;
};

struct DnsMessage {
  uint64_t tx_id = 0;  // Set by the flow's app layer.
  uint16_t id = 0;
  uint16_t flags = 0;
  bool response = false;
  uint8_t opcode = 0;
  uint8_t rcode = 0;
  bool z = false;      // The reserved Z bit is set.
  std::vector<DnsQuestion> questions;
  std::vector<DnsRecord> answers;
  std::vector<DnsRecord> authorities;
  uint16_t additional_count = 0;

  void Clear();
};

// Why a message could not be parsed completely (Suricata's dns.* events).
enum class DnsProblem : uint8_t { kNone, kMalformed, kNameTooLong, kInfiniteLoop, kTooManyLabels };

// Parses one message. Returns false when even the header or the questions
// cannot be read (then it is not DNS, or hopelessly broken); true otherwise,
// with *problem set when later sections were cut short (what was read is kept).
bool ParseDnsMessage(const uint8_t* data, size_t len, DnsMessage* out, DnsProblem* problem);

// A cheap plausibility test for protocol detection: a header whose counts
// fit the length and whose first question name parses.
bool LooksLikeDns(const uint8_t* data, size_t len);

// Names Suricata prints: "A", "AAAA", "CNAME", ... or the number.
std::string DnsTypeName(uint16_t type);
// "NOERROR", "NXDOMAIN", ... or the number.
std::string DnsRcodeName(uint8_t rcode);

}  // namespace rampart::applayer
