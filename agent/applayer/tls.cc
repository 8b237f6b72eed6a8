#include "agent/applayer/tls.h"

#include <algorithm>
#include <cstring>

#include "common/tls/digest.h"

namespace rampart::applayer {
namespace {

constexpr uint8_t kClientHelloBit = 1 << 0, kServerHelloBit = 1 << 1, kCertBit = 1 << 2, kDoneBit = 1 << 3;
constexpr size_t kMaxHandshake = 256 * 1024;

inline uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t Be24(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 16 | static_cast<uint32_t>(p[1]) << 8 | p[2];
}

bool IsGrease(uint16_t v) { return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff); }

void AppendList(std::string* s, const std::vector<uint16_t>& v) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s->push_back('-');
    s->append(std::to_string(v[i]));
  }
}

}  // namespace

std::string TlsVersionName(uint16_t v) {
  switch (v) {
    case 0x0002:
    case 0x0200: return "SSLv2";
    case 0x0300: return "SSLv3";
    case 0x0301: return "TLSv1";
    case 0x0302: return "TLS 1.1";
    case 0x0303: return "TLS 1.2";
    case 0x0304: return "TLS 1.3";
    default:
      if ((v & 0xff00) == 0x7f00) return "TLS 1.3 draft-" + std::to_string(v & 0xff);
      return "UNDETERMINED";
  }
}

const char* TlsEventName(TlsEvent e) {
  switch (e) {
    case TlsEvent::kInvalidRecordType: return "tls.invalid_record_type";
    case TlsEvent::kInvalidRecordVersion: return "tls.invalid_record_version";
    case TlsEvent::kInvalidHandshakeMessage: return "tls.invalid_handshake_message";
    case TlsEvent::kInvalidCertificate: return "tls.invalid_certificate";
    case TlsEvent::kCertificateInvalidLength: return "tls.certificate_invalid_length";
    case TlsEvent::kInvalidSniLength: return "tls.invalid_sni_length";
    case TlsEvent::kMultipleSniExtensions: return "tls.multiple_sni_extensions";
    case TlsEvent::kInvalidSslRecord: return "tls.invalid_ssl_record";
    case TlsEvent::kCount: break;
  }
  return "tls.unknown";
}

void TlsParser::Progress(uint8_t bits) {
  const uint8_t added = static_cast<uint8_t>(bits & ~info_.progress);
  info_.progress |= bits;
  info_.progressed |= added;
  progressed_now_ |= added;
}

bool TlsParser::Sslv2Hello(int dir, const uint8_t* data, size_t len) {
  // SSLv2 record header (2 bytes, high bit set) + CLIENT-HELLO (type 1) + version.
  if (dir != 0 || len < 5 || (data[0] & 0x80) == 0 || data[2] != 0x01) return false;
  const uint16_t version = Be16(data + 3);
  if (version != 0x0002 && (version >> 8) != 3) return false;
  info_.sslv2_hello = true;
  info_.client_version = version;
  info_.record_version = version;
  Progress(kClientHelloBit);
  return true;
}

void TlsParser::Feed(int dir, const uint8_t* data, size_t len, bool gap, bool* progressed,
                     std::vector<TlsEvent>* events) {
  progressed_now_ = 0;
  Direction& d = dir_[dir];
  if (gap) {
    // Lost bytes: the record boundary is lost too.
    d.failed = true;
  }
  if (!d.started && len > 0) {
    d.started = true;
    if ((data[0] & 0x80) != 0 && Sslv2Hello(dir, data, len)) {
      // The rest of an SSLv2-framed hello is not parsed; the server answers in TLS records.
      const size_t rec = static_cast<size_t>(data[0] & 0x7f) << 8 | data[1];
      const size_t skip = std::min(len, rec + 2);
      data += skip;
      len -= skip;
    }
  }
  while (len > 0 && !d.failed) {
    if (d.record_left == 0) {
      const size_t need = 5 - d.header_len;
      const size_t take = std::min(need, len);
      std::memcpy(d.header + d.header_len, data, take);
      d.header_len += take;
      data += take;
      len -= take;
      if (d.header_len < 5) break;
      d.header_len = 0;
      const uint8_t type = d.header[0];
      const uint16_t version = Be16(d.header + 1);
      const uint16_t rlen = Be16(d.header + 3);
      if (type < 20 || type > 24) {
        events->push_back(TlsEvent::kInvalidRecordType);
        d.failed = true;
        break;
      }
      if ((version >> 8) != 3) {
        events->push_back(TlsEvent::kInvalidRecordVersion);
        d.failed = true;
        break;
      }
      if (rlen > 16384 + 2048) {
        events->push_back(TlsEvent::kInvalidSslRecord);
        d.failed = true;
        break;
      }
      if (info_.record_version == 0) info_.record_version = version;
      d.record_type = type;
      d.record_left = rlen;
      if (type == 20) {
        info_.ccs_seen[dir] = true;
        d.skip_handshake = true;  // What follows in this direction is encrypted.
      } else if (type == 23) {
        info_.appdata_seen[dir] = true;
      }
      if ((info_.ccs_seen[0] || info_.appdata_seen[0]) && (info_.ccs_seen[1] || info_.appdata_seen[1])) {
        Progress(kDoneBit);
      }
      if (rlen == 0) continue;
    }
    const size_t take = std::min<size_t>(d.record_left, len);
    Record(dir, data, take, events);
    d.record_left -= static_cast<uint32_t>(take);
    data += take;
    len -= take;
  }
  *progressed = progressed_now_ != 0;
}

