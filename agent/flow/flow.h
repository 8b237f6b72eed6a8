#pragma once
// A flow: both directions of one conversation (addresses, ports, protocol,
// outer VLAN), its counters, state, TCP reassembly and what higher layers
// attach to it. Owned by one worker's FlowTable.

#include <cstdint>
#include <cstring>
#include <memory>

#include "agent/decode/packet.h"
#include "agent/flow/tcp_stream.h"

namespace rampart::flow {

// Normalised 5-tuple (+ outer VLAN): the lower (address, port) first, so
// both directions give the same key.
struct FlowKey {
  uint8_t addr_lo[16];
  uint8_t addr_hi[16];
  uint16_t port_lo;
  uint16_t port_hi;
  uint16_t vlan;
  uint8_t family;
  uint8_t proto;

  bool operator==(const FlowKey& o) const { return std::memcmp(this, &o, sizeof(FlowKey)) == 0; }
};
static_assert(sizeof(FlowKey) == 40);

// Builds the key of a packet that has L3 (and L4 for TCP/UDP). `*lo_is_src`
// tells whether the packet's source is the key's lower side.
FlowKey MakeKey(const decode::Packet& p, bool* lo_is_src);
uint64_t HashKey(const FlowKey& k);

enum class FlowState : uint8_t { kNew = 0, kEstablished = 1, kClosed = 2 };

enum class EndReason : uint8_t { kTimeout, kForced, kShutdown };

// Per-flow data of the layers above (app layer, sensor): destroyed with the flow.
class FlowUserData {
 public:
  virtual ~FlowUserData() = default;
};

// TCP connection tracking of a flow (both directions).
struct TcpSession {
  TcpStream stream[2];  // [0] client -> server, [1] server -> client.
  uint8_t flags_seen[2] = {0, 0};  // TCP flags seen per direction.
  bool syn_seen = false;
  bool synack_seen = false;
  bool handshake_done = false;
  bool midstream = false;
  bool rst_seen = false;
  bool fin_seen[2] = {false, false};
  uint8_t tcp_state = 0;  // TcpState (see tcp_stream.h).
  // A RST that closed the session but that its receiver may have dropped
  // (see FlowTable::Track), per direction of the RST; with the states to
  // go back to if its sender carries on as if it had never sent it.
  bool doubtful_rst[2] = {false, false};
  uint8_t state_before_rst = 0;         // TcpState.
  uint8_t flow_state_before_rst = 0;    // FlowState.
};

struct Flow {
  FlowKey key{};
  uint64_t hash = 0;
  uint64_t id = 0;
  bool client_is_lo = true;  // The client (first sender) is the key's lower side.
  FlowState state = FlowState::kNew;
  uint8_t proto = 0;
  uint8_t family = 0;
  bool alerted = false;
  bool seen[2] = {false, false};  // Packets seen per direction (0 to server, 1 to client).
  uint8_t icmp_type[2] = {0, 0};  // First ICMP type/code per direction.
  uint8_t icmp_code[2] = {0, 0};
  int64_t start_nanos = 0;
  int64_t last_nanos = 0;         // Packet time of the latest packet.
  int64_t touched = 0;            // Table clock at the latest packet (drives timeouts).
  uint64_t pkts[2] = {0, 0};
  uint64_t bytes[2] = {0, 0};

  std::unique_ptr<TcpSession> tcp;
  std::unique_ptr<FlowUserData> app;   // App-layer parser state.
  std::unique_ptr<FlowUserData> user;  // The sensor's per-flow data.

  // Timeout list links (indices into the table's slab) and list number.
  uint32_t prev = 0;
  uint32_t next = 0;
  uint8_t list = 0;
  bool in_use = false;
  uint32_t index = 0;  // Own position in the table's slab.
  char community_id[32] = {};   // Computed once (community_id.h).
  uint8_t community_id_len = 0;

  // The client's and server's address/port, from the key.
  decode::IpAddr Client() const;
  decode::IpAddr Server() const;
  uint16_t ClientPort() const { return client_is_lo ? key.port_lo : key.port_hi; }
  uint16_t ServerPort() const { return client_is_lo ? key.port_hi : key.port_lo; }
};

}  // namespace rampart::flow
