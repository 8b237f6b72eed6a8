#include "agent/applayer/quic.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

namespace rampart::applayer {
namespace {

constexpr uint32_t kV1 = 0x00000001;
constexpr uint32_t kV2 = 0x6b3343cf;
constexpr size_t kMaxCrypto = 64 * 1024;

// RFC 9001 5.2 and RFC 9369 3.3.1.
constexpr uint8_t kSaltV1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
constexpr uint8_t kSaltV2[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};
// Drafts 29..34 share version 1's salt for our purpose (draft 29+: 0xafbfec28... differs);
// only the final versions are decrypted.

bool KnownVersion(uint32_t v) { return v == kV1 || v == kV2; }

// The long-header packet type of an Initial: 0 in v1, 1 in v2.
bool IsInitial(uint8_t first, uint32_t version) {
  const int type = (first >> 4) & 3;
  return version == kV2 ? type == 1 : type == 0;
}
bool IsRetry(uint8_t first, uint32_t version) {
  const int type = (first >> 4) & 3;
  return version == kV2 ? type == 0 : type == 3;
}

// QUIC variable-length integer; false when it runs past the end.
bool Varint(const uint8_t* d, size_t n, size_t* pos, uint64_t* out) {
  if (*pos >= n) return false;
  const size_t len = size_t{1} << (d[*pos] >> 6);
  if (*pos + len > n) return false;
  uint64_t v = d[*pos] & 0x3f;
  for (size_t i = 1; i < len; ++i) v = v << 8 | d[*pos + i];
  *pos += len;
  *out = v;
  return true;
}

struct KdfDeleter {
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
};
struct CipherDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

EVP_KDF* Hkdf() {
  static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  return kdf;
}

bool HkdfExtract(const uint8_t* salt, size_t salt_len, const uint8_t* ikm, size_t ikm_len, uint8_t out[32]) {
  if (Hkdf() == nullptr) return false;
  std::unique_ptr<EVP_KDF_CTX, KdfDeleter> ctx(EVP_KDF_CTX_new(Hkdf()));
  int mode = EVP_KDF_HKDF_MODE_EXTRACT_ONLY;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm), ikm_len),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt), salt_len),
      OSSL_PARAM_construct_end(),
  };
  return ctx && EVP_KDF_derive(ctx.get(), out, 32, params) == 1;
}

// HKDF-Expand-Label (RFC 8446 7.1) with an empty context.
bool ExpandLabel(const uint8_t secret[32], const char* label, uint8_t* out, size_t out_len) {
  if (Hkdf() == nullptr) return false;
  uint8_t info[64];
  const size_t llen = std::strlen(label);
  size_t n = 0;
  info[n++] = static_cast<uint8_t>(out_len >> 8);
  info[n++] = static_cast<uint8_t>(out_len);
  info[n++] = static_cast<uint8_t>(6 + llen);
  std::memcpy(info + n, "tls13 ", 6);
  n += 6;
  std::memcpy(info + n, label, llen);
  n += llen;
  info[n++] = 0;
  std::unique_ptr<EVP_KDF_CTX, KdfDeleter> ctx(EVP_KDF_CTX_new(Hkdf()));
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(secret), 32),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n),
      OSSL_PARAM_construct_end(),
  };
  return ctx && EVP_KDF_derive(ctx.get(), out, out_len, params) == 1;
}

struct InitialKeys {
  uint8_t key[16];
  uint8_t iv[12];
  uint8_t hp[16];
};

// The Initial keys of the client (`server` false) or the server, both
// derived from the client's first destination connection ID.
bool InitialKeysFor(bool server, const uint8_t* dcid, size_t dcid_len, uint32_t version, InitialKeys* k) {
  uint8_t initial[32], client[32];
  const bool v2 = version == kV2;
  if (!HkdfExtract(v2 ? kSaltV2 : kSaltV1, 20, dcid, dcid_len, initial)) return false;
  if (!ExpandLabel(initial, server ? "server in" : "client in", client, 32)) return false;
  return ExpandLabel(client, v2 ? "quicv2 key" : "quic key", k->key, 16) &&
         ExpandLabel(client, v2 ? "quicv2 iv" : "quic iv", k->iv, 12) &&
         ExpandLabel(client, v2 ? "quicv2 hp" : "quic hp", k->hp, 16);
}

}  // namespace

std::string QuicVersionName(uint32_t v) {
  if (v == kV1) return "1";
  if (v == kV2) return "2";
  char b[16];
  std::snprintf(b, sizeof(b), "0x%08x", v);
  return b;
}

