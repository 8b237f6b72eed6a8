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

}  // namespace rampart::rpc
