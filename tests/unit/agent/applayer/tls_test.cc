// TLS handshakes: ClientHello (SNI, JA3 with GREASE removed), ServerHello
// (JA3S, negotiated version), the server certificate (a real one made with
// OpenSSL here), records split anywhere, SSLv2 hellos and broken records.

#include "agent/applayer/tls.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <string>
#include <tuple>

#include "tests/testing/packets.h"

namespace rampart::applayer {
namespace {

using testing::Bytes;

void U16(Bytes* b, uint16_t v) {
  b->push_back(static_cast<uint8_t>(v >> 8));
  b->push_back(static_cast<uint8_t>(v));
}
void U24(Bytes* b, uint32_t v) {
  b->push_back(static_cast<uint8_t>(v >> 16));
  U16(b, static_cast<uint16_t>(v));
}

Bytes Record(uint8_t type, const Bytes& body) {
  Bytes r = {type, 3, 1};
  U16(&r, static_cast<uint16_t>(body.size()));
  r.insert(r.end(), body.begin(), body.end());
  return r;
}

Bytes Handshake(uint8_t type, const Bytes& body) {
  Bytes h = {type};
  U24(&h, static_cast<uint32_t>(body.size()));
  h.insert(h.end(), body.begin(), body.end());
  return h;
}

Bytes Extension(uint16_t type, const Bytes& data) {
  Bytes e;
  U16(&e, type);
  U16(&e, static_cast<uint16_t>(data.size()));
  e.insert(e.end(), data.begin(), data.end());
  return e;
}

// The JA3 README's example, with GREASE values sprinkled in.
Bytes ClientHello(const std::string& sni) {
  Bytes b;
  U16(&b, 0x0301);
  b.insert(b.end(), 32, 0xab);  // random
  b.push_back(0);               // session id
  const uint16_t ciphers[] = {0x0a0a, 47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4};
  U16(&b, sizeof(ciphers));
  for (uint16_t c : ciphers) U16(&b, c);
  b.push_back(1);
  b.push_back(0);  // compression: null
  Bytes exts;
  Bytes grease = Extension(0x1a1a, {});
  exts.insert(exts.end(), grease.begin(), grease.end());
  Bytes sn;
  U16(&sn, static_cast<uint16_t>(sni.size() + 3));
  sn.push_back(0);
  U16(&sn, static_cast<uint16_t>(sni.size()));
  sn.insert(sn.end(), sni.begin(), sni.end());
  for (const Bytes& e : {Extension(0, sn), Extension(10, {0, 8, 0x2a, 0x2a, 0, 23, 0, 24, 0, 25}),
                         Extension(11, {1, 0})}) {
    exts.insert(exts.end(), e.begin(), e.end());
  }
  U16(&b, static_cast<uint16_t>(exts.size()));
  b.insert(b.end(), exts.begin(), exts.end());
  return Record(22, Handshake(1, b));
}

Bytes ServerHello(uint16_t version_ext) {
  Bytes b;
  U16(&b, 0x0303);
  b.insert(b.end(), 32, 0xcd);
  b.push_back(0);
  U16(&b, 0xc02f);
  b.push_back(0);
  Bytes exts = Extension(65281, {0});
  if (version_ext != 0) {
    Bytes sv;
    U16(&sv, version_ext);
    const Bytes e = Extension(43, sv);
    exts.insert(exts.end(), e.begin(), e.end());
  }
  U16(&b, static_cast<uint16_t>(exts.size()));
  b.insert(b.end(), exts.begin(), exts.end());
  return Record(22, Handshake(2, b));
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

Bytes MakeCertificate(const char* cn = "www.example.vn", long serial = 0x0abc) {
  std::unique_ptr<EVP_PKEY, KeyFree> key(EVP_EC_gen("P-256"));
  std::unique_ptr<X509, X509Free> x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial);
  ASN1_TIME_set(X509_getm_notBefore(x.get()), 1'700'000'000);
  ASN1_TIME_set(X509_getm_notAfter(x.get()), 1'800'000'000);
  X509_NAME* subject = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(subject, "C", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("VN"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Rampart Test"), -1,
                             -1, 0);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(x.get(), subject);
  X509_set_pubkey(x.get(), key.get());
  X509_sign(x.get(), key.get(), EVP_sha256());
  unsigned char* der = nullptr;
  const int n = i2d_X509(x.get(), &der);
  Bytes out(der, der + n);
  OPENSSL_free(der);
  return out;
}

class TlsTest : public ::testing::Test {
 protected:
  bool Feed(TlsParser& p, int dir, const Bytes& b, size_t split = 0) {
    bool any = false;
    if (split == 0) split = b.size();
    for (size_t i = 0; i < b.size(); i += split) {
      bool prog = false;
      p.Feed(dir, b.data() + i, std::min(split, b.size() - i), false, &prog, &events_);
      any = any || prog;
    }
    return any;
  }
  std::vector<TlsEvent> events_;
};

TEST_F(TlsTest, ClientHelloSniAndJa3InAnySplit) {
  const Bytes hello = ClientHello("www.example.vn");
  for (size_t split : {size_t{1}, size_t{3}, size_t{7}, hello.size()}) {
    TlsParser p;
    EXPECT_TRUE(Feed(p, 0, hello, split));
    const TlsInfo& i = p.info();
    EXPECT_EQ(i.sni, "www.example.vn");
    EXPECT_EQ(i.client_version, 0x0301);
    EXPECT_EQ(i.ja3_string, "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0");
    EXPECT_EQ(i.ja3_hash, "ada70206e40642a3e4461f35503241d5");
    EXPECT_EQ(i.client_random.size(), 32u);
  }
}

TEST_F(TlsTest, ServerHelloCertificateAndVersion) {
  TlsParser p;
  Feed(p, 0, ClientHello("a.example"));
  Feed(p, 1, ServerHello(0));
  EXPECT_EQ(p.info().server_version, 0x0303);
  EXPECT_EQ(TlsVersionName(p.info().server_version), "TLS 1.2");
  EXPECT_EQ(p.info().ja3s_string, "771,49199,65281");
  EXPECT_EQ(p.info().server_random, Bytes(32, 0xcd));  // tls.random to the client.
  EXPECT_EQ(p.info().client_random, Bytes(32, 0xab));
  const Bytes der = MakeCertificate();
  Bytes chain;
  U24(&chain, static_cast<uint32_t>(der.size() + 3));
  U24(&chain, static_cast<uint32_t>(der.size()));
  chain.insert(chain.end(), der.begin(), der.end());
  Feed(p, 1, Record(22, Handshake(11, chain)), 100);
  const TlsInfo& i = p.info();
  EXPECT_EQ(i.cert_count, 1u);
  EXPECT_EQ(i.cert_subject, "C=VN, O=Rampart Test, CN=www.example.vn");
  EXPECT_EQ(i.cert_issuer, i.cert_subject);
  EXPECT_EQ(i.cert_serial, "0A:BC");
  EXPECT_EQ(i.cert_not_before, 1'700'000'000);
  EXPECT_EQ(i.cert_not_after, 1'800'000'000);
  // The fingerprint is SHA-1 over the DER, as OpenSSL computes it.
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(der.data(), der.size(), md, &n, EVP_sha1(), nullptr);
  char first[4];
  std::snprintf(first, sizeof(first), "%02x:", md[0]);
  EXPECT_EQ(i.cert_fingerprint.substr(0, 3), first);
  EXPECT_EQ(i.cert_fingerprint.size(), 59u);
  EXPECT_TRUE(i.progress & 0x04);
  // Change cipher spec both ways: the handshake is done.
  Feed(p, 0, Record(20, {1}));
  Feed(p, 1, Record(20, {1}));
  EXPECT_TRUE(p.info().progress & 0x08);
}

// Parsed certificates are remembered per thread (servers send the same one
// to every client): whatever the order, each DER gives its own fields, and a
// certificate that differs in one byte is parsed again, not served from the
// cache.
TEST(TlsCertificateTest, RepeatedAndAlteredCertificates) {
  const Bytes a = MakeCertificate("a.example.vn", 0x0a);
  const Bytes b = MakeCertificate("b.example.vn", 0x0b);
  for (int round = 0; round < 3; ++round) {
    for (const auto& [der, cn, serial] : {std::tuple{&a, "a.example.vn", "0A"}, std::tuple{&b, "b.example.vn", "0B"}}) {
      TlsInfo info;
      ASSERT_TRUE(ParseCertificate(der->data(), der->size(), &info)) << round;
      EXPECT_EQ(info.cert_subject, std::string("C=VN, O=Rampart Test, CN=") + cn);
      EXPECT_EQ(info.cert_serial, serial);
      EXPECT_EQ(info.cert_not_after, 1'800'000'000);
    }
  }
  // Same length, one byte of the issuer changed ("a.example" -> "c.example";
  // the issuer comes first in the DER, the subject keeps its name).
  Bytes c = a;
  const std::string needle = "a.example.vn";
  auto at = std::search(c.begin(), c.end(), needle.begin(), needle.end());
  ASSERT_NE(at, c.end());
  *at = 'c';
  TlsInfo info;
  ASSERT_TRUE(ParseCertificate(c.data(), c.size(), &info));
  EXPECT_EQ(info.cert_issuer, "C=VN, O=Rampart Test, CN=c.example.vn");
  EXPECT_EQ(info.cert_subject, "C=VN, O=Rampart Test, CN=a.example.vn");
  // A cut certificate is not one, twice (the failure is remembered too), and
  // the whole one still parses after it.
  for (int i = 0; i < 2; ++i) {
    TlsInfo cut;
    EXPECT_FALSE(ParseCertificate(a.data(), a.size() / 2, &cut));
    EXPECT_TRUE(cut.cert_subject.empty());
    EXPECT_EQ(cut.cert_fingerprint.size(), 59u);
  }
  TlsInfo again;
  ASSERT_TRUE(ParseCertificate(a.data(), a.size(), &again));
  EXPECT_EQ(again.cert_subject, "C=VN, O=Rampart Test, CN=a.example.vn");
}

// Broken leaf certificates (bug-1450's captures): a DER header cut short is a
// length problem, content running past the data an invalid certificate.
TEST_F(TlsTest, BrokenCertificatesRaiseTheirEvents) {
  auto chain_of = [](const Bytes& der) {
    Bytes chain;
    U24(&chain, static_cast<uint32_t>(der.size() + 3));
    U24(&chain, static_cast<uint32_t>(der.size()));
    chain.insert(chain.end(), der.begin(), der.end());
    return Record(22, Handshake(11, chain));
  };
  const Bytes cut_header = {0x30, 0x05, 0x30, 0x84, 0xff, 0xff, 0xff, 0xfa, 0x00};
  const Bytes cut_content = {0x30, 0x06, 0x30, 0x84, 0xff, 0xff, 0xff, 0xfa, 0x00};
  EXPECT_TRUE(DerHeaderCut(cut_header.data(), cut_header.size()));
  EXPECT_FALSE(DerHeaderCut(cut_content.data(), cut_content.size()));
  EXPECT_TRUE(DerHeaderCut(cut_header.data(), 1));
  EXPECT_TRUE(DerHeaderCut(cut_header.data(), 0));
  const Bytes high_tag = {0x1f, 0x81};  // A high tag number that never ends.
  EXPECT_TRUE(DerHeaderCut(high_tag.data(), high_tag.size()));
  const Bytes good = MakeCertificate();
  EXPECT_FALSE(DerHeaderCut(good.data(), good.size()));
  for (const auto& [der, want] : {std::pair{cut_header, TlsEvent::kCertificateInvalidLength},
                                  std::pair{cut_content, TlsEvent::kInvalidCertificate}}) {
    TlsParser p;
    events_.clear();
    Feed(p, 0, ClientHello("a.example"));
    Feed(p, 1, ServerHello(0));
    Feed(p, 1, chain_of(der));
    ASSERT_EQ(events_.size(), 1u);
    EXPECT_EQ(events_[0], want);
  }
  EXPECT_STREQ(TlsEventName(TlsEvent::kCertificateInvalidLength), "tls.certificate_invalid_length");
}

TEST_F(TlsTest, Tls13ServerHelloStopsAtEncryptedHandshake) {
  TlsParser p;
  Feed(p, 0, ClientHello("b.example"));
  Feed(p, 1, ServerHello(0x0304));
  EXPECT_EQ(TlsVersionName(p.info().server_version), "TLS 1.3");
  // Anything after is encrypted: not parsed, never an error.
  Feed(p, 1, Record(22, Bytes(50, 0x99)));
  EXPECT_EQ(p.info().cert_count, 0u);
  EXPECT_TRUE(events_.empty());
}

TEST_F(TlsTest, Sslv2HelloAndBrokenRecords) {
  TlsParser p;
  const Bytes v2 = {0x80, 0x2e, 0x01, 0x03, 0x01, 0, 0x15, 0, 0, 0, 0x10};
  EXPECT_TRUE(Feed(p, 0, v2));
  EXPECT_TRUE(p.info().sslv2_hello);
  EXPECT_EQ(p.info().client_version, 0x0301);
  TlsParser bad;
  Feed(bad, 0, Bytes{0x99, 3, 1, 0, 4, 1, 2, 3, 4});
  ASSERT_FALSE(events_.empty());
  EXPECT_EQ(events_[0], TlsEvent::kInvalidRecordType);
  // Every prefix of a hello is safe.
  const Bytes hello = ClientHello("c.example");
  for (size_t n = 0; n < hello.size(); ++n) {
    TlsParser q;
    Feed(q, 0, Bytes(hello.begin(), hello.begin() + static_cast<std::ptrdiff_t>(n)));
  }
}

}  // namespace
}  // namespace rampart::applayer
