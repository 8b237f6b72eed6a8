#include "agent/ship/identity.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/log/log.h"
#include "common/rpc/status.h"
#include "common/tls/files.h"
#include "common/tls/pki.h"
#include "common/util/clock.h"
#include "common/util/ids.h"
#include "rampart/v1/agent_service.grpc.pb.h"

namespace rampart::ship {
namespace {

namespace v1 = rampart::v1;

std::chrono::system_clock::time_point Deadline(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

grpc::ChannelArguments BaseArgs(const std::string& server_name) {
  rpc::ConfigureRuntime();
  grpc::ChannelArguments args;
  if (!server_name.empty()) args.SetSslTargetNameOverride(server_name);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return args;
}

// Step 1 of enrolment: the CA certificate, from a TLS connection that
// checks nothing. Only the pin makes the answer trustworthy.
Result<std::string> FetchCa(const EnrollOptions& o) {
  grpc::experimental::TlsChannelCredentialsOptions topts;
  topts.set_verify_server_certs(false);
  topts.set_check_call_host(false);
  topts.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  auto creds = grpc::experimental::TlsCredentials(topts);
  if (!creds) return InternalError("cannot create TLS credentials for the CA fetch");
  auto channel = grpc::CreateCustomChannel(o.controller, creds, BaseArgs(o.server_name));
  auto stub = v1::AgentService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(o.timeout_seconds));
  v1::CaRequest req;
  v1::CaResponse resp;
  grpc::Status s = stub->GetCaCertificate(&ctx, req, &resp);
  if (!s.ok()) return rpc::FromGrpc(s, "cannot fetch the controller's CA from " + o.controller);
  return resp.ca_pem();
}

std::string IdentityPath(const std::string& data_dir, const char* name) { return data_dir + "/pki/" + name; }

// Completes a renewal a crash interrupted (see SaveRenewed).
void FinishRenewal(const std::string& data_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string key_new = IdentityPath(data_dir, "agent.key.new");
  const std::string crt_new = IdentityPath(data_dir, "agent.crt.new");
  if (fs::exists(crt_new, ec)) {
    if (fs::exists(key_new, ec)) fs::rename(key_new, IdentityPath(data_dir, "agent.key"), ec);
    fs::rename(crt_new, IdentityPath(data_dir, "agent.crt"), ec);
  } else if (fs::exists(key_new, ec)) {
    fs::remove(key_new, ec);  // The certificate never arrived: keep the old pair.
  }
}

}  // namespace

Result<std::pair<std::string, int>> SplitHostPort(const std::string& address) {
  std::string host;
  std::string port;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return InvalidArgumentError("'" + address + "' must be HOST:PORT ([v6]:PORT for IPv6)");
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0 || address.find(':') != colon) {
      return InvalidArgumentError("'" + address + "' must be HOST:PORT ([v6]:PORT for IPv6)");
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  int p = 0;
  for (char c : port) {
    if (c < '0' || c > '9' || p > 65535) return InvalidArgumentError("bad port in '" + address + "'");
    p = p * 10 + (c - '0');
  }
  if (port.empty() || p < 1 || p > 65535) return InvalidArgumentError("bad port in '" + address + "'");
  return std::make_pair(host, p);
}

Result<Identity> Enroll(const EnrollOptions& o) {
  RAMPART_RETURN_IF_ERROR(SplitHostPort(o.controller));
  if (o.token.empty()) return InvalidArgumentError("the enrolment token is empty");
  RAMPART_ASSIGN_OR_RETURN(std::string pin, tls::ParseFingerprint(o.ca_sha256));
  if (o.data_dir.empty()) return InvalidArgumentError("no data directory");
  if (std::filesystem::exists(IdentityPath(o.data_dir, "agent.crt"))) {
    return AlreadyExistsError(o.data_dir + " already holds an enrolled identity; remove " + o.data_dir +
                              "/pki and " + o.data_dir + "/enrolment.json to enrol again");
  }

  RAMPART_ASSIGN_OR_RETURN(std::string ca_pem, FetchCa(o));
  RAMPART_ASSIGN_OR_RETURN(std::string fp, tls::CertificateSha256(ca_pem));
  if (fp != pin) {
    return PermissionDeniedError("the controller at " + o.controller + " presented a CA with SHA-256 " +
                                 tls::FormatFingerprint(fp) + ", not the pinned " + tls::FormatFingerprint(pin) +
                                 "; refusing to send the token");
  }
  RAMPART_ASSIGN_OR_RETURN(tls::CertificateInfo ca_info, tls::InspectCertificate(ca_pem));
  if (!ca_info.is_ca) return PermissionDeniedError("the pinned certificate is not a CA certificate");

  const std::string hostname = o.hostname.empty() ? HostName("agent") : o.hostname;
  RAMPART_ASSIGN_OR_RETURN(std::string key_pem, tls::GeneratePrivateKeyPem());
  tls::Subject subject;
  subject.common_name = hostname;
  RAMPART_ASSIGN_OR_RETURN(std::string csr_pem, tls::CreateCsrPem(key_pem, subject));

  grpc::SslCredentialsOptions sopts;
  sopts.pem_root_certs = ca_pem;
  auto channel = grpc::CreateCustomChannel(o.controller, grpc::SslCredentials(sopts), BaseArgs(o.server_name));
  auto stub = v1::AgentService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(o.timeout_seconds));
  v1::EnrollRequest req;
  req.set_token(o.token);
  req.set_csr_pem(csr_pem);
  req.set_hostname(hostname);
  req.set_version(o.version);
  v1::EnrollResponse resp;
  grpc::Status s = stub->Enroll(&ctx, req, &resp);
  if (!s.ok()) return rpc::FromGrpc(s, "enrolment at " + o.controller + " refused");

