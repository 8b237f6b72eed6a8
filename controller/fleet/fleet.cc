#include "controller/fleet/fleet.h"

#include <map>

#include "common/log/log.h"
#include "common/tls/digest.h"
#include "common/tls/files.h"
#include "common/tls/pki.h"
#include "common/util/ids.h"
#include "common/util/mutex.h"
#include "common/util/text.h"

namespace rampart::fleet {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

class FleetImpl final : public Fleet {
 public:
  FleetImpl(const Options& options, registry::Registry& registry) : options_(options), registry_(registry) {}

  Status Load() {
    const std::string dir = options_.pki_dir;
    RAMPART_ASSIGN_OR_RETURN(ca_.certificate_pem, tls::ReadFile(dir + "/ca.crt"));
    RAMPART_ASSIGN_OR_RETURN(ca_.key_pem, tls::ReadSecretFile(dir + "/ca.key"));
    RAMPART_ASSIGN_OR_RETURN(server_cert_, tls::ReadFile(dir + "/server.crt"));
    RAMPART_ASSIGN_OR_RETURN(server_key_, tls::ReadSecretFile(dir + "/server.key"));
    RAMPART_ASSIGN_OR_RETURN(ca_sha256_, tls::CertificateSha256(ca_.certificate_pem));
    RAMPART_ASSIGN_OR_RETURN(bool match, tls::KeyMatchesCertificate(ca_.key_pem, ca_.certificate_pem));
    if (!match) return InvalidArgumentError(dir + "/ca.key is not the key of " + dir + "/ca.crt");
    RAMPART_ASSIGN_OR_RETURN(match, tls::KeyMatchesCertificate(server_key_, server_cert_));
    if (!match) return InvalidArgumentError(dir + "/server.key is not the key of " + dir + "/server.crt");
    RAMPART_RETURN_IF_ERROR(tls::VerifyCertificate(server_cert_, ca_.certificate_pem, 0, tls::Usage::kServer)
                                .WithContext(dir + "/server.crt was not issued by " + dir + "/ca.crt"));
    return Status::Ok();
  }

  const std::string& ca_pem() const override { return ca_.certificate_pem; }
  const std::string& ca_sha256() const override { return ca_sha256_; }
  const std::string& server_certificate_pem() const override { return server_cert_; }
  const std::string& server_key_pem() const override { return server_key_; }

  Result<CreatedToken> CreateToken(const TokenRequest& r) override {
    const std::chrono::seconds ttl = r.ttl.count() == 0 ? options_.token_ttl : r.ttl;
    if (ttl.count() < 1 || ttl.count() > 366 * 86400) return InvalidArgumentError("token ttl must be 1s..366d");
    if (!registry_.GetSite(r.site).has_value()) {
      if (!r.create_site) return NotFoundError("no site '" + r.site + "' (create it first, or pass --create-site)");
      registry::Site site;
      site.id = r.site;
      Status s = registry_.CreateSite(site);
      if (!s.ok() && s.code() != StatusCode::kAlreadyExists) return s;
    }
    CreatedToken out;
    out.token = RandomToken(32);
    out.site = r.site;
    const int64_t now = options_.clock->NowNanos();
    out.expires_unix_nanos = now + ttl.count() * kSecond;
    registry::Token t;
    t.sha256 = tls::Sha256Hex(out.token);
    t.site = r.site;
    t.created_unix_nanos = now;
    t.expires_unix_nanos = out.expires_unix_nanos;
    t.created_by = r.created_by;
    RAMPART_RETURN_IF_ERROR(registry_.PutToken(t));
    log::Info("fleet", "enrolment token created",
              {{"site", r.site}, {"expires", FormatRfc3339(out.expires_unix_nanos)}, {"by", r.created_by}});
    return out;
  }

  Result<Enrolled> Enroll(const std::string& token, const std::string& csr_pem, const std::string& hostname,
                          const std::string& version) override {
    const std::string agent_id = NewAgentId();
    // Sign first: a malformed CSR must not use the token up.
    tls::SignOptions so;
    so.usage = tls::Usage::kClient;
    so.validity = options_.agent_certificate_validity;
    so.common_name = agent_id;
    so.dns_names = {agent_id};
    auto cert = tls::SignCsr(ca_, csr_pem, so);
    if (!cert.has_value()) return InvalidArgumentError("bad certificate request: " + cert.error().message());
    RAMPART_ASSIGN_OR_RETURN(tls::CertificateInfo info, tls::InspectCertificate(*cert));
    auto used = registry_.ConsumeToken(tls::Sha256Hex(token), agent_id);
    if (!used.has_value()) {
      log::Warn("fleet", "enrolment refused", {{"hostname", hostname}, {"error", used.error()}});
      return used.error();
    }
    registry::Agent a;
    a.id = agent_id;
    a.name = hostname.substr(0, 253);
    a.site = used->site;
    a.version = version.substr(0, 200);
    a.enrolled_unix_nanos = options_.clock->NowNanos();
    a.certificate_serial = info.serial_hex;
    a.certificate_not_after_unix_seconds = info.not_after_unix_seconds;
    RAMPART_RETURN_IF_ERROR(registry_.PutAgentIdentity(a));
    log::Info("fleet", "agent enrolled", {{"agent", agent_id}, {"site", a.site}, {"hostname", a.name}});
    return Enrolled{agent_id, a.site, *cert, info.not_after_unix_seconds};
  }

