#include "agent/applayer/fields.h"

#include "agent/applayer/dns.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <utility>

#include "common/tls/digest.h"
#include "common/util/text.h"

namespace rampart::applayer {
namespace {

constexpr size_t kMaxMessage = 64 * 1024;  // Larger SIP/Kerberos/SSH messages end parsing of that side.

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}


// SIP header names and their compact forms (RFC 3261 7.3.3) -> buffer.
std::string_view SipHeaderBuffer(std::string_view name) {
  struct Map {
    std::string_view full, compact, buffer;
  };
  static constexpr Map kMap[] = {
      {"from", "f", "sip.from"},
      {"to", "t", "sip.to"},
      {"via", "v", "sip.via"},
      {"user-agent", "", "sip.user_agent"},
      {"content-type", "c", "sip.content_type"},
      {"content-length", "l", "sip.content_length"},
  };
  for (const Map& m : kMap) {
    if (EqualsIgnoreCase(name, m.full) || (!m.compact.empty() && EqualsIgnoreCase(name, m.compact))) return m.buffer;
  }
  return {};
}

bool IsSipMethodChar(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

// Minimal BER: tag and length at *pos; false when they do not fit.
bool Ber(const uint8_t* d, size_t n, size_t* pos, uint8_t* tag, size_t* len) {
  if (*pos + 2 > n) return false;
  *tag = d[(*pos)++];
  uint8_t l = d[(*pos)++];
  if (l < 0x80) {
    *len = l;
  } else {
    const int k = l & 0x7f;
    if (k == 0 || k > 4 || *pos + static_cast<size_t>(k) > n) return false;
    size_t v = 0;
    for (int i = 0; i < k; ++i) v = v << 8 | d[(*pos)++];
    *len = v;
  }
  return *len <= n - *pos;
}

int Krb5MsgType(uint8_t tag) {
  // [APPLICATION n], constructed: 0x60 | n.
  if ((tag & 0xe0) != 0x60) return -1;
  const int n = tag & 0x1f;
  return (n >= 10 && n <= 15) || n == 20 || n == 21 || n == 22 || n == 30 ? n : -1;
}

}  // namespace

std::string_view FieldProtoName(FieldProto p) {
  switch (p) {
    case FieldProto::kSip: return "sip";
    case FieldProto::kSsh: return "ssh";
    case FieldProto::kKrb5: return "krb5";
    case FieldProto::kSnmp: return "snmp";
    case FieldProto::kSmb: return "smb";
    case FieldProto::kLlmnr: return "llmnr";
  }
  return "";
}

bool LooksLikeSsh(const uint8_t* d, size_t n) { return n >= 4 && std::memcmp(d, "SSH-", 4) == 0; }

bool LooksLikeSip(const uint8_t* d, size_t n) {
  std::string_view s(reinterpret_cast<const char*>(d), std::min<size_t>(n, 512));
  const size_t eol = s.find('\n');
  if (eol == std::string_view::npos) return false;
  std::string_view line = Trim(s.substr(0, eol));
  if (line.starts_with("SIP/2.0 ")) return true;
  size_t i = 0;
  while (i < line.size() && IsSipMethodChar(line[i])) ++i;
  return i > 0 && line.ends_with(" SIP/2.0");
}

bool LooksLikeKrb5(const uint8_t* d, size_t n, bool tcp) {
  if (tcp) {
    if (n < 6) return false;
    const uint32_t rec = static_cast<uint32_t>(d[0]) << 24 | d[1] << 16 | d[2] << 8 | d[3];
    if (rec == 0 || rec > kMaxMessage) return false;
    d += 4;
    n -= 4;
  }
  size_t pos = 0, len = 0;
  uint8_t tag = 0;
  if (n < 2 || Krb5MsgType(d[0]) < 0) return false;
  if (!Ber(d, n, &pos, &tag, &len)) return tcp && n >= 2;  // TCP: the rest may follow.
  return pos < n && d[pos] == 0x30;
}

bool LooksLikeSnmp(const uint8_t* d, size_t n) {
  size_t pos = 0, len = 0;
  uint8_t tag = 0;
  if (!Ber(d, n, &pos, &tag, &len) || tag != 0x30) return false;
  size_t vlen = 0;
  if (!Ber(d, n, &pos, &tag, &vlen) || tag != 0x02 || vlen != 1) return false;
  const uint8_t v = d[pos];
  return v == 0 || v == 1 || v == 3;
}

bool LooksLikeLlmnr(const uint8_t* d, size_t n) {
  DnsMessage m;
  DnsProblem problem = DnsProblem::kNone;
  return n >= 12 && ParseDnsMessage(d, n, &m, &problem) && (m.response || !m.questions.empty());
}

bool LooksLikeSmb(const uint8_t* d, size_t n) {
  if (n < 8 || d[0] != 0x00) return false;
  return (d[4] == 0xff || d[4] == 0xfe || d[4] == 0xfd) && d[5] == 'S' && d[6] == 'M' && d[7] == 'B';
}

FieldRecord* FieldParser::NewRecord(int dir) {
  recent_.push_back(std::make_unique<FieldRecord>());
  FieldRecord* r = recent_.back().get();
  r->tx_id = next_tx_++;
  r->progress[dir] = 4;
  return r;
}

void FieldParser::Feed(int dir, const uint8_t* data, size_t len, bool gap, bool datagram,
                       std::vector<FieldRecord*>* out) {
  if (failed_[dir]) return;
  if (gap) {
    // Message boundaries are lost.
    Fail(dir);
    return;
  }
  switch (proto_) {
    case FieldProto::kSsh:
      Ssh(dir, data, len, out);
      return;
    case FieldProto::kSnmp:
      Snmp(dir, data, len, out);
      return;
    case FieldProto::kLlmnr: {
      if (datagram) {
        Llmnr(dir, data, len, out);
        return;
      }
      // Over TCP: messages with a 2-byte length, as DNS.
      std::string& b = buf_[dir];
      b.append(reinterpret_cast<const char*>(data), len);
      size_t pos = 0;
      while (b.size() - pos >= 2) {
        const auto* h = reinterpret_cast<const uint8_t*>(b.data() + pos);
        const size_t mlen = static_cast<size_t>(h[0]) << 8 | h[1];
        if (b.size() - pos < 2 + mlen) break;
        Llmnr(dir, h + 2, mlen, out);
        pos += 2 + mlen;
      }
      b.erase(0, pos);
      return;
    }
    case FieldProto::kSmb: {
      // NBSS: type, 17-bit length, then one SMB message (session messages only).
      buf_[dir].append(reinterpret_cast<const char*>(data), len);
      size_t pos = 0;
      std::string& b = buf_[dir];
      while (b.size() - pos >= 4) {
        const auto* h = reinterpret_cast<const uint8_t*>(b.data() + pos);
        const size_t mlen = static_cast<size_t>(h[1] & 1) << 16 | static_cast<size_t>(h[2]) << 8 | h[3];
        if (b.size() - pos < 4 + mlen) break;
        if (h[0] == 0x00) Smb(dir, h + 4, mlen, out);
        pos += 4 + mlen;
      }
      b.erase(0, pos);
      return;
    }
    case FieldProto::kKrb5:
      if (datagram) {
        Krb5(dir, data, len, out);
        return;
      }
      buf_[dir].append(reinterpret_cast<const char*>(data), len);
      while (buf_[dir].size() >= 4) {
        const auto* b = reinterpret_cast<const uint8_t*>(buf_[dir].data());
        const uint32_t rec = (static_cast<uint32_t>(b[0]) << 24 | b[1] << 16 | b[2] << 8 | b[3]) & 0x7fffffffu;
        if (rec > kMaxMessage) {
          Fail(dir);
          return;
        }
        if (buf_[dir].size() < 4 + rec) break;
        Krb5(dir, b + 4, rec, out);
        buf_[dir].erase(0, 4 + rec);
      }
      return;
    case FieldProto::kSip: {
      if (datagram) {
        Sip(dir, std::string_view(reinterpret_cast<const char*>(data), len), out);
        return;
      }
      std::string& b = buf_[dir];
      b.append(reinterpret_cast<const char*>(data), len);
      for (;;) {
        const size_t head_end = b.find("\r\n\r\n");
        if (head_end == std::string::npos) {
          if (b.size() > kMaxMessage) Fail(dir);
          return;
        }
        // Content-Length (or its compact form "l") decides where the body ends.
        size_t body = 0;
        std::string_view head(b.data(), head_end);
        size_t p = 0;
        while (p < head.size()) {
          size_t e = head.find('\n', p);
          if (e == std::string_view::npos) e = head.size();
          std::string_view line = Trim(head.substr(p, e - p));
          p = e + 1;
          const size_t colon = line.find(':');
          if (colon == std::string_view::npos) continue;
          if (SipHeaderBuffer(Trim(line.substr(0, colon))) == "sip.content_length") {
            body = 0;
            for (char c : Trim(line.substr(colon + 1))) {
              if (c < '0' || c > '9' || body > kMaxMessage) break;
              body = body * 10 + static_cast<size_t>(c - '0');
            }
          }
        }
        if (body > kMaxMessage) {
          Fail(dir);
          return;
        }
        const size_t total = head_end + 4 + body;
        if (b.size() < total) return;
        Sip(dir, std::string_view(b.data(), total), out);
        b.erase(0, total);
      }
    }
  }
}

void FieldParser::Sip(int dir, std::string_view msg, std::vector<FieldRecord*>* out) {
  size_t eol = msg.find('\n');
  if (eol == std::string_view::npos) return;
  std::string_view line = Trim(msg.substr(0, eol));
  FieldRecord r;
  const bool response = line.starts_with("SIP/2.0 ");
  // As Suricata: requests travel to the server, responses to the client.
  if (response != (dir == 1)) return;
  if (response) {
    std::string_view rest = line.substr(8);
    const size_t sp = rest.find(' ');
    r.Add(dir, "sip.protocol", "SIP/2.0");
    r.Add(dir, "sip.stat_code", rest.substr(0, sp));
    r.Add(dir, "sip.stat_msg", sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1));
    r.Add(dir, "sip.response_line", line);
  } else {
    const size_t a = line.find(' ');
    const size_t b = line.rfind(' ');
    if (a == std::string_view::npos || b <= a) return;
    r.Add(dir, "sip.method", line.substr(0, a));
    r.Add(dir, "sip.uri", line.substr(a + 1, b - a - 1));
    r.Add(dir, "sip.protocol", line.substr(b + 1));
    r.Add(dir, "sip.request_line", line);
  }
  // Headers up to the empty line; then the body (SDP when it says so).
  size_t p = eol + 1;
  bool sdp = false;
  while (p < msg.size()) {
    size_t e = msg.find('\n', p);
    if (e == std::string_view::npos) e = msg.size();
    std::string_view h = msg.substr(p, e - p);
    p = e + 1;
    if (!h.empty() && h.back() == '\r') h.remove_suffix(1);
    if (h.empty()) break;
    const size_t colon = h.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = Trim(h.substr(0, colon));
    const std::string_view value = Trim(h.substr(colon + 1));
    const std::string_view buffer = SipHeaderBuffer(name);
    if (!buffer.empty()) r.Add(dir, buffer, value);
    if (buffer == "sip.content_type" && value.starts_with("application/sdp")) sdp = true;
  }
  if (sdp && p < msg.size()) {
    // SDP (RFC 4566): "x=value" lines; after the first m= they describe a media.
    static constexpr std::pair<char, std::string_view> kSession[] = {
        {'o', "sdp.origin"},          {'s', "sdp.session_name"}, {'i', "sdp.session_info"},
        {'u', "sdp.uri"},             {'e', "sdp.email"},        {'p', "sdp.phone_number"},
        {'c', "sdp.connection_data"}, {'b', "sdp.bandwidth"},    {'t', "sdp.time"},
        {'r', "sdp.repeat_time"},     {'z', "sdp.timezone"},     {'k', "sdp.encryption_key"},
        {'a', "sdp.attribute"},       {'m', "sdp.media.media"}};
    static constexpr std::pair<char, std::string_view> kMedia[] = {{'i', "sdp.media.media_info"},
                                                                   {'c', "sdp.media.connection_data"},
                                                                   {'b', "sdp.media.bandwidth"},
                                                                   {'k', "sdp.media.encryption_key"},
                                                                   {'a', "sdp.media.attribute"},
                                                                   {'m', "sdp.media.media"}};
    bool media = false;
    while (p < msg.size()) {
      size_t e = msg.find('\n', p);
      if (e == std::string_view::npos) e = msg.size();
      std::string_view l = msg.substr(p, e - p);
      p = e + 1;
      if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      if (l.size() < 2 || l[1] != '=') continue;
      if (l[0] == 'm') media = true;
      using Table = std::span<const std::pair<char, std::string_view>>;
      for (const auto& [c, name] : media ? Table(kMedia) : Table(kSession)) {
        if (c == l[0]) {
          r.Add(dir, name, l.substr(2));
          break;
        }
      }
    }
  }
  FieldRecord* rec = NewRecord(dir);
  rec->fields = std::move(r.fields);
  out->push_back(rec);
}

