#include "controller/auth/access.h"

#include <argon2.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "common/log/log.h"
#include "common/rocks/rocks.h"
#include "common/util/clock.h"
#include "common/util/ids.h"
#include "common/util/mutex.h"
#include "common/util/text.h"

namespace rampart::auth {
namespace {

using nlohmann::json;

constexpr std::string_view kUsersCf = "users";
constexpr std::string_view kSessionsCf = "sessions";
constexpr std::string_view kAuditCf = "audit";

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return HexEncode(std::span<const uint8_t>(md, len));
}

bool ValidUserName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

json UserToJson(const User& u, const std::string& hash) {
  return json{{"name", u.name},         {"role", RoleName(u.role)},       {"sites", u.sites},
              {"disabled", u.disabled}, {"created", u.created_nanos},     {"failed", u.failed_logins},
              {"locked_until", u.locked_until_nanos}, {"hash", hash}};
}

struct StoredUser {
  User user;
  std::string hash;
};

Result<StoredUser> UserFromJson(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return DataLossError("user record is not JSON");
  StoredUser s;
  s.user.name = j.value("name", "");
  auto role = ParseRole(j.value("role", "viewer"));
  s.user.role = role ? *role : Role::kViewer;
  if (j.contains("sites") && j["sites"].is_array()) {
    for (const auto& site : j["sites"]) {
      if (site.is_string()) s.user.sites.push_back(site.get<std::string>());
    }
  }
  s.user.disabled = j.value("disabled", false);
  s.user.created_nanos = j.value("created", int64_t{0});
  s.user.failed_logins = j.value("failed", 0);
  s.user.locked_until_nanos = j.value("locked_until", int64_t{0});
  s.hash = j.value("hash", "");
  return s;
}

// A dummy hash verified for unknown users, so a wrong name costs as much
// time as a wrong password and does not reveal which names exist.
const std::string& DummyHash(const Options& o) {
  static const std::string hash = [&] {
    auto h = HashPassword("rampart-dummy-password", o.argon2_time_cost, o.argon2_memory_kib, o.argon2_parallelism);
    return h ? *h : std::string();
  }();
  return hash;
}

class AccessControlImpl final : public AccessControl {
 public:
  AccessControlImpl(Options options, std::unique_ptr<rocks::Database> db)
      : options_(std::move(options)), db_(std::move(db)) {
    users_ = db_->Family(kUsersCf);
    sessions_ = db_->Family(kSessionsCf);
    audit_ = db_->Family(kAuditCf);
  }

  Status AddUser(const User& user, std::string_view password) override EXCLUDES(mu_) {
    if (!ValidUserName(user.name)) {
      return InvalidArgumentError("user name must be 1-64 characters of a-z 0-9 . _ -, got '" + user.name + "'");
    }
    RAMPART_RETURN_IF_ERROR(CheckPassword(password));
    RAMPART_ASSIGN_OR_RETURN(std::string hash, HashPassword(password, options_.argon2_time_cost,
                                                            options_.argon2_memory_kib, options_.argon2_parallelism));
    MutexLock lock(&mu_);
    if (db_->Get(users_, user.name).has_value()) return AlreadyExistsError("user '" + user.name + "' already exists");
    User u = user;
    u.created_nanos = options_.clock->NowNanos();
    u.failed_logins = 0;
    u.locked_until_nanos = 0;
    return db_->Put(users_, u.name, UserToJson(u, hash).dump(), rocks::Durability::kSync);
  }

  Status SetPassword(std::string_view name, std::string_view password) override EXCLUDES(mu_) {
    RAMPART_RETURN_IF_ERROR(CheckPassword(password));
    RAMPART_ASSIGN_OR_RETURN(std::string hash, HashPassword(password, options_.argon2_time_cost,
                                                            options_.argon2_memory_kib, options_.argon2_parallelism));
    MutexLock lock(&mu_);
    RAMPART_ASSIGN_OR_RETURN(StoredUser s, Load(name));
    s.hash = hash;
    s.user.failed_logins = 0;
    s.user.locked_until_nanos = 0;
    RAMPART_RETURN_IF_ERROR(Save(s));
    return EndSessionsOf(name);
  }

