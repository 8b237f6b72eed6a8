#include "common/tls/pki.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ctime>

#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

namespace rampart::tls {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class PkiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ca = CreateCertificateAuthority("Test CA", std::chrono::hours(24 * 365));
    ASSERT_TRUE(ca.has_value()) << ca.error();
    ca_ = new CertificateAuthority(*ca);
  }
  static void TearDownTestSuite() { delete ca_; }

  static std::string Issue(const SignOptions& options, std::string* key_out = nullptr) {
    auto key = GeneratePrivateKeyPem();
    EXPECT_TRUE(key.has_value());
    auto csr = CreateCsrPem(*key, {.common_name = "web-01", .dns_names = {"web-01.so.gov.vn"},
                                   .ip_addresses = {"10.1.2.3"}});
    EXPECT_TRUE(csr.has_value()) << csr.error();
    auto cert = SignCsr(*ca_, *csr, options);
    EXPECT_TRUE(cert.has_value()) << cert.error();
    if (key_out) *key_out = *key;
    return cert.value_or("");
  }

  static CertificateAuthority* ca_;
};
CertificateAuthority* PkiTest::ca_ = nullptr;

TEST_F(PkiTest, IssuesCertificateWithSansAndVerifies) {
  std::string key;
  SignOptions options;
  options.common_name = "agent-7f3a";
  const std::string cert = Issue(options, &key);
  auto info = InspectCertificate(cert);
  ASSERT_TRUE(info.has_value()) << info.error();
  EXPECT_EQ(info->subject_cn, "agent-7f3a");  // The CA decides identity, not the CSR.
  EXPECT_EQ(info->issuer_cn, "Test CA");
  EXPECT_THAT(info->dns_names, ElementsAre("web-01.so.gov.vn"));
  EXPECT_THAT(info->ip_addresses, ElementsAre("10.1.2.3"));
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(info->sha256.size(), 64u);
  EXPECT_NEAR(static_cast<double>(info->not_after_unix_seconds - info->not_before_unix_seconds),
              90.0 * 86400, 1.0);
  EXPECT_TRUE(VerifyCertificate(cert, ca_->certificate_pem).ok());
  EXPECT_TRUE(KeyMatchesCertificate(key, cert).value());
  EXPECT_TRUE(InspectCertificate(ca_->certificate_pem)->is_ca);
}

TEST_F(PkiTest, ExpiredCertificateIsRejected) {
  SignOptions options;
  options.not_before_unix_seconds = std::time(nullptr) - 10 * 86400;
  options.validity = std::chrono::hours(24);
  const std::string cert = Issue(options);
  const Status s = VerifyCertificate(cert, ca_->certificate_pem);
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(s.message(), HasSubstr("certificate has expired"));
  // The time parameter is honoured: a fresh 90-day certificate is expired 100 days from now.
  const std::string fresh = Issue({});
  EXPECT_TRUE(VerifyCertificate(fresh, ca_->certificate_pem).ok());
  EXPECT_THAT(VerifyCertificate(fresh, ca_->certificate_pem, std::time(nullptr) + 100 * 86400).message(),
              HasSubstr("certificate has expired"));
}

TEST_F(PkiTest, NotYetValidCertificateIsRejected) {
  SignOptions options;
  options.not_before_unix_seconds = std::time(nullptr) + 86400;
  const Status s = VerifyCertificate(Issue(options), ca_->certificate_pem);
  EXPECT_THAT(s.message(), HasSubstr("not yet valid"));
}

TEST_F(PkiTest, CertificateFromAnotherCaIsRejected) {
  auto rogue = CreateCertificateAuthority("Test CA", std::chrono::hours(24));  // Same name, other key.
  ASSERT_TRUE(rogue.has_value());
  auto key = GeneratePrivateKeyPem();
  auto csr = CreateCsrPem(*key, {.common_name = "forged"});
  auto cert = SignCsr(*rogue, *csr, {});
  ASSERT_TRUE(cert.has_value());
  const Status s = VerifyCertificate(*cert, ca_->certificate_pem);
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  // Same issuer name, different key: no trusted issuer matches.
  EXPECT_THAT(s.message(), HasSubstr("unable to get local issuer certificate"));
}

TEST_F(PkiTest, TamperedSignatureIsRejected) {
  std::string cert = Issue({});
  // The signature is the last thing in the DER; change one base64 digit of
  // the last full line of the PEM body.
  const size_t end = cert.find("\n-----END");
  ASSERT_NE(end, std::string::npos);
  const size_t line_start = cert.rfind('\n', cert.rfind('\n', end - 1) - 1) + 1;
  char& c = cert[line_start + 10];
  c = (c == 'A') ? 'B' : 'A';
  const Status s = VerifyCertificate(cert, ca_->certificate_pem);
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(s.message(), HasSubstr("signature failure"));
}

