#include "controller/ingest/credentials.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

// libgrpc's own class (src/core/lib/security/credentials/ssl/ssl_credentials.h
// in gRPC 1.51), declared here only for the exported, non-virtual member
// used below. grpc_ssl_server_credentials_create_with_options() returns a
// pointer to an object of exactly this class.
class grpc_ssl_server_credentials {
 public:
  void set_min_tls_version(grpc_tls_version min_tls_version);
};

namespace rampart::ingest {
namespace {

// Owns a C-core credentials object and adds listening ports with it.
class CoreServerCredentials final : public grpc::ServerCredentials {
 public:
  explicit CoreServerCredentials(grpc_server_credentials* creds) : creds_(creds) {}
  ~CoreServerCredentials() override { grpc_server_credentials_release(creds_); }
  void SetAuthMetadataProcessor(const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {}

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    return grpc_server_add_http2_port(server, addr.c_str(), creds_);
  }
  grpc_server_credentials* creds_;
};

}  // namespace

Result<std::shared_ptr<grpc::ServerCredentials>> AgentPortCredentials(const std::string& ca_pem,
                                                                      const std::string& certificate_pem,
                                                                      const std::string& key_pem) {
  if (ca_pem.empty() || certificate_pem.empty() || key_pem.empty()) {
    return InvalidArgumentError("agent port needs the CA certificate, the server certificate and its key");
  }
  // Keeps the library initialised while the C objects are made; the wrapper
  // (a grpc::ServerCredentials) holds its own reference afterwards.
  grpc_init();
  struct Release {
    ~Release() { grpc_shutdown(); }
  } release;
  grpc_ssl_pem_key_cert_pair pair{key_pem.c_str(), certificate_pem.c_str()};
  grpc_ssl_server_certificate_config* config = grpc_ssl_server_certificate_config_create(ca_pem.c_str(), &pair, 1);
  if (config == nullptr) return InternalError("cannot build the agent port's TLS configuration");
  grpc_ssl_server_credentials_options* options = grpc_ssl_server_credentials_create_options_using_config(
      GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY, config);  // Takes the config.
  if (options == nullptr) return InternalError("cannot build the agent port's TLS options");
  grpc_server_credentials* creds = grpc_ssl_server_credentials_create_with_options(options);  // Takes the options.
  if (creds == nullptr) return InternalError("cannot create the agent port's TLS credentials");
  reinterpret_cast<grpc_ssl_server_credentials*>(creds)->set_min_tls_version(grpc_tls_version::TLS1_3);
  return std::shared_ptr<grpc::ServerCredentials>(std::make_shared<CoreServerCredentials>(creds));
}

}  // namespace rampart::ingest