  Identity id;
  id.agent_id = resp.agent_id();
  id.site = resp.site();
  id.controller = o.controller;
  id.server_name = o.server_name;
  id.key_pem = key_pem;
  id.certificate_pem = resp.certificate_pem();
  id.ca_pem = ca_pem;
  RAMPART_RETURN_IF_ERROR(tls::VerifyCertificate(id.certificate_pem, ca_pem, 0, tls::Usage::kClient)
                              .WithContext("the certificate the controller returned"));
  RAMPART_ASSIGN_OR_RETURN(bool match, tls::KeyMatchesCertificate(key_pem, id.certificate_pem));
  if (!match) return InternalError("the controller returned a certificate for another key");
  RAMPART_ASSIGN_OR_RETURN(tls::CertificateInfo info, tls::InspectCertificate(id.certificate_pem));
  if (info.subject_cn != id.agent_id) return InternalError("the certificate's CN is not the assigned agent id");
  id.not_before_unix_seconds = info.not_before_unix_seconds;
  id.not_after_unix_seconds = info.not_after_unix_seconds;

  std::error_code ec;
  std::filesystem::create_directories(o.data_dir + "/pki", ec);
  if (ec) return ErrnoError(ec.value(), "cannot create " + o.data_dir + "/pki");
  ::chmod((o.data_dir + "/pki").c_str(), 0700);
  RAMPART_RETURN_IF_ERROR(tls::WriteSecretFile(IdentityPath(o.data_dir, "agent.key"), key_pem));
  RAMPART_RETURN_IF_ERROR(tls::WriteFileAtomically(IdentityPath(o.data_dir, "ca.crt"), ca_pem, 0644));
  RAMPART_RETURN_IF_ERROR(tls::WriteFileAtomically(IdentityPath(o.data_dir, "agent.crt"), id.certificate_pem, 0644));
  nlohmann::json j = {{"agent_id", id.agent_id},
                      {"site", id.site},
                      {"controller", id.controller},
                      {"server_name", id.server_name},
                      {"enrolled", FormatRfc3339(WallNanos())}};
  RAMPART_RETURN_IF_ERROR(tls::WriteFileAtomically(o.data_dir + "/enrolment.json", j.dump(2) + "\n", 0644));
  log::Info("ship", "enrolled", {{"agent", id.agent_id}, {"site", id.site}, {"controller", id.controller}});
  return id;
}

