#pragma once
// rampartctl's way into a running controller: the AdminService (gRPC) on a
// Unix socket inside the controller's data directory. The socket is mode
// 0600 in a 0700 directory, so only the controller's own user (root) can
// connect; it is never exposed on the network.
//
// Server: started by the controller runtime, shut down with it.
// Client: one per rampartctl invocation.
//
// Thread-safe. Listings are JSON documents (see proto/rampart/v1/admin.proto).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status/status.h"
#include "controller/fleet/fleet.h"
#include "controller/registry/registry.h"
#include "controller/store/store.h"

namespace rampart::fleet {

class AdminServer {
 public:
  // Removes a stale socket file first. kUnavailable when it cannot listen.
  // `fleet` may be null (no agent port configured): token and revocation
  // calls then fail with kFailedPrecondition.
  // Sites, agents, tokens and link history come from `registry`; alerts,
  // exports and agents' stored counts from `store`. Both must outlive it.
  static Result<std::unique_ptr<AdminServer>> Start(const std::string& socket_path, Fleet* fleet,
                                                    registry::Registry& registry, controller_store::Store& store);
  virtual ~AdminServer() = default;
  // Stops accepting calls, cancels those still running after `deadline`,
  // waits for them, and removes the socket file.
  virtual void Shutdown(std::chrono::milliseconds deadline) = 0;
};

struct TokenInfo {
  std::string token;
  std::string site;
  int64_t expires_unix_nanos = 0;
  std::string ca_sha256;
};

enum class ListWhat { kSites, kAgents, kTokens, kLinkHistory, kAlerts };

class AdminClient {
 public:
  // Does not connect yet; calls fail with kUnavailable ("is the controller
  // running?") when nothing listens on the socket.
  static std::unique_ptr<AdminClient> Create(const std::string& socket_path);
  virtual ~AdminClient() = default;

  virtual Status CreateSite(const std::string& site, const std::string& description) = 0;
  virtual Result<TokenInfo> CreateToken(const std::string& site, std::chrono::seconds ttl, bool create_site) = 0;
  virtual Status RevokeAgent(const std::string& agent_id, const std::string& reason) = 0;
  // A JSON document. `site` for kLinkHistory (required) and kAlerts/kAgents
  // (filter); times in Unix nanoseconds (0: open); `limit` rows for kAlerts.
  virtual Result<std::string> List(ListWhat what, const std::string& site = {}, const std::string& agent_id = {},
                                   int64_t from_unix_nanos = 0, int64_t to_unix_nanos = 0, uint32_t limit = 0) = 0;
  // Every stored event of an agent, in sequence order, as JSON lines handed
  // to `sink` in chunks.
  virtual Status Export(const std::string& agent_id, uint64_t from_sequence,
                        const std::function<void(std::string_view lines)>& sink) = 0;
};

// The default socket: DATA_DIR/admin.sock.
std::string DefaultAdminSocket(const std::string& data_dir);

}  // namespace rampart::fleet
