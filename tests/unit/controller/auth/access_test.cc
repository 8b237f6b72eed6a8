// AccessControl against a real RocksDB in a temporary directory: users,
// Argon2id, lockout, rate limiting, sessions, CSRF, site scopes, audit.

#include "controller/auth/access.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/temp_dir.h"

namespace rampart::auth {
namespace {

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    ac_.reset();
    Options o;
    o.path = dir_.File("auth");
    o.clock = &clock_;
    o.argon2_memory_kib = 1024;  // Cheap hashes keep the test fast; the algorithm is the same.
    o.argon2_time_cost = 1;
    auto ac = AccessControl::Open(o);
    ASSERT_TRUE(ac.has_value()) << ac.error();
    ac_ = std::move(*ac);
  }
  testing::ScopedTempDir dir_{"auth"};
  ManualClock clock_{1'800'000'000'000'000'000};
  std::unique_ptr<AccessControl> ac_;
};

TEST_F(AccessTest, PasswordHashIsArgon2idAndVerifies) {
  auto h = HashPassword("correct horse battery", 1, 1024, 1);
  ASSERT_TRUE(h.has_value());
  EXPECT_THAT(*h, ::testing::StartsWith("$argon2id$v=19$m=1024,t=1,p=1$"));
  EXPECT_TRUE(VerifyPassword(*h, "correct horse battery"));
  EXPECT_FALSE(VerifyPassword(*h, "correct horse batterz"));
  EXPECT_FALSE(VerifyPassword("garbage", "x"));
}

TEST_F(AccessTest, AddUserRejectsBadNamesShortPasswordsAndDuplicates) {
  EXPECT_EQ(ac_->AddUser({.name = "Bad Name"}, "long enough password").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ac_->AddUser({.name = "ana"}, "short").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(ac_->AddUser({.name = "ana", .role = Role::kAnalyst}, "long enough password").ok());
  EXPECT_EQ(ac_->AddUser({.name = "ana"}, "long enough password").code(), StatusCode::kAlreadyExists);
  auto u = ac_->GetUser("ana");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->role, Role::kAnalyst);
}

TEST_F(AccessTest, LoginCreatesSessionWithCsrfToken) {
  ASSERT_TRUE(ac_->AddUser({.name = "ana", .role = Role::kAnalyst, .sites = {"so-y-te"}}, "long enough password").ok());
  auto s = ac_->Login("ana", "long enough password", "127.0.0.1");
  ASSERT_TRUE(s.has_value()) << s.error();
  EXPECT_EQ(s->id.size(), 43u);
  auto p = ac_->Authenticate(s->id);
  ASSERT_TRUE(p.has_value()) << p.error();
  EXPECT_EQ(p->user, "ana");
  EXPECT_TRUE(p->SeesSite("so-y-te"));
  EXPECT_FALSE(p->SeesSite("so-tai-chinh"));
  EXPECT_TRUE(AccessControl::CheckCsrf(*p, s->principal.csrf_token));
  EXPECT_FALSE(AccessControl::CheckCsrf(*p, ""));
  EXPECT_FALSE(AccessControl::CheckCsrf(*p, "forged"));
  // Sessions survive a restart (they are in RocksDB), and end on logout.
  Reopen();
  ASSERT_TRUE(ac_->Authenticate(s->id).has_value());
  ASSERT_TRUE(ac_->Logout(s->id).ok());
  EXPECT_EQ(ac_->Authenticate(s->id).error().code(), StatusCode::kUnauthenticated);
}

TEST_F(AccessTest, WrongPasswordAndUnknownUserLookTheSame) {
  ASSERT_TRUE(ac_->AddUser({.name = "ana"}, "long enough password").ok());
  auto a = ac_->Login("ana", "wrong password!!", "10.0.0.1");
  auto b = ac_->Login("nobody", "wrong password!!", "10.0.0.1");
  ASSERT_FALSE(a.has_value());
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(a.error(), b.error());
  EXPECT_EQ(a.error().code(), StatusCode::kUnauthenticated);
}