void TlsParser::Record(int dir, const uint8_t* data, size_t len, std::vector<TlsEvent>* events) {
  Direction& d = dir_[dir];
  if (d.record_type != 22 || d.skip_handshake) return;
  if (d.handshake.size() + len > kMaxHandshake) {
    // A message this large is not a handshake we need; stop looking.
    d.skip_handshake = true;
    d.handshake.clear();
    d.handshake.shrink_to_fit();
    return;
  }
  d.handshake.insert(d.handshake.end(), data, data + len);
  Handshake(dir, events);
}

void TlsParser::Handshake(int dir, std::vector<TlsEvent>* events) {
  Direction& d = dir_[dir];
  size_t pos = 0;
  while (!d.skip_handshake && d.handshake.size() - pos >= 4) {
    const uint8_t* m = d.handshake.data() + pos;
    const uint32_t mlen = Be24(m + 1);
    if (mlen > kMaxHandshake) {
      events->push_back(TlsEvent::kInvalidHandshakeMessage);
      d.skip_handshake = true;
      break;
    }
    if (d.handshake.size() - pos - 4 < mlen) break;
    const uint8_t* body = m + 4;
    switch (m[0]) {
      case 1:
        if (dir == 0) ClientHello(body, mlen, events);
        break;
      case 2:
        if (dir == 1) {
          ServerHello(body, mlen);
          if (info_.server_version == 0x0304 || (info_.server_version & 0xff00) == 0x7f00) {
            d.skip_handshake = true;  // TLS 1.3: the rest of the handshake is encrypted.
          }
        }
        break;
      case 11:
        if (dir == 1 && info_.cert_count == 0) Certificate(body, mlen, events);
        break;
      default:
        break;
    }
    pos += 4 + mlen;
  }
  if (pos > 0) d.handshake.erase(d.handshake.begin(), d.handshake.begin() + static_cast<std::ptrdiff_t>(pos));
  if (d.skip_handshake) {
    d.handshake.clear();
    d.handshake.shrink_to_fit();
  }
}

bool ParseClientHello(const uint8_t* b, size_t n, TlsInfo* info, std::vector<TlsEvent>* events) {
  TlsInfo& info_ = *info;
  size_t p = 0;
  auto bad = [&] {
    events->push_back(TlsEvent::kInvalidHandshakeMessage);
    return false;
  };
  if (n < 2 + 32 + 1) return bad();
  info_.client_version = Be16(b);
  info_.client_random.assign(b + 2, b + 34);
  p = 34;
  const uint8_t sid_len = b[p++];
  if (p + sid_len > n) return bad();
  info_.session_id.assign(b + p, b + p + sid_len);
  p += sid_len;
  if (p + 2 > n) return bad();
  const uint16_t cs_len = Be16(b + p);
  p += 2;
  if (p + cs_len > n || (cs_len & 1)) return bad();
  std::vector<uint16_t> ciphers, exts, groups, formats;
  for (size_t i = 0; i < cs_len; i += 2) {
    const uint16_t c = Be16(b + p + i);
    if (!IsGrease(c)) ciphers.push_back(c);
  }
  p += cs_len;
  if (p + 1 > n) return bad();
  const uint8_t comp_len = b[p++];
  if (p + comp_len > n) return bad();
  p += comp_len;
  bool sni_seen = false;
  if (p + 2 <= n) {
    const uint16_t ext_total = Be16(b + p);
    p += 2;
    const size_t ext_end = std::min(n, p + ext_total);
    while (p + 4 <= ext_end) {
      const uint16_t type = Be16(b + p);
      const uint16_t len = Be16(b + p + 2);
      p += 4;
      if (p + len > ext_end) {
        events->push_back(TlsEvent::kInvalidHandshakeMessage);
        break;
      }
      const uint8_t* e = b + p;
      if (!IsGrease(type)) exts.push_back(type);
      if (type == 0) {  // server_name
        if (sni_seen) events->push_back(TlsEvent::kMultipleSniExtensions);
        sni_seen = true;
        if (len >= 5 && info_.sni.empty()) {
          const uint16_t list_len = Be16(e);
          size_t q = 2;
          const size_t list_end = std::min<size_t>(len, 2u + list_len);
          while (q + 3 <= list_end) {
            const uint8_t name_type = e[q];
            const uint16_t name_len = Be16(e + q + 1);
            q += 3;
            if (q + name_len > list_end) {
              events->push_back(TlsEvent::kInvalidSniLength);
              break;
            }
            if (name_type == 0) {
              info_.sni.assign(reinterpret_cast<const char*>(e + q), name_len);
              break;
            }
            q += name_len;
          }
        } else if (len < 5) {
          events->push_back(TlsEvent::kInvalidSniLength);
        }
      } else if (type == 10 && len >= 2) {  // supported_groups
        const uint16_t gl = Be16(e);
        for (size_t i = 2; i + 1 < std::min<size_t>(len, 2u + gl); i += 2) {
          const uint16_t g = Be16(e + i);
          if (!IsGrease(g)) groups.push_back(g);
        }
      } else if (type == 11 && len >= 1) {  // ec_point_formats
        const uint8_t fl = e[0];
        for (size_t i = 1; i < std::min<size_t>(len, 1u + fl); ++i) formats.push_back(e[i]);
      }
      p += len;
    }
  }
  std::string ja3 = std::to_string(info_.client_version) + ",";
  AppendList(&ja3, ciphers);
  ja3.push_back(',');
  AppendList(&ja3, exts);
  ja3.push_back(',');
  AppendList(&ja3, groups);
  ja3.push_back(',');
  AppendList(&ja3, formats);
  info_.ja3_string = ja3;
  info_.ja3_hash = tls::Md5Hex(ja3);
  return true;
}

