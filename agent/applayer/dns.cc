#include "agent/applayer/dns.h"

#include <arpa/inet.h>

#include <cstring>

namespace rampart::applayer {
namespace {

inline uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t Be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 | p[3];
}

constexpr int kMaxJumps = 64;
constexpr int kMaxLabels = 127;
constexpr size_t kMaxName = 1025;  // Printed form (escapes make it longer than 255).

// Reads a (possibly compressed) name starting at *pos. On success *pos is
// just past the name in the original position. Appends the dotted form to
// *out. Bytes outside printable ASCII and '.' inside labels are escaped.
DnsProblem ReadName(const uint8_t* msg, size_t len, size_t* pos, std::string* out) {
  size_t p = *pos;
  size_t after = 0;
  bool jumped = false;
  int jumps = 0, labels = 0;
  bool first = true;
  while (true) {
    if (p >= len) return DnsProblem::kMalformed;
    const uint8_t l = msg[p];
    if (l == 0) {
      ++p;
      break;
    }
    if ((l & 0xc0) == 0xc0) {
      if (p + 1 >= len) return DnsProblem::kMalformed;
      const size_t target = static_cast<size_t>(l & 0x3f) << 8 | msg[p + 1];
      if (!jumped) after = p + 2;
      jumped = true;
      if (++jumps > kMaxJumps || target >= len) return DnsProblem::kInfiniteLoop;
      p = target;
      continue;
    }
    if ((l & 0xc0) != 0) return DnsProblem::kMalformed;  // Extended label types.
    if (p + 1 + l > len) return DnsProblem::kMalformed;
    if (++labels > kMaxLabels) return DnsProblem::kTooManyLabels;
    if (!first) out->push_back('.');
    first = false;
    for (size_t i = 0; i < l; ++i) {
      const uint8_t c = msg[p + 1 + i];
      if (c > 0x20 && c < 0x7f && c != '.' && c != '\\') {
        out->push_back(static_cast<char>(c));
      } else {
        static const char kHex[] = "0123456789abcdef";
        out->push_back('\\');
        out->push_back('x');
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
      }
    }
    if (out->size() > kMaxName) return DnsProblem::kNameTooLong;
    p += 1 + l;
  }
  *pos = jumped ? after : p;
  return DnsProblem::kNone;
}

DnsProblem ReadRecord(const uint8_t* msg, size_t len, size_t* pos, DnsRecord* r) {
  if (DnsProblem pr = ReadName(msg, len, pos, &r->name); pr != DnsProblem::kNone) return pr;
  if (*pos + 10 > len) return DnsProblem::kMalformed;
  const uint8_t* h = msg + *pos;
  r->type = Be16(h);
  r->rclass = Be16(h + 2);
  r->ttl = Be32(h + 4);
  const uint16_t rdlen = Be16(h + 8);
  *pos += 10;
  if (*pos + rdlen > len) return DnsProblem::kMalformed;
  const uint8_t* rd = msg + *pos;
  r->rdata.assign(rd, rd + rdlen);
  char buf[64];
  switch (r->type) {
    case 1:  // A
      if (rdlen == 4 && inet_ntop(AF_INET, rd, buf, sizeof(buf))) r->rdata_text = buf;
      break;
    case 28:  // AAAA
      if (rdlen == 16 && inet_ntop(AF_INET6, rd, buf, sizeof(buf))) r->rdata_text = buf;
      break;
    case 2:   // NS
    case 5:   // CNAME
    case 12:  // PTR
    case 39: {  // DNAME
      size_t np = *pos;
      if (ReadName(msg, *pos + rdlen, &np, &r->rdata_text) != DnsProblem::kNone) r->rdata_text.clear();
      break;
    }
    case 15: {  // MX: preference, exchange
      if (rdlen >= 3) {
        size_t np = *pos + 2;
        if (ReadName(msg, *pos + rdlen, &np, &r->rdata_text) != DnsProblem::kNone) r->rdata_text.clear();
      }
      break;
    }
    case 16: {  // TXT: character strings
      size_t i = 0;
      while (i < rdlen) {
        const uint8_t sl = rd[i];
        if (i + 1 + sl > rdlen) break;
        r->rdata_text.append(reinterpret_cast<const char*>(rd + i + 1), sl);
        i += 1 + sl;
      }
      break;
    }
    case 6: {  // SOA
      size_t np = *pos;
      std::string mname;
      if (ReadName(msg, *pos + rdlen, &np, &mname) == DnsProblem::kNone &&
          ReadName(msg, *pos + rdlen, &np, &r->soa_rname) == DnsProblem::kNone && np + 20 <= *pos + rdlen) {
        r->rdata_text = mname;
        r->soa_serial = Be32(msg + np);
        r->soa_refresh = Be32(msg + np + 4);
        r->soa_retry = Be32(msg + np + 8);
        r->soa_expire = Be32(msg + np + 12);
        r->soa_minimum = Be32(msg + np + 16);
      }
      break;
    }
    case 33: {  // SRV
      if (rdlen >= 7) {
        r->srv_priority = Be16(rd);
        r->srv_weight = Be16(rd + 2);
        r->srv_port = Be16(rd + 4);
        size_t np = *pos + 6;
        if (ReadName(msg, *pos + rdlen, &np, &r->rdata_text) != DnsProblem::kNone) r->rdata_text.clear();
      }
      break;
    }
    default:
      break;
  }
  *pos += rdlen;
  return DnsProblem::kNone;
}

}  // namespace

void DnsMessage::Clear() {
  tx_id = 0;
  id = flags = 0;
  response = z = false;
  opcode = rcode = 0;
  questions.clear();
  answers.clear();
  authorities.clear();
  additional_count = 0;
}

