#include "common/rpc/status.h"

#include <absl/synchronization/mutex.h>

#include <mutex>

namespace rampart::rpc {

void ConfigureRuntime() {
  static std::once_flag once;
  std::call_once(once, [] { absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore); });
}

grpc::Status ToGrpc(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), status.message());
}

Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return Status::Ok();
  const int code = static_cast<int>(status.error_code());
  const StatusCode ours = (code > 0 && code <= static_cast<int>(StatusCode::kUnauthenticated))
                              ? static_cast<StatusCode>(code)
                              : StatusCode::kUnknown;
  return Status(ours, status.error_message());
}

Status FromGrpc(const grpc::Status& status, std::string_view context) {
  return FromGrpc(status).WithContext(context);
}

}  // namespace rampart::rpc