bool LooksLikeQuicInitial(const uint8_t* d, size_t n) {
  if (n < 7 + 16 || (d[0] & 0xc0) != 0xc0) return false;
  const uint32_t version = static_cast<uint32_t>(d[1]) << 24 | static_cast<uint32_t>(d[2]) << 16 |
                           static_cast<uint32_t>(d[3]) << 8 | d[4];
  // Any long-header packet of a known version (a flow may start with 0-RTT
  // packets, its Initial following).
  if (!KnownVersion(version)) return false;
  const size_t dcid_len = d[5];
  return dcid_len <= 20 && 6 + dcid_len < n;
}

void QuicParser::AddTx(int dir, uint32_t version) {
  if (info_.txs.size() >= 16) return;  // Coalesced packets in one datagram: a few at most.
  info_.txs.push_back(QuicTxRecord{info_.next_tx++, dir, version});
}

bool QuicParser::Feed(int dir, const uint8_t* d, size_t n, bool* progressed, std::vector<TlsEvent>* events) {
  dir = dir != 0 ? 1 : 0;
  *progressed = false;
  info_.progressed = 0;
  info_.txs.clear();
  const bool had_hello = info_.hello_seen;
  bool any = false;
  size_t pos = 0;
  // Coalesced long-header packets, one after the other.
  while (pos + 7 <= n && (d[pos] & 0x80) != 0 && !info_.dir_hello[dir]) {
    const uint8_t* pkt = d + pos;
    const size_t avail = n - pos;
    const uint32_t version = static_cast<uint32_t>(pkt[1]) << 24 | static_cast<uint32_t>(pkt[2]) << 16 |
                             static_cast<uint32_t>(pkt[3]) << 8 | pkt[4];
    if (version == 0 || !KnownVersion(version)) break;  // Version negotiation or unknown.
    if (info_.version == 0) info_.version = version;
    size_t p = 5;
    const size_t dcid_len = pkt[p++];
    if (dcid_len > 20 || p + dcid_len + 1 > avail) break;
    const uint8_t* dcid = pkt + p;
    p += dcid_len;
    const size_t scid_len = pkt[p++];
    if (scid_len > 20 || p + scid_len > avail) break;
    p += scid_len;
    if (IsRetry(pkt[0], version)) break;
    if (IsInitial(pkt[0], version)) {
      uint64_t token_len = 0;
      if (!Varint(pkt, avail, &p, &token_len) || token_len > avail - p) break;
      p += static_cast<size_t>(token_len);
    }
    uint64_t length = 0;
    if (!Varint(pkt, avail, &p, &length) || length > avail - p) break;
    const size_t end = p + static_cast<size_t>(length);
    AddTx(dir, version);
    // Only Initial packets can be opened; another packet (or one that does
    // not decrypt) ends the datagram, as in Suricata.
    if (!IsInitial(pkt[0], version) || !Packet(dir, pkt, avail, p, end, dcid, dcid_len, version, events)) break;
    any = true;
    pos += end;
  }
  if (!had_hello && info_.hello_seen) {
    *progressed = true;
    info_.progressed = 1;
  }
  return any;
}

bool QuicParser::Packet(int dir, const uint8_t* pkt, size_t avail, size_t pn_offset, size_t end, const uint8_t* dcid,
                        size_t dcid_len, uint32_t version, std::vector<TlsEvent>* events) {
  if (end < pn_offset + 4 + 16 || end > avail) return false;
  size_t plain_len = 0;
  bool ok = false;
  if (!key_dcid_.empty()) {
    ok = Decrypt(dir, pkt, pn_offset, end, key_dcid_.data(), key_dcid_.size(), version, &plain_len);
  }
  // The server's keys come from the client's connection ID only.
  if (!ok && dir == 0 && Decrypt(dir, pkt, pn_offset, end, dcid, dcid_len, version, &plain_len)) {
    ok = true;
    key_dcid_.assign(dcid, dcid + dcid_len);
  }
  if (!ok) return false;
  Frames(dir, plain_.data(), plain_len, events);
  if (dir == 0 && info_.hello_seen) info_.dir_hello[0] = true;
  return true;
}