void FieldParser::Ssh(int dir, const uint8_t* data, size_t len, std::vector<FieldRecord*>* out) {
  if (ssh_encrypted_[dir]) return;
  std::string& b = buf_[dir];
  b.append(reinterpret_cast<const char*>(data), len);
  bool progressed = false;
  ssh_started_ = true;
  while (!ssh_encrypted_[dir]) {
    if (!ssh_banner_[dir]) {
      // Identification line; a server may send other lines before it.
      const size_t eol = b.find('\n');
      if (eol == std::string::npos) {
        if (b.size() > 255 * 8) Fail(dir);
        break;
      }
      std::string_view line = Trim(std::string_view(b).substr(0, eol));
      if (line.starts_with("SSH-")) {
        std::string_view rest = line.substr(4);
        const size_t dash = rest.find('-');
        if (dash != std::string_view::npos) {
          ssh_.Add(dir, "ssh.proto", rest.substr(0, dash));
          std::string_view soft = rest.substr(dash + 1);
          ssh_.Add(dir, "ssh.software", soft.substr(0, soft.find(' ')));
        }
        ssh_banner_[dir] = true;
        ssh_.progress[dir] = std::max<uint8_t>(ssh_.progress[dir], 1);
        progressed = true;
      }
      b.erase(0, eol + 1);
      continue;
    }
    if (b.size() < 6) break;
    const auto* p = reinterpret_cast<const uint8_t*>(b.data());
    const uint32_t plen = static_cast<uint32_t>(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3];
    if (plen < 2 || plen > 256 * 1024) {
      Fail(dir);
      break;
    }
    if (b.size() < 4 + plen) {
      if (b.size() > kMaxMessage * 4) Fail(dir);
      break;
    }
    const uint8_t pad = p[4];
    const uint8_t type = p[5];
    const size_t payload_len = plen - 1 >= pad ? plen - 1 - pad : 0;
    if (type == 20 && !ssh_kex_[dir]) {
      // KEXINIT: cookie, then ten name-lists.
      const uint8_t* q = p + 5;
      size_t n = payload_len, pos = 17;
      std::string_view lists[10];
      bool ok = true;
      for (auto& l : lists) {
        if (pos + 4 > n) {
          ok = false;
          break;
        }
        const uint32_t ll = static_cast<uint32_t>(q[pos]) << 24 | q[pos + 1] << 16 | q[pos + 2] << 8 | q[pos + 3];
        pos += 4;
        if (ll > n - pos) {
          ok = false;
          break;
        }
        l = std::string_view(reinterpret_cast<const char*>(q + pos), ll);
        pos += ll;
      }
      if (ok) {
        // hassh: kex;enc;mac;compression of the sender's own direction.
        const int o = dir == 0 ? 0 : 1;
        std::string s;
        s.append(lists[0]).append(";").append(lists[2 + o]).append(";").append(lists[4 + o]).append(";").append(
            lists[6 + o]);
        const std::string_view name = dir == 0 ? "ssh.hassh" : "ssh.hassh.server";
        const std::string_view sname = dir == 0 ? "ssh.hassh.string" : "ssh.hassh.server.string";
        ssh_.Add(dir, name, tls::Md5Hex(s));
        ssh_.Add(dir, sname, s);
      }
      ssh_kex_[dir] = true;
      ssh_.progress[dir] = std::max<uint8_t>(ssh_.progress[dir], 2);
      progressed = true;
    } else if (type == 21) {
      // NEWKEYS: what follows is encrypted.
      ssh_encrypted_[dir] = true;
      ssh_.progress[dir] = 4;
      progressed = true;
    }
    b.erase(0, 4 + plen);
  }
  if (ssh_encrypted_[dir]) b.clear();
  if (progressed) out->push_back(&ssh_);
}