  Result<Enrolled> Renew(const Peer& peer, const std::string& csr_pem) override {
    RAMPART_RETURN_IF_ERROR(Authorize(peer));
    RAMPART_ASSIGN_OR_RETURN(registry::Agent a, registry_.GetAgent(peer.agent_id));
    tls::SignOptions so;
    so.usage = tls::Usage::kClient;
    so.validity = options_.agent_certificate_validity;
    so.common_name = peer.agent_id;
    so.dns_names = {peer.agent_id};
    auto cert = tls::SignCsr(ca_, csr_pem, so);
    if (!cert.has_value()) return InvalidArgumentError("bad certificate request: " + cert.error().message());
    RAMPART_ASSIGN_OR_RETURN(tls::CertificateInfo info, tls::InspectCertificate(*cert));
    a.certificate_serial = info.serial_hex;
    a.certificate_not_after_unix_seconds = info.not_after_unix_seconds;
    RAMPART_RETURN_IF_ERROR(registry_.PutAgentIdentity(a));
    log::Info("fleet", "agent certificate renewed",
              {{"agent", peer.agent_id}, {"not_after", FormatRfc3339(info.not_after_unix_seconds * kSecond)}});
    return Enrolled{peer.agent_id, a.site, *cert, info.not_after_unix_seconds};
  }

  Status Authorize(const Peer& peer) const override {
    auto a = registry_.GetAgent(peer.agent_id);
    if (!a.has_value()) {
      if (a.error().code() == StatusCode::kNotFound) {
        return UnauthenticatedError("agent '" + peer.agent_id + "' is not enrolled here");
      }
      return a.error();
    }
    if (a->revoked) return PermissionDeniedError("agent '" + peer.agent_id + "' is revoked; enrol it again");
    return Status::Ok();
  }

  Status Revoke(const std::string& agent_id, const std::string& reason) override EXCLUDES(mu_) {
    RAMPART_ASSIGN_OR_RETURN(registry::Agent a, registry_.GetAgent(agent_id));
    if (!a.revoked) {
      a.revoked = true;
      a.revoked_unix_nanos = options_.clock->NowNanos();
      RAMPART_RETURN_IF_ERROR(registry_.PutAgentIdentity(a));
    }
    std::vector<std::function<void(const Status&)>> closers;
    {
      MutexLock lock(&mu_);
      for (auto it = streams_.begin(); it != streams_.end();) {
        if (it->second.agent_id == agent_id) {
          closers.push_back(std::move(it->second.close));
          it = streams_.erase(it);
        } else {
          ++it;
        }
      }
    }
    const Status why = PermissionDeniedError("agent '" + agent_id + "' was revoked" +
                                             (reason.empty() ? std::string() : ": " + reason));
    for (auto& c : closers) c(why);
    log::Warn("fleet", "agent revoked", {{"agent", agent_id}, {"reason", reason}, {"streams_closed", closers.size()}});
    return Status::Ok();
  }

  uint64_t RegisterStream(const std::string& agent_id, std::function<void(const Status&)> close) override
      EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    const uint64_t h = next_handle_++;
    streams_[h] = {agent_id, std::move(close)};
    return h;
  }

  void UnregisterStream(uint64_t handle) override EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    streams_.erase(handle);
  }

 private:
  struct Stream {
    std::string agent_id;
    std::function<void(const Status&)> close;
  };

  Options options_;
  registry::Registry& registry_;
  tls::CertificateAuthority ca_;
  std::string ca_sha256_;
  std::string server_cert_;
  std::string server_key_;
  Mutex mu_;  // Live streams (Revoke closes them).
  std::map<uint64_t, Stream> streams_ GUARDED_BY(mu_);
  uint64_t next_handle_ GUARDED_BY(mu_) = 1;
};

}  // namespace

std::string NewAgentId() {
  uint8_t b[8];
  if (!RandomBytes(b).ok()) {
    // The kernel refused randomness; fall back to a time-ordered id, which
    // is still unique.
    return "a-" + NewUuidV7(WallNanos()).substr(0, 18);
  }
  return "a-" + HexEncode(std::span<const uint8_t>(b, sizeof(b)));
}

Result<std::unique_ptr<Fleet>> Fleet::Open(const Options& options, registry::Registry& registry) {
  // Certificates start five minutes in the past (tls::SignOptions) to allow
  // for clock skew, and validity counts from there.
  if (options.agent_certificate_validity <= std::chrono::minutes(6)) {
    return InvalidArgumentError("agent certificate validity must be more than 6 minutes");
  }
  auto f = std::make_unique<FleetImpl>(options, registry);
  RAMPART_RETURN_IF_ERROR(f->Load().WithContext("controller PKI in " + options.pki_dir +
                                                " (create it with `rampartctl pki init --dir " + options.pki_dir +
                                                "`)"));
  return std::unique_ptr<Fleet>(std::move(f));
}

}  // namespace rampart::fleet