bool ParseDnsMessage(const uint8_t* data, size_t len, DnsMessage* out, DnsProblem* problem) {
  out->Clear();
  *problem = DnsProblem::kNone;
  if (len < 12) return false;
  out->id = Be16(data);
  out->flags = Be16(data + 2);
  out->response = (out->flags & 0x8000) != 0;
  out->opcode = static_cast<uint8_t>((out->flags >> 11) & 0x0f);
  out->z = (out->flags & 0x0040) != 0;
  out->rcode = static_cast<uint8_t>(out->flags & 0x0f);
  const uint16_t qd = Be16(data + 4), an = Be16(data + 6), ns = Be16(data + 8);
  out->additional_count = Be16(data + 10);
  size_t pos = 12;
  // Each question takes at least 5 bytes: refuse counts the length cannot hold.
  if (static_cast<size_t>(qd) * 5 > len - 12) return false;
  for (int i = 0; i < qd; ++i) {
    DnsQuestion q;
    if (DnsProblem pr = ReadName(data, len, &pos, &q.name); pr != DnsProblem::kNone) {
      *problem = pr;
      return !out->questions.empty();
    }
    if (pos + 4 > len) {
      *problem = DnsProblem::kMalformed;
      return !out->questions.empty();
    }
    q.type = Be16(data + pos);
    q.qclass = Be16(data + pos + 2);
    pos += 4;
    out->questions.push_back(std::move(q));
  }
  for (int i = 0; i < an; ++i) {
    DnsRecord r;
    if (DnsProblem pr = ReadRecord(data, len, &pos, &r); pr != DnsProblem::kNone) {
      *problem = pr;
      return true;
    }
    out->answers.push_back(std::move(r));
  }
  for (int i = 0; i < ns; ++i) {
    DnsRecord r;
    if (DnsProblem pr = ReadRecord(data, len, &pos, &r); pr != DnsProblem::kNone) {
      *problem = pr;
      return true;
    }
    out->authorities.push_back(std::move(r));
  }
  return true;
}

bool LooksLikeDns(const uint8_t* data, size_t len) {
  if (len < 12) return false;
  const uint16_t flags = Be16(data + 2);
  const uint8_t opcode = (flags >> 11) & 0x0f;
  if (opcode > 6 || opcode == 3) return false;
  const uint16_t qd = Be16(data + 4), an = Be16(data + 6), ns = Be16(data + 8), ar = Be16(data + 10);
  const bool response = (flags & 0x8000) != 0;
  if (!response && qd == 0) return false;
  if (qd > 64 || static_cast<size_t>(qd) * 5 + (static_cast<size_t>(an) + ns + ar) * 11 > len - 12 + 64) {
    // Counts far beyond what the datagram can hold (allowing for a cut capture).
    if (static_cast<size_t>(qd) * 5 > len) return false;
  }
  if (qd == 0) return an + ns > 0;
  std::string name;
  size_t pos = 12;
  if (ReadName(data, len, &pos, &name) != DnsProblem::kNone) return false;
  return pos + 4 <= len;
}

std::string DnsTypeName(uint16_t type) {
  switch (type) {
    case 1: return "A";
    case 2: return "NS";
    case 3: return "MD";
    case 4: return "MF";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 7: return "MB";
    case 8: return "MG";
    case 9: return "MR";
    case 10: return "NULL";
    case 11: return "WKS";
    case 12: return "PTR";
    case 13: return "HINFO";
    case 14: return "MINFO";
    case 15: return "MX";
    case 16: return "TXT";
    case 17: return "RP";
    case 18: return "AFSDB";
    case 19: return "X25";
    case 20: return "ISDN";
    case 21: return "RT";
    case 22: return "NSAP";
    case 23: return "NSAPPTR";
    case 24: return "SIG";
    case 25: return "KEY";
    case 26: return "PX";
    case 27: return "GPOS";
    case 28: return "AAAA";
    case 29: return "LOC";
    case 30: return "NXT";
    case 33: return "SRV";
    case 34: return "ATMA";
    case 35: return "NAPTR";
    case 36: return "KX";
    case 37: return "CERT";
    case 38: return "A6";
    case 39: return "DNAME";
    case 41: return "OPT";
    case 42: return "APL";
    case 43: return "DS";
    case 44: return "SSHFP";
    case 45: return "IPSECKEY";
    case 46: return "RRSIG";
    case 47: return "NSEC";
    case 48: return "DNSKEY";
    case 49: return "DHCID";
    case 50: return "NSEC3";
    case 51: return "NSEC3PARAM";
    case 52: return "TLSA";
    case 55: return "HIP";
    case 59: return "CDS";
    case 60: return "CDNSKEY";
    case 64: return "SVCB";
    case 65: return "HTTPS";
    case 99: return "SPF";
    case 249: return "TKEY";
    case 250: return "TSIG";
    case 251: return "IXFR";
    case 252: return "AXFR";
    case 255: return "ANY";
    case 256: return "URI";
    case 257: return "CAA";
    default: return std::to_string(type);
  }
}

std::string DnsRcodeName(uint8_t rcode) {
  switch (rcode) {
    case 0: return "NOERROR";
    case 1: return "FORMERR";
    case 2: return "SERVFAIL";
    case 3: return "NXDOMAIN";
    case 4: return "NOTIMP";
    case 5: return "REFUSED";
    case 6: return "YXDOMAIN";
    case 7: return "YXRRSET";
    case 8: return "NXRRSET";
    case 9: return "NOTAUTH";
    case 10: return "NOTZONE";
    default: return std::to_string(rcode);
  }
}

}  // namespace rampart::applayer
