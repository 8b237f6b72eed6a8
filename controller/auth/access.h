#pragma once
// Who may use the controller's web UI and API, and what they did.
//
// Users live in RocksDB (column family "users") with Argon2id password hashes
// (libargon2). A login creates a session: a random 256-bit id that goes into
// an HttpOnly cookie (only its SHA-256 is stored, so a copy of the database
// does not hand out sessions) and a CSRF token the browser must echo on every
// change. Ten consecutive wrong passwords lock the account for a while (the
// right password is refused until then); logins are also rate limited per
// remote address. Every change made through the UI, the API or rampartctl is
// appended to the audit log (column family "audit").
//
// Roles: viewer (reads), analyst (reads and triages alerts), admin (also
// manages users and notification routes). A user may be scoped to some
// sites (agencies): they then see only those sites' alerts, agents and links.
//
// Thread-safe: every method may be called from any thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status/status.h"
#include "common/util/clock.h"

namespace rampart::auth {

enum class Role : uint8_t { kViewer = 0, kAnalyst = 1, kAdmin = 2 };
std::string_view RoleName(Role role);
// "viewer", "analyst", "admin"; kInvalidArgument otherwise.
Result<Role> ParseRole(std::string_view name);

struct User {
  std::string name;                // [a-z0-9._-]{1,64}
  Role role = Role::kViewer;
  std::vector<std::string> sites;  // Empty: every site.
  bool disabled = false;
  int64_t created_nanos = 0;
  int failed_logins = 0;           // Consecutive wrong passwords.
  int64_t locked_until_nanos = 0;  // 0 when not locked.
};

// The user behind an authenticated request.
struct Principal {
  std::string user;
  Role role = Role::kViewer;
  std::vector<std::string> sites;  // Empty: every site.
  std::string csrf_token;

  bool SeesSite(std::string_view site) const;
  bool CanTriage() const { return role >= Role::kAnalyst; }
  bool IsAdmin() const { return role == Role::kAdmin; }
};

struct Session {
  std::string id;  // Secret: goes into the cookie only.
  Principal principal;
  int64_t expires_nanos = 0;
};

struct AuditEntry {
  int64_t time_nanos = 0;  // Set by Audit().
  std::string actor;       // User name, or "rampartctl" / "system".
  std::string action;      // "user.add", "alert.ack", "route.update", "login.fail", ...
  std::string target;      // What was changed (user name, alert ids, route name).
  std::string detail;      // Free text or JSON.
  std::string remote;      // Remote address, when the change came over the network.
};

struct Options {
  std::string path;  // RocksDB directory (created when missing).
  // Consecutive wrong passwords before the account locks. Lower stops
  // guessing sooner but lets an attacker lock real users out more easily.
  int max_failed_logins = 10;
  std::chrono::seconds lockout{15 * 60};
  // Login attempts per remote address per minute (token bucket, burst = the
  // same number). Slows password spraying across accounts.
  int logins_per_minute_per_address = 30;
  // A session ends after this much inactivity, and in any case after max.
  std::chrono::seconds session_idle{30 * 60};
  std::chrono::seconds session_max{12 * 3600};
  // Argon2id cost (OWASP's 2023 minimum: 19 MiB, 2 passes). Higher costs
  // more CPU and memory per login.
  uint32_t argon2_time_cost = 2;
  uint32_t argon2_memory_kib = 19 * 1024;
  uint32_t argon2_parallelism = 1;
  size_t min_password_length = 12;
  const Clock* clock = &SystemClock();
};

class AccessControl {
 public:
  // kUnavailable when another process (a running controller) holds the
  // database; kDataLoss on corruption.
  static Result<std::unique_ptr<AccessControl>> Open(const Options& options);
  virtual ~AccessControl() = default;

  // kAlreadyExists; kInvalidArgument for a bad name or a short password.
  virtual Status AddUser(const User& user, std::string_view password) = 0;
  // Also clears a lockout. kNotFound; kInvalidArgument for a short password.
  virtual Status SetPassword(std::string_view name, std::string_view password) = 0;
  // A disabled user cannot log in and their sessions end at once.
  virtual Status SetDisabled(std::string_view name, bool disabled) = 0;
  virtual Status SetRole(std::string_view name, Role role, const std::vector<std::string>& sites) = 0;
  virtual Result<User> GetUser(std::string_view name) const = 0;
  virtual Result<std::vector<User>> ListUsers() const = 0;
  virtual Result<bool> HasAdmin() const = 0;

  // kUnauthenticated for an unknown user or a wrong password (the same
  // message for both); kPermissionDenied for a disabled or locked account;
  // kResourceExhausted when `remote` tried too often.
  virtual Result<Session> Login(std::string_view name, std::string_view password, std::string_view remote) = 0;
  // The principal of a live session (extends its idle timeout).
  // kUnauthenticated when unknown, expired or its user is disabled.
  virtual Result<Principal> Authenticate(std::string_view session_id) = 0;
  virtual Status Logout(std::string_view session_id) = 0;
  // Whether `token` is the principal's CSRF token (constant time).
  static bool CheckCsrf(const Principal& principal, std::string_view token);

  // Appends to the audit log (durably: synced before returning).
  virtual Status Audit(AuditEntry entry) = 0;
  // Newest first, at most `limit`, older than `before_nanos` (0 = now).
  virtual Result<std::vector<AuditEntry>> ListAudit(size_t limit, int64_t before_nanos = 0) const = 0;
};

// Argon2id, exposed for tests and benchmarks: an encoded hash
// ("$argon2id$v=19$m=...,t=...,p=...$salt$hash") and its check.
Result<std::string> HashPassword(std::string_view password, uint32_t time_cost, uint32_t memory_kib,
                                 uint32_t parallelism);
bool VerifyPassword(std::string_view encoded, std::string_view password);

}  // namespace rampart::auth
