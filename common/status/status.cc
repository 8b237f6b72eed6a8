#include "common/status/status.h"

#include <cerrno>
#include <cstring>
#include <ostream>

#include "common/status/check.h"

namespace rampart {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kCancelled: return "CANCELLED";
    case StatusCode::kUnknown: return "UNKNOWN";
    case StatusCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case StatusCode::kDeadlineExceeded: return "DEADLINE_EXCEEDED";
    case StatusCode::kNotFound: return "NOT_FOUND";
    case StatusCode::kAlreadyExists: return "ALREADY_EXISTS";
    case StatusCode::kPermissionDenied: return "PERMISSION_DENIED";
    case StatusCode::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case StatusCode::kFailedPrecondition: return "FAILED_PRECONDITION";
    case StatusCode::kAborted: return "ABORTED";
    case StatusCode::kOutOfRange: return "OUT_OF_RANGE";
    case StatusCode::kUnimplemented: return "UNIMPLEMENTED";
    case StatusCode::kInternal: return "INTERNAL";
    case StatusCode::kUnavailable: return "UNAVAILABLE";
    case StatusCode::kDataLoss: return "DATA_LOSS";
    case StatusCode::kUnauthenticated: return "UNAUTHENTICATED";
  }
  return "UNKNOWN";
}

Status::Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {
  // An OK status never carries a message; it would be read as an error.
  if (code_ == StatusCode::kOk) message_.clear();
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(StatusCodeName(code_));
  out += ": ";
  out += message_;
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += message_;
  return Status(code_, std::move(msg));
}

void Status::CheckNotOkForResult() const {
  RAMPART_CHECK(!ok()) << "an OK Status cannot become the error of a Result";
}

std::ostream& operator<<(std::ostream& os, const Status& status) { return os << status.ToString(); }

#define RAMPART_DEFINE_ERROR(Name, Code) \
  Status Name(std::string message) { return Status(StatusCode::Code, std::move(message)); }
RAMPART_DEFINE_ERROR(CancelledError, kCancelled)
RAMPART_DEFINE_ERROR(UnknownError, kUnknown)
RAMPART_DEFINE_ERROR(InvalidArgumentError, kInvalidArgument)
RAMPART_DEFINE_ERROR(DeadlineExceededError, kDeadlineExceeded)
RAMPART_DEFINE_ERROR(NotFoundError, kNotFound)
RAMPART_DEFINE_ERROR(AlreadyExistsError, kAlreadyExists)
RAMPART_DEFINE_ERROR(PermissionDeniedError, kPermissionDenied)
RAMPART_DEFINE_ERROR(ResourceExhaustedError, kResourceExhausted)
RAMPART_DEFINE_ERROR(FailedPreconditionError, kFailedPrecondition)
RAMPART_DEFINE_ERROR(AbortedError, kAborted)
RAMPART_DEFINE_ERROR(OutOfRangeError, kOutOfRange)
RAMPART_DEFINE_ERROR(UnimplementedError, kUnimplemented)
RAMPART_DEFINE_ERROR(InternalError, kInternal)
RAMPART_DEFINE_ERROR(UnavailableError, kUnavailable)
RAMPART_DEFINE_ERROR(DataLossError, kDataLoss)
RAMPART_DEFINE_ERROR(UnauthenticatedError, kUnauthenticated)
#undef RAMPART_DEFINE_ERROR

Status ErrnoError(int errno_value, std::string_view context) {
  StatusCode code = StatusCode::kUnknown;
  switch (errno_value) {
    case ENOENT: case ENOTDIR: code = StatusCode::kNotFound; break;
    case EACCES: case EPERM: case EROFS: code = StatusCode::kPermissionDenied; break;
    case EEXIST: code = StatusCode::kAlreadyExists; break;
    case EINVAL: case ENAMETOOLONG: case ELOOP: code = StatusCode::kInvalidArgument; break;
    case ENOSPC: case ENOMEM: case EMFILE: case ENFILE: case EDQUOT:
      code = StatusCode::kResourceExhausted; break;
    case EAGAIN: case ECONNREFUSED: case ECONNRESET: case EHOSTUNREACH: case ENETUNREACH:
      code = StatusCode::kUnavailable; break;
    case ETIMEDOUT: code = StatusCode::kDeadlineExceeded; break;
    case EINTR: code = StatusCode::kCancelled; break;
    case EIO: code = StatusCode::kDataLoss; break;
    default: break;
  }
  char buf[256];
  // GNU strerror_r returns a pointer that may or may not be buf.
  const char* text = strerror_r(errno_value, buf, sizeof(buf));
  std::string msg(context);
  msg += ": ";
  msg += text;
  msg += " (errno ";
  msg += std::to_string(errno_value);
  msg += ")";
  return Status(code, std::move(msg));
}

}  // namespace rampart