bool QuicParser::Decrypt(int dir, const uint8_t* pkt, size_t pn_offset, size_t end, const uint8_t* dcid,
                         size_t dcid_len, uint32_t version, size_t* plain_len) {
  InitialKeys k;
  if (!InitialKeysFor(dir != 0, dcid, dcid_len, version, &k)) return false;
  // Header protection: a mask from AES-ECB over a 16-byte sample.
  uint8_t mask[32] = {};
  {
    std::unique_ptr<EVP_CIPHER_CTX, CipherDeleter> ctx(EVP_CIPHER_CTX_new());
    int outl = 0;
    if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_ecb(), nullptr, k.hp, nullptr) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
        EVP_EncryptUpdate(ctx.get(), mask, &outl, pkt + pn_offset + 4, 16) != 1) {
      return false;
    }
  }
  const uint8_t first = static_cast<uint8_t>(pkt[0] ^ (mask[0] & 0x0f));
  const size_t pn_len = (first & 3) + 1u;
  uint8_t header[64 + 256];
  const size_t hlen = pn_offset + pn_len;
  if (hlen > sizeof(header) || hlen + 16 > end) return false;
  std::memcpy(header, pkt, hlen);
  header[0] = first;
  uint64_t pn = 0;
  for (size_t i = 0; i < pn_len; ++i) {
    header[pn_offset + i] = static_cast<uint8_t>(pkt[pn_offset + i] ^ mask[1 + i]);
    pn = pn << 8 | header[pn_offset + i];
  }
  uint8_t nonce[12];
  std::memcpy(nonce, k.iv, 12);
  for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<uint8_t>(pn >> (8 * i));
  const uint8_t* ct = pkt + hlen;
  const size_t ct_len = end - hlen - 16;
  const uint8_t* tag = pkt + end - 16;
  plain_.resize(ct_len);
  std::unique_ptr<EVP_CIPHER_CTX, CipherDeleter> ctx(EVP_CIPHER_CTX_new());
  int outl = 0, finl = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_128_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, k.key, nonce) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &outl, header, static_cast<int>(hlen)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), plain_.data(), &outl, ct, static_cast<int>(ct_len)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, const_cast<uint8_t*>(tag)) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), plain_.data() + outl, &finl) != 1) {
    return false;  // Not a client Initial under these keys (or not QUIC at all).
  }
  *plain_len = static_cast<size_t>(outl + finl);
  return true;
}

void QuicParser::Frames(int dir, const uint8_t* p, size_t n, std::vector<TlsEvent>* events) {
  size_t pos = 0;
  while (pos < n) {
    const uint8_t type = p[pos++];
    uint64_t a = 0, b = 0, c = 0;
    switch (type) {
      case 0x00:  // PADDING
      case 0x01:  // PING
        break;
      case 0x02:
      case 0x03: {  // ACK
        uint64_t count = 0;
        if (!Varint(p, n, &pos, &a) || !Varint(p, n, &pos, &b) || !Varint(p, n, &pos, &count) ||
            !Varint(p, n, &pos, &c)) {
          return;
        }
        for (uint64_t i = 0; i < count && i < 256; ++i) {
          if (!Varint(p, n, &pos, &a) || !Varint(p, n, &pos, &b)) return;
        }
        if (type == 0x03) {
          for (int i = 0; i < 3; ++i) {
            if (!Varint(p, n, &pos, &a)) return;
          }
        }
        break;
      }
      case 0x06: {  // CRYPTO
        if (!Varint(p, n, &pos, &a) || !Varint(p, n, &pos, &b) || b > n - pos) return;
        if (dir == 0) {
          Crypto(a, p + pos, static_cast<size_t>(b), events);
        } else if (b > 0) {
          info_.dir_hello[1] = true;  // The server's hello is under way (its fields are not kept).
        }
        pos += static_cast<size_t>(b);
        break;
      }
      case 0x1c:
      case 0x1d: {  // CONNECTION_CLOSE
        if (!Varint(p, n, &pos, &a)) return;
        if (type == 0x1c && !Varint(p, n, &pos, &b)) return;
        if (!Varint(p, n, &pos, &c) || c > n - pos) return;
        pos += static_cast<size_t>(c);
        break;
      }
      default:
        return;  // Nothing else belongs in an Initial packet.
    }
  }
}

void QuicParser::Crypto(uint64_t offset, const uint8_t* data, size_t len, std::vector<TlsEvent>* events) {
  if (info_.hello_seen || offset >= kMaxCrypto) return;
  const size_t begin = static_cast<size_t>(offset);
  const size_t end = std::min(kMaxCrypto, begin + len);
  if (crypto_.size() < end) crypto_.resize(end);
  std::memcpy(crypto_.data() + begin, data, end - begin);
  covered_.emplace_back(static_cast<uint32_t>(begin), static_cast<uint32_t>(end));
  std::sort(covered_.begin(), covered_.end());
  size_t contiguous = 0;
  for (const auto& [b, e] : covered_) {
    if (b > contiguous) break;
    contiguous = std::max<size_t>(contiguous, e);
  }
  // The stream starts with the ClientHello handshake message.
  if (contiguous < 4 || crypto_[0] != 1) return;
  const size_t mlen = static_cast<size_t>(crypto_[1]) << 16 | static_cast<size_t>(crypto_[2]) << 8 | crypto_[3];
  if (contiguous < 4 + mlen) return;
  if (ParseClientHello(crypto_.data() + 4, mlen, &info_.hello, events)) {
    info_.hello_seen = true;
    crypto_.clear();
    crypto_.shrink_to_fit();
    covered_.clear();
  }
}

}  // namespace rampart::applayer