void FieldParser::Krb5(int dir, const uint8_t* data, size_t len, std::vector<FieldRecord*>* out) {
  if (len < 2) return;
  const int type = Krb5MsgType(data[0]);
  if (type < 0) {
    ++errors_;
    return;
  }
  FieldRecord* r = NewRecord(dir);
  r->Add(dir, "krb5.msg_type", std::to_string(type));
  out->push_back(r);
}

void FieldParser::Snmp(int dir, const uint8_t* data, size_t len, std::vector<FieldRecord*>* out) {
  size_t pos = 0, l = 0;
  uint8_t tag = 0;
  if (!Ber(data, len, &pos, &tag, &l) || tag != 0x30) {
    ++errors_;
    return;
  }
  size_t vlen = 0;
  if (!Ber(data, len, &pos, &tag, &vlen) || tag != 0x02 || vlen != 1) {
    ++errors_;
    return;
  }
  const uint8_t version = data[pos];
  pos += vlen;
  FieldRecord* r = NewRecord(dir);
  r->Add(dir, "snmp.version", std::to_string(version == 0 ? 1 : version == 1 ? 2 : version));
  if (version <= 1) {
    size_t clen = 0;
    if (Ber(data, len, &pos, &tag, &clen) && tag == 0x04) {
      r->Add(dir, "snmp.community", std::string_view(reinterpret_cast<const char*>(data + pos), clen));
      pos += clen;
      size_t plen = 0;
      if (Ber(data, len, &pos, &tag, &plen) && (tag & 0xe0) == 0xa0) {
        r->Add(dir, "snmp.pdu_type", std::to_string(tag & 0x1f));
      }
    }
  }
  out->push_back(r);
}