  Status SetDisabled(std::string_view name, bool disabled) override EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    RAMPART_ASSIGN_OR_RETURN(StoredUser s, Load(name));
    s.user.disabled = disabled;
    RAMPART_RETURN_IF_ERROR(Save(s));
    return disabled ? EndSessionsOf(name) : Status::Ok();
  }

  Status SetRole(std::string_view name, Role role, const std::vector<std::string>& sites) override EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    RAMPART_ASSIGN_OR_RETURN(StoredUser s, Load(name));
    s.user.role = role;
    s.user.sites = sites;
    RAMPART_RETURN_IF_ERROR(Save(s));
    // Live sessions carry the old rights; end them so the change holds at once.
    return EndSessionsOf(name);
  }

  Result<User> GetUser(std::string_view name) const override EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    RAMPART_ASSIGN_OR_RETURN(StoredUser s, Load(name));
    return s.user;
  }

  Result<std::vector<User>> ListUsers() const override {
    std::vector<User> out;
    RAMPART_RETURN_IF_ERROR(db_->Scan(users_, "", "", [&](std::string_view, std::string_view v) {
      if (auto s = UserFromJson(v)) out.push_back(std::move(s->user));
      return true;
    }));
    return out;
  }

  Result<bool> HasAdmin() const override {
    RAMPART_ASSIGN_OR_RETURN(auto users, ListUsers());
    return std::any_of(users.begin(), users.end(), [](const User& u) { return u.role == Role::kAdmin && !u.disabled; });
  }

  Result<Session> Login(std::string_view name, std::string_view password, std::string_view remote) override
      EXCLUDES(mu_, rate_mu_) {
    const int64_t now = options_.clock->NowNanos();
    if (!TakeLoginToken(remote, now)) {
      return ResourceExhaustedError("too many login attempts from this address; wait a minute");
    }
    StoredUser s;
    {
      MutexLock lock(&mu_);
      auto loaded = Load(name);
      if (!loaded) {
        (void)VerifyPassword(DummyHash(options_), password);
        return UnauthenticatedError("wrong user name or password");
      }
      s = std::move(*loaded);
    }
    if (s.user.disabled) return PermissionDeniedError("account '" + s.user.name + "' is disabled");
    if (s.user.locked_until_nanos > now) {
      return PermissionDeniedError("account '" + s.user.name + "' is locked after too many wrong passwords until " +
                                   FormatRfc3339(s.user.locked_until_nanos));
    }
    const bool good = VerifyPassword(s.hash, password);
    MutexLock lock(&mu_);
    // Re-read: another login may have changed the counters meanwhile.
    RAMPART_ASSIGN_OR_RETURN(s, Load(name));
    if (!good) {
      s.user.failed_logins += 1;
      if (s.user.failed_logins >= options_.max_failed_logins) {
        s.user.locked_until_nanos =
            now + std::chrono::duration_cast<std::chrono::nanoseconds>(options_.lockout).count();
        s.user.failed_logins = 0;
        log::Warn("auth", "account locked after wrong passwords", {{"user", s.user.name}, {"remote", remote}});
      }
      RAMPART_RETURN_IF_ERROR(Save(s));
      return UnauthenticatedError("wrong user name or password");
    }
    if (s.user.failed_logins != 0 || s.user.locked_until_nanos != 0) {
      s.user.failed_logins = 0;
      s.user.locked_until_nanos = 0;
      RAMPART_RETURN_IF_ERROR(Save(s));
    }
    Session session;
    session.id = RandomToken(32);
    session.principal = {s.user.name, s.user.role, s.user.sites, RandomToken(32)};
    const int64_t idle = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.session_idle).count();
    const int64_t max = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.session_max).count();
    session.expires_nanos = std::min(now + idle, now + max);
    json j{{"user", s.user.name}, {"csrf", session.principal.csrf_token}, {"created", now},
           {"expires", session.expires_nanos}, {"hard_expires", now + max}};
    RAMPART_RETURN_IF_ERROR(db_->Put(sessions_, Sha256Hex(session.id), j.dump()));
    return session;
  }

  Result<Principal> Authenticate(std::string_view session_id) override EXCLUDES(mu_) {
    if (session_id.empty() || session_id.size() > 128) return UnauthenticatedError("no session");
    const std::string key = Sha256Hex(session_id);
    auto value = db_->Get(sessions_, key);
    if (!value) return UnauthenticatedError("no such session; log in again");
    json j = json::parse(*value, nullptr, false);
    if (j.is_discarded()) return UnauthenticatedError("damaged session; log in again");
    const int64_t now = options_.clock->NowNanos();
    const int64_t expires = j.value("expires", int64_t{0});
    const int64_t hard = j.value("hard_expires", int64_t{0});
    if (now >= expires || now >= hard) {
      (void)db_->Delete(sessions_, key);
      return UnauthenticatedError("session expired; log in again");
    }
    MutexLock lock(&mu_);
    auto s = Load(j.value("user", ""));
    if (!s || s->user.disabled) {
      (void)db_->Delete(sessions_, key);
      return UnauthenticatedError("account no longer active");
    }
    Principal p{s->user.name, s->user.role, s->user.sites, j.value("csrf", "")};
    const int64_t idle = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.session_idle).count();
    // Extend the idle timeout at most once a minute, not on every request.
    if (expires - now < idle - 60'000'000'000LL) {
      j["expires"] = std::min(now + idle, hard);
      (void)db_->Put(sessions_, key, j.dump());
    }
    return p;
  }

  Status Logout(std::string_view session_id) override { return db_->Delete(sessions_, Sha256Hex(session_id)); }

  Status Audit(AuditEntry entry) override EXCLUDES(audit_mu_) {
    std::string key;
    {
      MutexLock lock(&audit_mu_);
      int64_t now = options_.clock->NowNanos();
      if (now <= last_audit_nanos_) now = last_audit_nanos_ + 1;  // Unique, ordered keys.
      last_audit_nanos_ = now;
      entry.time_nanos = now;
      rocks::AppendBigEndian64(&key, static_cast<uint64_t>(now));
    }
    json j{{"time", entry.time_nanos}, {"actor", entry.actor}, {"action", entry.action},
           {"target", entry.target},   {"detail", entry.detail}, {"remote", entry.remote}};
    return db_->Put(audit_, key, j.dump(-1, ' ', false, json::error_handler_t::replace), rocks::Durability::kSync);
  }

  Result<std::vector<AuditEntry>> ListAudit(size_t limit, int64_t before_nanos) const override {
    std::string end;
    if (before_nanos > 0) rocks::AppendBigEndian64(&end, static_cast<uint64_t>(before_nanos));
    std::vector<AuditEntry> out;
    RAMPART_RETURN_IF_ERROR(db_->ScanReverse(
        audit_, "", end,
        [&](std::string_view, std::string_view v) {
          json j = json::parse(v, nullptr, false);
          if (j.is_discarded()) return true;
          out.push_back({j.value("time", int64_t{0}), j.value("actor", ""), j.value("action", ""),
                         j.value("target", ""), j.value("detail", ""), j.value("remote", "")});
          return true;
        },
        limit));
    return out;
  }

 private:
  Status CheckPassword(std::string_view password) const {
    if (password.size() < options_.min_password_length) {
      return InvalidArgumentError("password must have at least " + std::to_string(options_.min_password_length) +
                                  " characters");
    }
    if (password.size() > 1024) return InvalidArgumentError("password is longer than 1024 characters");
    return Status::Ok();
  }

  Result<StoredUser> Load(std::string_view name) const REQUIRES(mu_) {
    if (!ValidUserName(name)) return NotFoundError("no user '" + std::string(name) + "'");
    auto v = db_->Get(users_, name);
    if (!v) {
      if (v.error().code() == StatusCode::kNotFound) return NotFoundError("no user '" + std::string(name) + "'");
      return v.error();
    }
    return UserFromJson(*v);
  }

  Status Save(const StoredUser& s) REQUIRES(mu_) {
    return db_->Put(users_, s.user.name, UserToJson(s.user, s.hash).dump(), rocks::Durability::kSync);
  }

  Status EndSessionsOf(std::string_view name) REQUIRES(mu_) {
    std::vector<std::string> doomed;
    RAMPART_RETURN_IF_ERROR(db_->Scan(sessions_, "", "", [&](std::string_view k, std::string_view v) {
      json j = json::parse(v, nullptr, false);
      if (!j.is_discarded() && j.value("user", "") == name) doomed.emplace_back(k);
      return true;
    }));
    for (const auto& k : doomed) RAMPART_RETURN_IF_ERROR(db_->Delete(sessions_, k, rocks::Durability::kSync));
    return Status::Ok();
  }

  // Token bucket per address: capacity = rate, refilled continuously.
  bool TakeLoginToken(std::string_view remote, int64_t now) EXCLUDES(rate_mu_) {
    MutexLock lock(&rate_mu_);
    const double rate = options_.logins_per_minute_per_address;
    if (buckets_.size() > 100000) buckets_.clear();  // Bounded memory under a spray of addresses.
    auto [it, inserted] = buckets_.try_emplace(std::string(remote), Bucket{rate, now});
    Bucket& b = it->second;
    if (!inserted) {
      b.tokens = std::min(rate, b.tokens + rate * static_cast<double>(now - b.last_nanos) / 60e9);
      b.last_nanos = now;
    }
    if (b.tokens < 1.0) return false;
    b.tokens -= 1.0;
    return true;
  }

  struct Bucket {
    double tokens;
    int64_t last_nanos;
  };

  const Options options_;
  std::unique_ptr<rocks::Database> db_;
  rocksdb::ColumnFamilyHandle* users_ = nullptr;
  rocksdb::ColumnFamilyHandle* sessions_ = nullptr;
  rocksdb::ColumnFamilyHandle* audit_ = nullptr;
  // Serialises read-modify-write of user records (in users_, not members):
  // Load and Save are called with it held.
  mutable Mutex mu_;
  Mutex audit_mu_;
  int64_t last_audit_nanos_ GUARDED_BY(audit_mu_) = 0;
  Mutex rate_mu_;
  std::map<std::string, Bucket, std::less<>> buckets_ GUARDED_BY(rate_mu_);
};

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kAnalyst:
      return "analyst";
    case Role::kAdmin:
      return "admin";
  }
  return "viewer";
}

