#pragma once
// Status <-> grpc::Status, in one place. Our codes are gRPC's canonical
// codes, so the mapping is one to one and messages pass through unchanged.
// Include only from .cc files of modules that speak gRPC (agent/ship,
// controller/ingest, controller/fleet): gRPC headers stay out of widely
// included headers.

#include <grpcpp/support/status.h>

#include "common/status/status.h"

namespace rampart::rpc {

grpc::Status ToGrpc(const Status& status);
Status FromGrpc(const grpc::Status& status);
// The same, with "context: " in front of the message (e.g. "Enroll").
Status FromGrpc(const grpc::Status& status, std::string_view context);

// Process-wide settings for the gRPC runtime; idempotent, called by every
// module before it makes its first gRPC object. Debian builds Abseil without
// NDEBUG, which leaves absl::Mutex's lock-order (deadlock) graph on: every
// lock gRPC takes updated it, several per cent of the controller's CPU under
// ingest. It is turned off; ThreadSanitizer is what finds lock inversions.
void ConfigureRuntime();

}  // namespace rampart::rpc