namespace {

// UTF-16LE text as ASCII (other characters as '?').
std::string Utf16Ascii(const uint8_t* p, size_t n) {
  std::string out;
  for (size_t i = 0; i + 1 < n; i += 2) {
    const uint16_t c = static_cast<uint16_t>(p[i] | p[i + 1] << 8);
    if (c == 0) break;
    out.push_back(c < 0x80 ? static_cast<char>(c) : '?');
  }
  return out;
}

bool EndsWithIpc(std::string_view s) {
  return EndsWithIgnoreCase(s, "IPC$");
}

}  // namespace

void FieldParser::Smb(int dir, const uint8_t* m, size_t n, std::vector<FieldRecord*>* out) {
  // Tree connect requests: the share's path; IPC$ is the named-pipe share,
  // as Suricata names smb.named_pipe (else smb.share).
  if (dir != 0 || n < 4) return;
  std::string path;
  if (m[0] == 0xff && n >= 33 && m[1] == 'S' && m[2] == 'M' && m[3] == 'B') {
    if (m[4] != 0x75 || (m[9] & 0x80) != 0) return;  // TREE_CONNECT_ANDX request
    const bool unicode = (m[11] & 0x80) != 0;        // Flags2 bit 15
    const size_t wc = m[32];
    size_t pos = 33 + wc * 2;
    if (wc < 4 || pos + 2 > n) return;
    const size_t pw_len = static_cast<size_t>(m[33 + 6] | m[33 + 7] << 8);
    pos += 2;  // ByteCount
    pos += pw_len;
    if (pos >= n) return;
    if (unicode) {
      if (pos % 2 != 0) ++pos;  // Aligned from the start of the SMB header.
      if (pos >= n) return;
      path = Utf16Ascii(m + pos, n - pos);
    } else {
      const auto* z = static_cast<const uint8_t*>(std::memchr(m + pos, 0, n - pos));
      path.assign(reinterpret_cast<const char*>(m + pos), z == nullptr ? n - pos : static_cast<size_t>(z - (m + pos)));
    }
  } else if ((m[0] == 0xfe) && n >= 64 + 8 && m[1] == 'S' && m[2] == 'M' && m[3] == 'B') {
    // Compounded requests: NextCommand is the offset of the next header.
    const size_t next = static_cast<size_t>(m[20] | m[21] << 8 | m[22] << 16) | static_cast<size_t>(m[23]) << 24;
    if (next >= 64 && next < n) Smb(dir, m + next, n - next, out);
    const uint16_t cmd = static_cast<uint16_t>(m[12] | m[13] << 8);
    if (cmd != 3 || (m[16] & 0x01) != 0) return;  // TREE_CONNECT request
    const size_t off = static_cast<size_t>(m[64 + 4] | m[64 + 5] << 8);
    const size_t plen = static_cast<size_t>(m[64 + 6] | m[64 + 7] << 8);
    const size_t end = next >= 64 && next < n ? next : n;
    if (off < 64 || off > end || plen > end - off) return;
    path = Utf16Ascii(m + off, plen);
  } else {
    return;
  }
  FieldRecord* r = NewRecord(dir);
  r->Add(dir, EndsWithIpc(path) ? "smb.named_pipe" : "smb.share", path);
  out->push_back(r);
}

void FieldParser::Llmnr(int dir, const uint8_t* data, size_t len, std::vector<FieldRecord*>* out) {
  DnsMessage m;
  DnsProblem problem = DnsProblem::kNone;
  if (!ParseDnsMessage(data, len, &m, &problem)) {
    ++errors_;
    return;
  }
  FieldRecord* r = NewRecord(dir);
  // LLMNR (RFC 4795) defines opcode 0 only.
  if (m.opcode != 0) events_.push_back("llmnr.invalid_opcode");
  for (const DnsQuestion& q : m.questions) r->Add(dir, "llmnr.queries.rrname", q.name);
  for (const DnsRecord& a : m.answers) r->Add(dir, "llmnr.answers.rrname", a.name);
  out->push_back(r);
}

}  // namespace rampart::applayer