void TlsParser::ClientHello(const uint8_t* b, size_t n, std::vector<TlsEvent>* events) {
  if (info_.progress & kClientHelloBit) return;  // Only the first hello is described.
  if (ParseClientHello(b, n, &info_, events)) Progress(kClientHelloBit);
}

void TlsParser::ServerHello(const uint8_t* b, size_t n) {
  if (info_.progress & kServerHelloBit) return;
  if (n < 2 + 32 + 1) return;
  uint16_t version = Be16(b);
  info_.server_random.assign(b + 2, b + 34);
  size_t p = 34;
  const uint8_t sid_len = b[p++];
  if (p + sid_len + 3 > n) return;
  p += sid_len;
  const uint16_t cipher = Be16(b + p);
  p += 2;
  p += 1;  // compression
  std::vector<uint16_t> exts;
  if (p + 2 <= n) {
    const uint16_t ext_total = Be16(b + p);
    p += 2;
    const size_t ext_end = std::min(n, p + ext_total);
    while (p + 4 <= ext_end) {
      const uint16_t type = Be16(b + p);
      const uint16_t len = Be16(b + p + 2);
      p += 4;
      if (p + len > ext_end) break;
      if (!IsGrease(type)) exts.push_back(type);
      if (type == 43 && len == 2) version = Be16(b + p);  // supported_versions
      p += len;
    }
  }
  info_.server_version = version;
  std::string ja3s = std::to_string(Be16(b)) + "," + std::to_string(cipher) + ",";
  AppendList(&ja3s, exts);
  info_.ja3s_string = ja3s;
  info_.ja3s_hash = tls::Md5Hex(ja3s);
  Progress(kServerHelloBit);
}

namespace {

// The size of the DER tag and length at b[0..n), 0 when they are cut short;
// *len is the content length.
size_t DerHeader(const uint8_t* b, size_t n, uint64_t* len) {
  size_t p = 1;
  if (n < 2) return 0;
  if ((b[0] & 0x1f) == 0x1f) {  // High tag number: base-128 digits.
    while (p < n && (b[p] & 0x80) != 0) ++p;
    if (++p >= n) return 0;
  }
  const uint8_t first = b[p++];
  if (first < 0x80) {
    *len = first;
    return p;
  }
  const size_t k = first & 0x7f;
  if (p + k > n) return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < k; ++i) v = (v << 8) | b[p + i];
  *len = k > 8 ? UINT64_MAX : v;
  return p + k;
}

}  // namespace

// Whether a certificate that does not decode has a cut DER header in its
// outer SEQUENCE or the first element inside it (Suricata's X.509 decoder
// reports that as a length problem; other damage as an invalid certificate).
bool DerHeaderCut(const uint8_t* der, size_t n) {
  uint64_t outer = 0;
  const size_t h = DerHeader(der, n, &outer);
  if (h == 0) return true;
  const size_t avail = static_cast<size_t>(std::min<uint64_t>(n - h, outer));
  uint64_t inner = 0;
  return DerHeader(der + h, avail, &inner) == 0;
}

void TlsParser::Certificate(const uint8_t* b, size_t n, std::vector<TlsEvent>* events) {
  if (n < 3) return;
  const uint32_t total = Be24(b);
  size_t p = 3;
  const size_t end = std::min<size_t>(n, 3u + total);
  uint32_t count = 0;
  bool leaf_done = false;
  while (p + 3 <= end) {
    const uint32_t clen = Be24(b + p);
    p += 3;
    if (p + clen > end) {
      events->push_back(TlsEvent::kInvalidCertificate);
      break;
    }
    if (!leaf_done) {
      leaf_done = true;
      if (!ParseCertificate(b + p, clen, &info_)) {
        events->push_back(DerHeaderCut(b + p, clen) ? TlsEvent::kCertificateInvalidLength
                                                    : TlsEvent::kInvalidCertificate);
      }
    }
    ++count;
    p += clen;
  }
  info_.cert_count = count;
  if (count > 0) Progress(kCertBit);
}

}  // namespace rampart::applayer
