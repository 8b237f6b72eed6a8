#include "common/tls/pki.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

#include "common/util/text.h"

namespace rampart::tls {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
void FreeGeneralNames(GENERAL_NAMES* names) { GENERAL_NAMES_free(names); }
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, FreeGeneralNames>>;
void FreeExts(STACK_OF(X509_EXTENSION) * exts) { sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free); }
using ExtsPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), Deleter<STACK_OF(X509_EXTENSION), FreeExts>>;

// The oldest queued OpenSSL error as text, and clears the queue.
std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  std::string text;
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    text = buf;
  } else {
    text = "unknown OpenSSL error";
  }
  ERR_clear_error();
  return text;
}

Status Fail(std::string_view what) { return InternalError(std::string(what) + ": " + OpenSslError()); }

BioPtr MemBio(const std::string& text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<PkeyPtr> ReadKey(const std::string& pem) {
  BioPtr bio = MemBio(pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return InvalidArgumentError("not a PEM private key: " + OpenSslError());
  return key;
}

Result<X509Ptr> ReadCert(const std::string& pem) {
  BioPtr bio = MemBio(pem);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return InvalidArgumentError("not a PEM certificate: " + OpenSslError());
  return cert;
}

Result<ReqPtr> ReadCsr(const std::string& pem) {
  BioPtr bio = MemBio(pem);
  ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) return InvalidArgumentError("not a PEM certificate request: " + OpenSslError());
  return req;
}

Result<std::string> CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), cert)) return Fail("cannot encode certificate");
  return BioText(bio.get());
}

Status SetName(X509_NAME* name, const Subject& s) {
  if (!s.organization.empty() &&
      !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(s.organization.c_str()), -1, -1, 0)) {
    return Fail("cannot set O");
  }
  if (s.common_name.empty()) return InvalidArgumentError("a certificate needs a common name");
  if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(s.common_name.c_str()), -1, -1, 0)) {
    return Fail("cannot set CN");
  }
  return Status::Ok();
}

// Builds a subjectAltName value from DNS names and IP addresses.
Result<NamesPtr> MakeAltNames(const std::vector<std::string>& dns, const std::vector<std::string>& ips) {
  NamesPtr names(sk_GENERAL_NAME_new_null());
  for (const std::string& d : dns) {
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    ASN1_STRING_set(s, d.data(), static_cast<int>(d.size()));
    GENERAL_NAME_set0_value(gn, GEN_DNS, s);
    sk_GENERAL_NAME_push(names.get(), gn);
  }
  for (const std::string& ip : ips) {
    unsigned char buf[16];
    int len = 0;
    if (inet_pton(AF_INET, ip.c_str(), buf) == 1) {
      len = 4;
    } else if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) {
      len = 16;
    } else {
      return InvalidArgumentError("'" + ip + "' is not an IP address");
    }
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_OCTET_STRING* s = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(s, buf, len);
    GENERAL_NAME_set0_value(gn, GEN_IPADD, s);
    sk_GENERAL_NAME_push(names.get(), gn);
  }
  return names;
}

// Reads DNS and IP entries from a subjectAltName.
void ReadAltNames(const GENERAL_NAMES* names, std::vector<std::string>* dns, std::vector<std::string>* ips) {
  if (names == nullptr) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_DNS) {
      const ASN1_IA5STRING* s = gn->d.dNSName;
      dns->emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                        static_cast<size_t>(ASN1_STRING_length(s)));
    } else if (gn->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = gn->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = {0};
      const int len = ASN1_STRING_length(s);
      if (len == 4) inet_ntop(AF_INET, ASN1_STRING_get0_data(s), text, sizeof(text));
      else if (len == 16) inet_ntop(AF_INET6, ASN1_STRING_get0_data(s), text, sizeof(text));
      if (text[0] != '\0') ips->emplace_back(text);
    }
  }
}

std::string NameEntry(const X509_NAME* name, int nid) {
  const int idx = X509_NAME_get_index_by_NID(name, nid, -1);
  if (idx < 0) return "";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return Fail(std::string("cannot make extension ") + OBJ_nid2sn(nid));
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (!ok) return Fail("cannot add extension");
  return Status::Ok();
}

Status RandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return Fail("no randomness for a serial");
  bytes[0] &= 0x7f;  // Positive, as RFC 5280 requires.
  BnPtr bn(BN_bin2bn(bytes, sizeof(bytes), nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert))) return Fail("cannot set serial");
  return Status::Ok();
}

Status SetValidity(X509* cert, int64_t not_before, std::chrono::seconds validity) {
  const time_t start = static_cast<time_t>(not_before);
  if (!ASN1_TIME_set(X509_getm_notBefore(cert), start) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert), static_cast<time_t>(not_before + validity.count()))) {
    return Fail("cannot set validity");
  }
  return Status::Ok();
}

