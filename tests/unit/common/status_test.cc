#include "common/status/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace rampart {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return InvalidArgumentError("must be positive, got " + std::to_string(v));
  return v;
}

Result<int> Doubled(int v) {
  RAMPART_ASSIGN_OR_RETURN(int x, ParsePositive(v));
  return 2 * x;
}

Status CheckBoth(int a, int b) {
  RAMPART_RETURN_IF_ERROR(ParsePositive(a));
  RAMPART_RETURN_IF_ERROR(ParsePositive(b));
  return Status::Ok();
}

Result<std::string> Describe(int a) {
  RAMPART_RETURN_IF_ERROR(CheckBoth(a, a));
  return std::string("fine");
}

TEST(StatusTest, DefaultIsOkAndPrintsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(Status(StatusCode::kOk, "ignored").message(), "");
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status s = NotFoundError("no such agent a-1");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ToString(), "NOT_FOUND: no such agent a-1");
  EXPECT_EQ(s.WithContext("enrol").message(), "enrol: no such agent a-1");
  EXPECT_TRUE(Status::Ok().WithContext("x").ok());
}

TEST(StatusTest, ResultHoldsValueOrError) {
  EXPECT_EQ(ParsePositive(3).value(), 3);
  Result<int> bad = ParsePositive(-1);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Doubled(4).value(), 8);
  EXPECT_EQ(Doubled(0).error().message(), "must be positive, got 0");
}

TEST(StatusTest, ReturnIfErrorWorksInStatusAndResultFunctions) {
  EXPECT_TRUE(CheckBoth(1, 2).ok());
  EXPECT_EQ(CheckBoth(1, -2).message(), "must be positive, got -2");
  EXPECT_EQ(Describe(1).value(), "fine");
  EXPECT_EQ(Describe(-5).error().code(), StatusCode::kInvalidArgument);
}

TEST(StatusTest, ErrnoMapsToCodes) {
  EXPECT_EQ(ErrnoError(ENOENT, "open x").code(), StatusCode::kNotFound);
  EXPECT_EQ(ErrnoError(EACCES, "open x").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoError(ENOSPC, "write").code(), StatusCode::kResourceExhausted);
  const Status s = ErrnoError(ENOENT, "open /nope");
  EXPECT_NE(s.message().find("open /nope: No such file or directory (errno 2)"), std::string::npos) << s;
}

TEST(StatusDeathTest, OkStatusCannotBecomeAResultError) {
  EXPECT_DEATH(
      {
        Result<int> r = Status::Ok();
        (void)r;
      },
      "OK Status cannot become the error");
}

}  // namespace
}  // namespace rampart
