// X.509 fields of the server certificate, through OpenSSL.

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <array>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "agent/applayer/tls.h"

namespace rampart::applayer {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

std::string NameText(const X509_NAME* name) {
  // "C=US, O=Example, CN=www.example.com": short names, ", " between RDNs, in
  // certificate order, UTF-8 kept as is.
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio) return {};
  const unsigned long flags = (ASN1_STRFLGS_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) | XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN;
  if (X509_NAME_print_ex(bio.get(), name, 0, flags) < 0) return {};
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

int64_t AsnTime(const ASN1_TIME* t) {
  struct tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

std::string HexColons(const unsigned char* b, size_t n, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  out.reserve(n * 3);
  for (size_t i = 0; i < n; ++i) {
    if (i) out.push_back(':');
    out.push_back(digits[b[i] >> 4]);
    out.push_back(digits[b[i] & 15]);
  }
  return out;
}

// The fields of one parsed certificate. d2i_X509 decodes the whole
// certificate including its public key (OpenSSL 3 goes through its provider
// decoders, ~0.1-1 ms), and servers send the same certificate to every
// client, so each thread keeps the last certificates it parsed.
struct CachedCert {
  std::vector<uint8_t> der;  // Compared whole: a SHA-1 match alone is not trusted.
  bool ok = false;
  std::string subject, issuer, serial;
  int64_t not_before = 0, not_after = 0;
};

// Direct-mapped by the SHA-1 of the DER: 128 slots per thread (bounded
// memory, ~200 KB with typical certificates); a miss overwrites the slot.
constexpr size_t kCertCacheSlots = 128;

CachedCert& CacheSlot(const unsigned char* digest) {
  thread_local std::array<CachedCert, kCertCacheSlots> cache;
  return cache[(static_cast<size_t>(digest[0]) << 8 | digest[1]) % kCertCacheSlots];
}

void Parse(const uint8_t* der, size_t len, CachedCert* c) {
  c->ok = false;
  c->subject.clear();
  c->issuer.clear();
  c->serial.clear();
  c->not_before = c->not_after = 0;
  const unsigned char* p = der;
  std::unique_ptr<X509, X509Free> cert(d2i_X509(nullptr, &p, static_cast<long>(len)));
  if (!cert) return;
  c->ok = true;
  c->subject = NameText(X509_get_subject_name(cert.get()));
  c->issuer = NameText(X509_get_issuer_name(cert.get()));
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.get());
  if (serial != nullptr) {
    c->serial = HexColons(ASN1_STRING_get0_data(serial), static_cast<size_t>(ASN1_STRING_length(serial)), true);
  }
  c->not_before = AsnTime(X509_get0_notBefore(cert.get()));
  c->not_after = AsnTime(X509_get0_notAfter(cert.get()));
}

}  // namespace

bool ParseCertificate(const uint8_t* der, size_t len, TlsInfo* info) {
  info->cert_der.assign(der, der + len);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int dn = 0;
  CachedCert fresh;
  CachedCert* c = &fresh;
  if (EVP_Digest(der, len, digest, &dn, EVP_sha1(), nullptr) == 1 && dn >= 2) {
    info->cert_fingerprint = HexColons(digest, dn, false);
    c = &CacheSlot(digest);
    if (c->der.size() != len || (len > 0 && std::memcmp(c->der.data(), der, len) != 0)) {
      c->der.assign(der, der + len);
      Parse(der, len, c);
    }
  } else {
    Parse(der, len, c);
  }
  if (!c->ok) return false;
  info->cert_subject = c->subject;
  info->cert_issuer = c->issuer;
  info->cert_serial = c->serial;
  info->cert_not_before = c->not_before;
  info->cert_not_after = c->not_after;
  return true;
}

}  // namespace rampart::applayer