int64_t AsnTimeToUnix(const ASN1_TIME* t) {
  struct tm tm {};
  if (!ASN1_TIME_to_tm(t, &tm)) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

const char* UsageExtension(Usage usage) {
  switch (usage) {
    case Usage::kClient: return "clientAuth";
    case Usage::kServer: return "serverAuth";
    case Usage::kClientAndServer: return "serverAuth,clientAuth";
  }
  return "clientAuth";
}

}  // namespace

Result<std::string> GeneratePrivateKeyPem() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Fail("cannot generate a P-256 key");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr)) {
    return Fail("cannot encode the key");
  }
  return BioText(bio.get());
}

Result<std::string> CreateCsrPem(const std::string& key_pem, const Subject& subject) {
  RAMPART_ASSIGN_OR_RETURN(PkeyPtr key, ReadKey(key_pem));
  ReqPtr req(X509_REQ_new());
  if (!req || !X509_REQ_set_version(req.get(), 0)) return Fail("cannot make a request");
  RAMPART_RETURN_IF_ERROR(SetName(X509_REQ_get_subject_name(req.get()), subject));
  if (!subject.dns_names.empty() || !subject.ip_addresses.empty()) {
    RAMPART_ASSIGN_OR_RETURN(NamesPtr names, MakeAltNames(subject.dns_names, subject.ip_addresses));
    ExtsPtr exts(sk_X509_EXTENSION_new_null());
    X509_EXTENSION* ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get());
    if (ext == nullptr) return Fail("cannot encode subjectAltName");
    sk_X509_EXTENSION_push(exts.get(), ext);
    if (!X509_REQ_add_extensions(req.get(), exts.get())) return Fail("cannot add extensions");
  }
  if (!X509_REQ_set_pubkey(req.get(), key.get())) return Fail("cannot set the public key");
  if (X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) return Fail("cannot sign the request");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509_REQ(bio.get(), req.get())) return Fail("cannot encode the request");
  return BioText(bio.get());
}

Result<CertificateAuthority> CreateCertificateAuthority(const std::string& common_name,
                                                        std::chrono::seconds validity) {
  RAMPART_ASSIGN_OR_RETURN(std::string key_pem, GeneratePrivateKeyPem());
  RAMPART_ASSIGN_OR_RETURN(PkeyPtr key, ReadKey(key_pem));
  X509Ptr cert(X509_new());
  if (!cert || !X509_set_version(cert.get(), 2)) return Fail("cannot make a certificate");
  RAMPART_RETURN_IF_ERROR(RandomSerial(cert.get()));
  RAMPART_RETURN_IF_ERROR(SetValidity(cert.get(), std::time(nullptr) - 300, validity));
  Subject subject;
  subject.common_name = common_name;
  RAMPART_RETURN_IF_ERROR(SetName(X509_get_subject_name(cert.get()), subject));
  if (!X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) ||
      !X509_set_pubkey(cert.get(), key.get())) {
    return Fail("cannot set CA names");
  }
  RAMPART_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  RAMPART_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"));
  RAMPART_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return Fail("cannot self-sign the CA");
  RAMPART_ASSIGN_OR_RETURN(std::string cert_pem, CertPem(cert.get()));
  return CertificateAuthority{std::move(cert_pem), std::move(key_pem)};
}