TEST_F(PkiTest, SelfSignedCertificateIsRejected) {
  auto self = CreateCertificateAuthority("agent-self", std::chrono::hours(24));
  ASSERT_TRUE(self.has_value());
  const Status s = VerifyCertificate(self->certificate_pem, ca_->certificate_pem);
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
}

TEST_F(PkiTest, UsageIsChecked) {
  SignOptions client;
  client.usage = Usage::kClient;
  const std::string cert = Issue(client);
  EXPECT_TRUE(VerifyCertificate(cert, ca_->certificate_pem, 0, Usage::kClient).ok());
  EXPECT_THAT(VerifyCertificate(cert, ca_->certificate_pem, 0, Usage::kServer).message(),
              HasSubstr("unsuitable certificate purpose"));
}

TEST_F(PkiTest, TamperedCsrAndGarbageAreRefused) {
  auto key = GeneratePrivateKeyPem();
  auto csr = CreateCsrPem(*key, {.common_name = "x"});
  ASSERT_TRUE(csr.has_value());
  EXPECT_EQ(SignCsr(*ca_, "not a csr", {}).error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateCsrPem("not a key", {.common_name = "x"}).error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateCsrPem(*key, {.common_name = ""}).error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateCsrPem(*key, {.common_name = "x", .ip_addresses = {"not-an-ip"}}).error().code(),
            StatusCode::kInvalidArgument);
  CertificateAuthority wrong_key = *ca_;
  wrong_key.key_pem = *key;
  EXPECT_THAT(SignCsr(wrong_key, *csr, {}).error().message(), HasSubstr("does not belong"));
  EXPECT_EQ(VerifyCertificate("garbage", ca_->certificate_pem).code(), StatusCode::kUnauthenticated);
}

TEST_F(PkiTest, FingerprintsMatchOpenSslFormat) {
  auto fp = CertificateSha256(ca_->certificate_pem);
  ASSERT_TRUE(fp.has_value());
  const std::string colon = FormatFingerprint(*fp);
  EXPECT_EQ(colon.size(), 95u);
  EXPECT_EQ(ParseFingerprint(colon).value(), *fp);
  EXPECT_FALSE(ParseFingerprint("abcd").has_value());
}

TEST_F(PkiTest, DetachedSignaturesVerifyAndDetectTampering) {
  std::string key;
  const std::string cert = Issue({}, &key);
  auto sig = SignData(key, "bundle-v42");
  ASSERT_TRUE(sig.has_value());
  EXPECT_TRUE(VerifyData(cert, "bundle-v42", *sig).ok());
  EXPECT_EQ(VerifyData(cert, "bundle-v43", *sig).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(VerifyData(ca_->certificate_pem, "bundle-v42", *sig).code(), StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace rampart::tls

namespace rampart::tls {
namespace {

// The CRL and the distribution point that lets TLS clients (and testssl)
// find it; checked with the openssl command line.
TEST(PkiCrlTest, CrlListsRevokedSerialsAndCertificatesPointToIt) {
  auto ca = CreateCertificateAuthority("CRL CA", std::chrono::hours(24));
  ASSERT_TRUE(ca.has_value());
  auto key = GeneratePrivateKeyPem();
  auto csr = CreateCsrPem(*key, {.common_name = "controller"});
  SignOptions o;
  o.usage = Usage::kServer;
  o.crl_urls = {"https://controller.example.vn:8443/pki/ca.crl"};
  auto cert = SignCsr(*ca, *csr, o);
  ASSERT_TRUE(cert.has_value()) << cert.error();
  auto crl = CreateCrlPem(*ca, {"0A1B2C", "ff"}, std::chrono::hours(24 * 30));
  ASSERT_TRUE(crl.has_value()) << crl.error();
  EXPECT_THAT(*crl, HasSubstr("-----BEGIN X509 CRL-----"));
  EXPECT_FALSE(CreateCrlPem(*ca, {"not-hex"}, std::chrono::hours(1)).has_value());

  testing::ScopedTempDir dir("crl");
  testing::WriteTextFile(dir.File("ca.pem"), ca->certificate_pem);
  testing::WriteTextFile(dir.File("crl.pem"), *crl);
  testing::WriteTextFile(dir.File("cert.pem"), *cert);
  auto r = testing::RunProcess({"/usr/bin/openssl", "crl", "-in", dir.File("crl.pem"), "-CAfile", dir.File("ca.pem"),
                                "-noout", "-text"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out + r.err, HasSubstr("verify OK"));
  EXPECT_THAT(r.out, HasSubstr("Serial Number: 0A1B2C"));
  EXPECT_THAT(r.out, HasSubstr("Serial Number: FF"));
  auto x = testing::RunProcess({"/usr/bin/openssl", "x509", "-in", dir.File("cert.pem"), "-noout", "-ext",
                                "crlDistributionPoints"});
  EXPECT_THAT(x.out, HasSubstr("URI:https://controller.example.vn:8443/pki/ca.crl"));
}

}  // namespace
}  // namespace rampart::tls