Result<Identity> LoadIdentity(const std::string& data_dir) {
  FinishRenewal(data_dir);
  Identity id;
  auto meta = tls::ReadFile(data_dir + "/enrolment.json");
  if (!meta.has_value()) {
    if (meta.error().code() == StatusCode::kNotFound) {
      return NotFoundError("this agent is not enrolled (run `rampart-agent enroll`)");
    }
    return meta.error();
  }
  nlohmann::json j = nlohmann::json::parse(*meta, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgumentError(data_dir + "/enrolment.json is not JSON");
  id.agent_id = j.value("agent_id", "");
  id.site = j.value("site", "");
  id.controller = j.value("controller", "");
  id.server_name = j.value("server_name", "");
  RAMPART_ASSIGN_OR_RETURN(id.key_pem, tls::ReadSecretFile(IdentityPath(data_dir, "agent.key")));
  RAMPART_ASSIGN_OR_RETURN(id.certificate_pem, tls::ReadFile(IdentityPath(data_dir, "agent.crt")));
  RAMPART_ASSIGN_OR_RETURN(id.ca_pem, tls::ReadFile(IdentityPath(data_dir, "ca.crt")));
  RAMPART_ASSIGN_OR_RETURN(bool match, tls::KeyMatchesCertificate(id.key_pem, id.certificate_pem));
  if (!match) return InvalidArgumentError(data_dir + "/pki/agent.key is not the key of agent.crt");
  RAMPART_ASSIGN_OR_RETURN(tls::CertificateInfo info, tls::InspectCertificate(id.certificate_pem));
  if (id.agent_id.empty()) id.agent_id = info.subject_cn;
  if (info.subject_cn != id.agent_id) {
    return InvalidArgumentError("agent.crt is for '" + info.subject_cn + "', enrolment.json says '" + id.agent_id + "'");
  }
  id.not_before_unix_seconds = info.not_before_unix_seconds;
  id.not_after_unix_seconds = info.not_after_unix_seconds;
  return id;
}

bool RenewalDue(const Identity& id, int64_t now) {
  const int64_t total = id.not_after_unix_seconds - id.not_before_unix_seconds;
  if (total <= 0) return true;
  return id.not_after_unix_seconds - now < total / 3;
}

Status SaveRenewed(const std::string& data_dir, Identity& id, const std::string& key_pem,
                   const std::string& certificate_pem) {
  RAMPART_ASSIGN_OR_RETURN(bool match, tls::KeyMatchesCertificate(key_pem, certificate_pem));
  if (!match) return InternalError("renewed certificate does not match the new key");
  RAMPART_RETURN_IF_ERROR(tls::VerifyCertificate(certificate_pem, id.ca_pem, 0, tls::Usage::kClient));
  RAMPART_ASSIGN_OR_RETURN(tls::CertificateInfo info, tls::InspectCertificate(certificate_pem));
  if (info.subject_cn != id.agent_id) return InternalError("renewed certificate is for another agent");
  // Both new files are complete before either replaces the old pair; a
  // crash between the two renames is finished by FinishRenewal at the next
  // start (agent.crt.new present means both were written).
  const std::string dir = data_dir + "/pki/";
  RAMPART_RETURN_IF_ERROR(tls::WriteSecretFile(dir + "agent.key.new", key_pem));
  RAMPART_RETURN_IF_ERROR(tls::WriteFileAtomically(dir + "agent.crt.new", certificate_pem, 0644));
  std::error_code ec;
  std::filesystem::rename(dir + "agent.key.new", dir + "agent.key", ec);
  if (ec) return ErrnoError(ec.value(), "cannot install the renewed key");
  std::filesystem::rename(dir + "agent.crt.new", dir + "agent.crt", ec);
  if (ec) return ErrnoError(ec.value(), "cannot install the renewed certificate");
  id.key_pem = key_pem;
  id.certificate_pem = certificate_pem;
  id.not_before_unix_seconds = info.not_before_unix_seconds;
  id.not_after_unix_seconds = info.not_after_unix_seconds;
  return Status::Ok();
}

}  // namespace rampart::ship