Result<std::string> SignCsr(const CertificateAuthority& ca, const std::string& csr_pem, const SignOptions& o) {
  RAMPART_ASSIGN_OR_RETURN(ReqPtr req, ReadCsr(csr_pem));
  PkeyPtr req_key(X509_REQ_get_pubkey(req.get()));
  if (!req_key) return InvalidArgumentError("the request has no public key");
  if (X509_REQ_verify(req.get(), req_key.get()) != 1) {
    ERR_clear_error();
    return InvalidArgumentError("the request's signature does not match its key");
  }
  RAMPART_ASSIGN_OR_RETURN(X509Ptr ca_cert, ReadCert(ca.certificate_pem));
  RAMPART_ASSIGN_OR_RETURN(PkeyPtr ca_key, ReadKey(ca.key_pem));
  if (X509_check_private_key(ca_cert.get(), ca_key.get()) != 1) {
    ERR_clear_error();
    return InvalidArgumentError("the CA key does not belong to the CA certificate");
  }

  X509Ptr cert(X509_new());
  if (!cert || !X509_set_version(cert.get(), 2)) return Fail("cannot make a certificate");
  RAMPART_RETURN_IF_ERROR(RandomSerial(cert.get()));
  const int64_t not_before = o.not_before_unix_seconds != 0 ? o.not_before_unix_seconds : std::time(nullptr) - 300;
  RAMPART_RETURN_IF_ERROR(SetValidity(cert.get(), not_before, o.validity));

  Subject subject;
  subject.common_name = o.common_name.empty() ? NameEntry(X509_REQ_get_subject_name(req.get()), NID_commonName)
                                              : o.common_name;
  subject.organization = NameEntry(X509_REQ_get_subject_name(req.get()), NID_organizationName);
  RAMPART_RETURN_IF_ERROR(SetName(X509_get_subject_name(cert.get()), subject));
  if (!X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get())) ||
      !X509_set_pubkey(cert.get(), req_key.get())) {
    return Fail("cannot set names");
  }

  std::vector<std::string> dns = o.dns_names;
  std::vector<std::string> ips = o.ip_addresses;
  if (dns.empty() && ips.empty()) {
    ExtsPtr exts(X509_REQ_get_extensions(req.get()));
    if (exts) {
      for (int i = 0; i < sk_X509_EXTENSION_num(exts.get()); ++i) {
        X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts.get(), i);
        if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
        NamesPtr names(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext)));
        ReadAltNames(names.get(), &dns, &ips);
      }
    }
  }
  if (!dns.empty() || !ips.empty()) {
    RAMPART_ASSIGN_OR_RETURN(NamesPtr names, MakeAltNames(dns, ips));
    if (!X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT)) {
      return Fail("cannot add subjectAltName");
    }
  }
  RAMPART_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  RAMPART_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature,keyAgreement"));
  RAMPART_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_ext_key_usage, UsageExtension(o.usage)));
  RAMPART_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_subject_key_identifier, "hash"));
  RAMPART_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always"));
  if (!o.crl_urls.empty()) {
    std::string points;
    for (const auto& url : o.crl_urls) points += (points.empty() ? "URI:" : ",URI:") + url;
    RAMPART_RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_crl_distribution_points, points.c_str()));
  }
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) <= 0) return Fail("cannot sign the certificate");
  return CertPem(cert.get());
}

Result<std::string> CreateCrlPem(const CertificateAuthority& ca, const std::vector<std::string>& revoked_serials_hex,
                                 std::chrono::seconds validity) {
  RAMPART_ASSIGN_OR_RETURN(X509Ptr ca_cert, ReadCert(ca.certificate_pem));
  RAMPART_ASSIGN_OR_RETURN(PkeyPtr ca_key, ReadKey(ca.key_pem));
  if (X509_check_private_key(ca_cert.get(), ca_key.get()) != 1) {
    ERR_clear_error();
    return InvalidArgumentError("the CA key does not belong to the CA certificate");
  }
  using CrlPtr = std::unique_ptr<X509_CRL, Deleter<X509_CRL, X509_CRL_free>>;
  using TimePtr = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME, ASN1_TIME_free>>;
  CrlPtr crl(X509_CRL_new());
  const time_t now = std::time(nullptr);
  TimePtr last(ASN1_TIME_set(nullptr, now));
  TimePtr next(ASN1_TIME_set(nullptr, now + static_cast<time_t>(validity.count())));
  if (!crl || !last || !next || !X509_CRL_set_version(crl.get(), 1) ||
      !X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca_cert.get())) ||
      !X509_CRL_set1_lastUpdate(crl.get(), last.get()) || !X509_CRL_set1_nextUpdate(crl.get(), next.get())) {
    return Fail("cannot make a CRL");
  }
  for (const std::string& hex : revoked_serials_hex) {
    BIGNUM* raw = nullptr;
    if (BN_hex2bn(&raw, hex.c_str()) == 0) return InvalidArgumentError("not a hex serial: " + hex);
    BnPtr bn(raw);
    X509_REVOKED* r = X509_REVOKED_new();
    ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn.get(), nullptr);
    const bool ok = r && serial && X509_REVOKED_set_serialNumber(r, serial) &&
                    X509_REVOKED_set_revocationDate(r, last.get()) && X509_CRL_add0_revoked(crl.get(), r);
    ASN1_INTEGER_free(serial);
    if (!ok) {
      X509_REVOKED_free(r);
      return Fail("cannot add a revoked serial");
    }
  }
  X509_CRL_sort(crl.get());
  if (X509_CRL_sign(crl.get(), ca_key.get(), EVP_sha256()) <= 0) return Fail("cannot sign the CRL");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl.get()) != 1) return Fail("cannot write the CRL");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

