#pragma once
// Status and Result<T>: how project code reports expected failures.
//
// A Status is a code and a message that tells the reader what to do next
// ("agent.capture.snaplen: must be 64..262144, got 10 (line 7)"). Project
// code does not throw; hostile input is counted, not reported as a Status,
// and broken invariants abort through RAMPART_CHECK (common/status/check.h).
//
// Result<T> is std::expected<T, Status>. Any error Status converts to a
// Result<T> holding that error, so one factory serves both:
//
//   Result<int> ParsePort(std::string_view s) {
//     if (s.empty()) return InvalidArgumentError("port is empty");
//     ...
//   }

#include <cstdint>
#include <expected>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>

namespace rampart {

// Codes follow gRPC's canonical codes so Status maps onto grpc::Status one to one.
enum class StatusCode : uint8_t {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

std::string_view StatusCodeName(StatusCode code);

class Status;
template <typename T>
using Result = std::expected<T, Status>;

class [[nodiscard]] Status {
 public:
  // OK.
  Status() = default;
  Status(StatusCode code, std::string message);

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "INVALID_ARGUMENT: message", or "OK".
  std::string ToString() const;

  // The same code with "context: " put in front of the message, so a caller
  // can say where a failure happened without losing what it was.
  Status WithContext(std::string_view context) const;

  // An error Status becomes the error of any Result<T>. Converting an OK
  // Status is a bug (there is no value to hold) and aborts.
  template <typename T>
  operator std::expected<T, Status>() const& {  // NOLINT(google-explicit-constructor)
    CheckNotOkForResult();
    return std::unexpected(*this);
  }
  template <typename T>
  operator std::expected<T, Status>() && {  // NOLINT(google-explicit-constructor)
    CheckNotOkForResult();
    return std::unexpected(std::move(*this));
  }

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  void CheckNotOkForResult() const;

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

std::ostream& operator<<(std::ostream& os, const Status& status);

// Factories, one per code in use. The message should say what to do next.
Status CancelledError(std::string message);
Status UnknownError(std::string message);
Status InvalidArgumentError(std::string message);
Status DeadlineExceededError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status PermissionDeniedError(std::string message);
Status ResourceExhaustedError(std::string message);
Status FailedPreconditionError(std::string message);
Status AbortedError(std::string message);
Status OutOfRangeError(std::string message);
Status UnimplementedError(std::string message);
Status InternalError(std::string message);
Status UnavailableError(std::string message);
Status DataLossError(std::string message);
Status UnauthenticatedError(std::string message);

// errno as a Status: "context: strerror (errno N)", with a code that fits
// (ENOENT -> kNotFound, EACCES/EPERM -> kPermissionDenied, ...).
Status ErrnoError(int errno_value, std::string_view context);

namespace detail {
inline bool IsOk(const Status& s) { return s.ok(); }
template <typename T>
bool IsOk(const Result<T>& r) {
  return r.has_value();
}
inline Status ErrorOf(Status s) { return s; }
template <typename T>
Status ErrorOf(Result<T>&& r) {
  return std::move(r).error();
}
template <typename T>
Status ErrorOf(const Result<T>& r) {
  return r.error();
}
}  // namespace detail

}  // namespace rampart

#define RAMPART_STATUS_CONCAT_INNER(a, b) a##b
#define RAMPART_STATUS_CONCAT(a, b) RAMPART_STATUS_CONCAT_INNER(a, b)

// Returns the error of a Status or Result expression from the enclosing
// function (which may return Status or any Result<T>).
#define RAMPART_RETURN_IF_ERROR(expr)                                  \
  do {                                                                 \
    auto&& rampart_status_ = (expr);                                   \
    if (!::rampart::detail::IsOk(rampart_status_)) {                   \
      return ::rampart::detail::ErrorOf(std::move(rampart_status_));   \
    }                                                                  \
  } while (0)

// `RAMPART_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from the value of a
// Result, or returns its error.
#define RAMPART_ASSIGN_OR_RETURN(lhs, expr) \
  RAMPART_ASSIGN_OR_RETURN_IMPL(RAMPART_STATUS_CONCAT(rampart_result_, __LINE__), lhs, expr)
#define RAMPART_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.has_value()) return std::move(tmp).error(); \
  lhs = std::move(tmp).value()