Result<Role> ParseRole(std::string_view name) {
  if (name == "viewer") return Role::kViewer;
  if (name == "analyst") return Role::kAnalyst;
  if (name == "admin") return Role::kAdmin;
  return InvalidArgumentError("role must be viewer, analyst or admin, got '" + std::string(name) + "'");
}

bool Principal::SeesSite(std::string_view site) const {
  return sites.empty() || std::find(sites.begin(), sites.end(), site) != sites.end();
}

bool AccessControl::CheckCsrf(const Principal& principal, std::string_view token) {
  return !principal.csrf_token.empty() && ConstantTimeEquals(principal.csrf_token, token);
}

Result<std::unique_ptr<AccessControl>> AccessControl::Open(const Options& options) {
  rocks::Options ro;
  ro.path = options.path;
  ro.column_families = {std::string(kUsersCf), std::string(kSessionsCf), std::string(kAuditCf)};
  ro.workload = rocks::Workload::kSmall;
  ro.block_cache_bytes = 8ull << 20;
  ro.write_buffer_bytes = 4ull << 20;
  ro.background_jobs = 1;
  RAMPART_ASSIGN_OR_RETURN(auto db, rocks::Database::Open(ro));
  return std::unique_ptr<AccessControl>(new AccessControlImpl(options, std::move(db)));
}

Result<std::string> HashPassword(std::string_view password, uint32_t time_cost, uint32_t memory_kib,
                                 uint32_t parallelism) {
  uint8_t salt[16];
  RAMPART_RETURN_IF_ERROR(RandomBytes(salt));
  constexpr size_t kHashLen = 32;
  std::string encoded(argon2_encodedlen(time_cost, memory_kib, parallelism, sizeof(salt), kHashLen, Argon2_id), '\0');
  const int rc = argon2id_hash_encoded(time_cost, memory_kib, parallelism, password.data(), password.size(), salt,
                                       sizeof(salt), kHashLen, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return InternalError(std::string("argon2id: ") + argon2_error_message(rc));
  encoded.resize(std::strlen(encoded.c_str()));
  return encoded;
}

bool VerifyPassword(std::string_view encoded, std::string_view password) {
  if (encoded.empty()) return false;
  const std::string e(encoded);
  return argon2id_verify(e.c_str(), password.data(), password.size()) == ARGON2_OK;
}

}  // namespace rampart::auth