Status VerifyCertificate(const std::string& certificate_pem, const std::string& ca_pem, int64_t at_unix_seconds,
                         Usage usage) {
  auto cert = ReadCert(certificate_pem);
  if (!cert) return UnauthenticatedError(cert.error().message());
  auto ca = ReadCert(ca_pem);
  if (!ca) return InvalidArgumentError("trusted CA: " + ca.error().message());
  StorePtr store(X509_STORE_new());
  if (!store || !X509_STORE_add_cert(store.get(), ca->get())) return Fail("cannot build a trust store");
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || !X509_STORE_CTX_init(ctx.get(), store.get(), cert->get(), nullptr)) {
    return Fail("cannot start verification");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  if (at_unix_seconds != 0) X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(at_unix_seconds));
  X509_VERIFY_PARAM_set_purpose(param, usage == Usage::kServer ? X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT);
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return UnauthenticatedError(std::string("certificate rejected: ") + X509_verify_cert_error_string(err));
  }
  return Status::Ok();
}

Result<CertificateInfo> InspectCertificate(const std::string& certificate_pem) {
  RAMPART_ASSIGN_OR_RETURN(X509Ptr cert, ReadCert(certificate_pem));
  CertificateInfo info;
  info.subject_cn = NameEntry(X509_get_subject_name(cert.get()), NID_commonName);
  info.issuer_cn = NameEntry(X509_get_issuer_name(cert.get()), NID_commonName);
  BnPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr));
  if (serial) {
    char* hex = BN_bn2hex(serial.get());
    info.serial_hex = hex;
    OPENSSL_free(hex);
  }
  info.not_before_unix_seconds = AsnTimeToUnix(X509_get0_notBefore(cert.get()));
  info.not_after_unix_seconds = AsnTimeToUnix(X509_get0_notAfter(cert.get()));
  NamesPtr names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  ReadAltNames(names.get(), &info.dns_names, &info.ip_addresses);
  info.is_ca = X509_check_ca(cert.get()) != 0;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!X509_digest(cert.get(), EVP_sha256(), md, &len)) return Fail("cannot hash the certificate");
  info.sha256 = HexEncode(std::span<const uint8_t>(md, len));
  return info;
}

Result<std::string> CsrCommonName(const std::string& csr_pem) {
  RAMPART_ASSIGN_OR_RETURN(ReqPtr req, ReadCsr(csr_pem));
  return NameEntry(X509_REQ_get_subject_name(req.get()), NID_commonName);
}

Result<std::string> CertificateSha256(const std::string& certificate_pem) {
  RAMPART_ASSIGN_OR_RETURN(CertificateInfo info, InspectCertificate(certificate_pem));
  return info.sha256;
}

std::string FormatFingerprint(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i < hex.size(); ++i) {
    if (i > 0 && i % 2 == 0) out += ':';
    out += AsciiToUpper(hex[i]);
  }
  return out;
}

Result<std::string> ParseFingerprint(std::string_view text) {
  std::string hex;
  for (char c : text) {
    if (c == ':' || c == ' ') continue;
    hex += AsciiToLower(c);  // The form Sha256Hex and CertificateSha256 return.
  }
  auto bytes = HexDecode(hex);
  if (!bytes || bytes->size() != 32) {
    return InvalidArgumentError("a SHA-256 fingerprint is 64 hex digits (colons allowed), got '" +
                                std::string(text) + "'");
  }
  return hex;
}

Result<bool> KeyMatchesCertificate(const std::string& key_pem, const std::string& certificate_pem) {
  RAMPART_ASSIGN_OR_RETURN(PkeyPtr key, ReadKey(key_pem));
  RAMPART_ASSIGN_OR_RETURN(X509Ptr cert, ReadCert(certificate_pem));
  const bool match = X509_check_private_key(cert.get(), key.get()) == 1;
  ERR_clear_error();
  return match;
}

Result<std::string> SignData(const std::string& key_pem, std::string_view data) {
  RAMPART_ASSIGN_OR_RETURN(PkeyPtr key, ReadKey(key_pem));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return Fail("cannot sign");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return Fail("cannot sign");
  }
  sig.resize(len);
  return sig;
}

Status VerifyData(const std::string& certificate_pem, std::string_view data, std::string_view signature) {
  RAMPART_ASSIGN_OR_RETURN(X509Ptr cert, ReadCert(certificate_pem));
  PkeyPtr key(X509_get_pubkey(cert.get()));
  if (!key) return Fail("the certificate has no key");
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1) {
    return Fail("cannot verify");
  }
  const int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                                  signature.size(), reinterpret_cast<const unsigned char*>(data.data()), data.size());
  ERR_clear_error();
  if (rc != 1) return UnauthenticatedError("signature does not match the signer's certificate");
  return Status::Ok();
}

}  // namespace rampart::tls