TEST_F(AccessTest, TenWrongPasswordsLockTheAccountEvenForTheRightOne) {
  ASSERT_TRUE(ac_->AddUser({.name = "ana"}, "long enough password").ok());
  for (int i = 0; i < 10; ++i) {
    auto r = ac_->Login("ana", "wrong password " + std::to_string(i), "10.0.0.2");
    ASSERT_FALSE(r.has_value());
    ASSERT_EQ(r.error().code(), StatusCode::kUnauthenticated) << i;
  }
  auto locked = ac_->Login("ana", "long enough password", "10.0.0.2");
  ASSERT_FALSE(locked.has_value());
  EXPECT_EQ(locked.error().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(locked.error().message(), ::testing::HasSubstr("locked"));
  // The lock is durable and lifts after the lockout.
  Reopen();
  EXPECT_EQ(ac_->Login("ana", "long enough password", "10.0.0.2").error().code(), StatusCode::kPermissionDenied);
  clock_.Advance(16LL * 60 * 1'000'000'000);
  EXPECT_TRUE(ac_->Login("ana", "long enough password", "10.0.0.2").has_value());
}

TEST_F(AccessTest, NineWrongPasswordsThenRightOneResetsTheCount) {
  ASSERT_TRUE(ac_->AddUser({.name = "ana"}, "long enough password").ok());
  for (int i = 0; i < 9; ++i) ASSERT_FALSE(ac_->Login("ana", "nope nope nope", "10.0.0.3").has_value());
  ASSERT_TRUE(ac_->Login("ana", "long enough password", "10.0.0.3").has_value());
  for (int i = 0; i < 9; ++i) ASSERT_FALSE(ac_->Login("ana", "nope nope nope", "10.0.0.3").has_value());
  EXPECT_TRUE(ac_->Login("ana", "long enough password", "10.0.0.3").has_value());
}

TEST_F(AccessTest, LoginsAreRateLimitedPerAddress) {
  ASSERT_TRUE(ac_->AddUser({.name = "ana"}, "long enough password").ok());
  int refused = 0;
  for (int i = 0; i < 40; ++i) {
    auto r = ac_->Login("user" + std::to_string(i), "whatever password", "192.0.2.9");
    if (!r.has_value() && r.error().code() == StatusCode::kResourceExhausted) ++refused;
  }
  EXPECT_EQ(refused, 10);
  // Another address is not affected; a minute later the first one may try again.
  EXPECT_TRUE(ac_->Login("ana", "long enough password", "192.0.2.10").has_value());
  clock_.Advance(61LL * 1'000'000'000);
  EXPECT_TRUE(ac_->Login("ana", "long enough password", "192.0.2.9").has_value());
}

TEST_F(AccessTest, DisablingAndPasswordChangeEndSessions) {
  ASSERT_TRUE(ac_->AddUser({.name = "ana"}, "long enough password").ok());
  auto s = ac_->Login("ana", "long enough password", "x");
  ASSERT_TRUE(s.has_value());
  ASSERT_TRUE(ac_->SetDisabled("ana", true).ok());
  EXPECT_FALSE(ac_->Authenticate(s->id).has_value());
  EXPECT_EQ(ac_->Login("ana", "long enough password", "x").error().code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(ac_->SetDisabled("ana", false).ok());
  s = ac_->Login("ana", "long enough password", "x");
  ASSERT_TRUE(s.has_value());
  ASSERT_TRUE(ac_->SetPassword("ana", "another long password").ok());
  EXPECT_FALSE(ac_->Authenticate(s->id).has_value());
  EXPECT_TRUE(ac_->Login("ana", "another long password", "x").has_value());
}

TEST_F(AccessTest, SessionsExpireWhenIdle) {
  ASSERT_TRUE(ac_->AddUser({.name = "ana"}, "long enough password").ok());
  auto s = ac_->Login("ana", "long enough password", "x");
  ASSERT_TRUE(s.has_value());
  clock_.Advance(20LL * 60 * 1'000'000'000);
  ASSERT_TRUE(ac_->Authenticate(s->id).has_value());  // Extends the idle timeout.
  clock_.Advance(20LL * 60 * 1'000'000'000);
  ASSERT_TRUE(ac_->Authenticate(s->id).has_value());
  clock_.Advance(31LL * 60 * 1'000'000'000);
  EXPECT_EQ(ac_->Authenticate(s->id).error().code(), StatusCode::kUnauthenticated);
}

TEST_F(AccessTest, AuditLogIsNewestFirstAndDurable) {
  ASSERT_TRUE(ac_->Audit({.actor = "ana", .action = "alert.ack", .target = "a1"}).ok());
  ASSERT_TRUE(ac_->Audit({.actor = "root", .action = "user.add", .target = "bo"}).ok());
  Reopen();
  auto log = ac_->ListAudit(10);
  ASSERT_TRUE(log.has_value());
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ((*log)[0].action, "user.add");
  EXPECT_EQ((*log)[1].action, "alert.ack");
  EXPECT_LT((*log)[1].time_nanos, (*log)[0].time_nanos);
  auto older = ac_->ListAudit(10, (*log)[0].time_nanos);
  ASSERT_TRUE(older.has_value());
  ASSERT_EQ(older->size(), 1u);
  EXPECT_EQ((*older)[0].target, "a1");
}

}  // namespace
}  // namespace rampart::auth
