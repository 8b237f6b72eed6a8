#pragma once
// Internal to controller/ingest (and its tests): the agent port's TLS.
//
// TLS 1.3 only. The client certificate is requested and, when presented,
// verified against the controller's CA during the handshake (a self-signed
// or foreign certificate fails the handshake); it is optional at the TLS
// level because GetCaCertificate and Enroll are called before the agent has
// one. Stream and Renew then require a verified certificate in the call.
//
// gRPC 1.51's C++ API has no minimum-version setting, while its C core
// does (grpc_ssl_server_credentials::set_min_tls_version, exported by
// libgrpc). This file builds the credentials through the C API, sets the
// minimum there, and wraps them for grpc::ServerBuilder. It is the only
// place that relies on that symbol; the test that a TLS 1.2 client is
// refused (tests/integration/ingest_test.cc) guards it.

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "common/status/status.h"

namespace rampart::ingest {

Result<std::shared_ptr<grpc::ServerCredentials>> AgentPortCredentials(const std::string& ca_pem,
                                                                      const std::string& certificate_pem,
                                                                      const std::string& key_pem);

}  // namespace rampart::ingest
