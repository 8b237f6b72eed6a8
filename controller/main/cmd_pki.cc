#include <CLI/CLI.hpp>

#include <arpa/inet.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "common/tls/files.h"
#include "common/tls/pki.h"
#include "common/util/build_info.h"
#include "controller/main/commands.h"

namespace rampart::controller_cli {
namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "rampartctl: %s\n", s.ToString().c_str());
  return kExitFailure;
}

// Creates the controller's CA and its server certificate (for the gRPC and
// HTTPS ports) in `dir`, unless a CA is already there.
int PkiInit(const std::string& dir, const std::vector<std::string>& hosts, int ca_days, int server_days,
            std::vector<std::string> crl_urls) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Fail(ErrnoError(ec.value(), "cannot create " + dir));
  ::chmod(dir.c_str(), 0700);
  const std::string ca_crt = dir + "/ca.crt", ca_key = dir + "/ca.key";
  const std::string srv_crt = dir + "/server.crt", srv_key = dir + "/server.key";
  if (fs::exists(ca_crt) || fs::exists(ca_key)) {
    std::fprintf(stderr, "rampartctl: %s already holds a CA; refusing to replace it (every agent trusts it)\n",
                 dir.c_str());
    return kExitFailure;
  }
  auto ca = tls::CreateCertificateAuthority("Rampart controller CA", std::chrono::hours(24 * ca_days));
  if (!ca) return Fail(ca.error());
  tls::Subject subject;
  subject.common_name = hosts.empty() ? "localhost" : hosts.front();
  for (const std::string& h : hosts) {
    unsigned char addr[16];
    if (inet_pton(AF_INET, h.c_str(), addr) == 1 || inet_pton(AF_INET6, h.c_str(), addr) == 1) {
      subject.ip_addresses.push_back(h);
    } else {
      subject.dns_names.push_back(h);
    }
  }
  auto key = tls::GeneratePrivateKeyPem();
  if (!key) return Fail(key.error());
  auto csr = tls::CreateCsrPem(*key, subject);
  if (!csr) return Fail(csr.error());
  tls::SignOptions options;
  options.usage = tls::Usage::kServer;
  options.validity = std::chrono::hours(24 * server_days);
  // Where TLS clients find the CA's revocation list: the controller serves
  // it on its UI port (web.crl_file).
  if (crl_urls.empty()) {
    const std::string& h = hosts.empty() ? std::string("localhost") : hosts.front();
    crl_urls.push_back("https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":8443/pki/ca.crl");
  }
  options.crl_urls = crl_urls;
  auto cert = tls::SignCsr(*ca, *csr, options);
  if (!cert) return Fail(cert.error());
  auto crl = tls::CreateCrlPem(*ca, {}, std::chrono::hours(24 * 365));
  if (!crl) return Fail(crl.error());
  for (auto s : {tls::WriteSecretFile(ca_key, ca->key_pem), tls::WriteFileAtomically(dir + "/ca.crl", *crl, 0644),
                 tls::WriteFileAtomically(ca_crt, ca->certificate_pem, 0644),
                 tls::WriteSecretFile(srv_key, *key),
                 tls::WriteFileAtomically(srv_crt, *cert, 0644)}) {
    if (!s.ok()) return Fail(s);
  }
  auto fp = tls::CertificateSha256(ca->certificate_pem);
  if (!fp) return Fail(fp.error());
  std::printf("CA certificate:     %s\nserver certificate: %s\nCA SHA-256:         %s\n", ca_crt.c_str(),
              srv_crt.c_str(), fp->c_str());
  return kExitOk;
}

int PkiFingerprint(const std::string& path) {
  auto pem = tls::ReadFile(path);
  if (!pem) return Fail(pem.error());
  auto fp = tls::CertificateSha256(*pem);
  if (!fp) return Fail(fp.error());
  std::printf("%s\n", fp->c_str());
  return kExitOk;
}

}  // namespace

Command AddPkiCommand(CLI::App& app) {
  struct Flags {
    std::string dir;
    std::vector<std::string> hosts;
    int ca_days = 3650;
    int server_days = 825;
    std::string cert_path;
    std::vector<std::string> crl_urls;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* pki = app.add_subcommand("pki", "The controller's certificate authority");
  pki->require_subcommand(1);
  CLI::App* init = pki->add_subcommand("init", "Create the CA and the controller's server certificate");
  init->add_option("--dir", f->dir, "Directory for ca.crt, ca.key, server.crt, server.key")->required();
  init->add_option("--host", f->hosts, "Server name or address for the certificate (repeatable)");
  init->add_option("--ca-days", f->ca_days, "CA validity in days")->check(CLI::Range(1, 36500));
  init->add_option("--server-days", f->server_days, "Server certificate validity in days")
      ->check(CLI::Range(1, 3650));
  init->add_option("--crl-url", f->crl_urls,
                   "CRL distribution point for the server certificate (repeatable); default: "
                   "https://HOST:8443/pki/ca.crl, served by the controller");
  CLI::App* fingerprint = pki->add_subcommand("fingerprint", "Print a certificate's SHA-256 fingerprint");
  fingerprint->add_option("certificate", f->cert_path, "PEM certificate")->required()->check(CLI::ExistingFile);
  return {pki, [f, init, fingerprint]() -> int {
            if (init->parsed()) {
              return PkiInit(f->dir, f->hosts.empty() ? std::vector<std::string>{"localhost", "127.0.0.1", "::1"}
                                                       : f->hosts,
                             f->ca_days, f->server_days, f->crl_urls);
            }
            if (fingerprint->parsed()) return PkiFingerprint(f->cert_path);
            return kExitUsage;
          }};
}

}  // namespace rampart::controller_cli
