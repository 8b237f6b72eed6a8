#pragma once
// controller/registry: the fleet registry. Sites (agencies) with their WAN
// link state and downsampled link history, enrolment tokens (hashed), and
// agents with their identity, connection, health and state; and the numbers
// the event store (controller/store) gives agents and sites in its keys.
//
// The registry lives in the controller's one RocksDB, in its own column
// families (kColumnFamilies), beside the event store's: controller/store
// opens the database and the registry in it (Store::registry()). The
// registry never reads the events' families, and what the store holds of an
// agent's events (its ingest counters) is the store's (Store::IngestOf).
// controller/fleet (enrolment, revocation), controller/links (link states)
// and ingest (connections, heartbeats) write here; the web UI and rampartctl
// read.
//
// Thread safety: every method may be called from any thread at any time.
// Reads see every write that returned before they started. One maintenance
// thread persists what changes too often to write each time (last seen,
// connection, health) every 30 s and at close, and expires link history
// hourly.
//
// Identities: an agent id is the CN of the agent's certificate (assigned by
// the controller at enrolment); a site is named by its id ([a-z0-9-]{1,63},
// e.g. "so-tai-chinh").

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status/status.h"
#include "common/util/clock.h"

namespace rampart::rocks {
class Database;
}

namespace rampart::registry {

enum class LinkState : uint8_t {
  kUnknown = 0,   // Nothing heard yet.
  kUp = 1,
  kDegraded = 2,  // Loss, RTT or jitter above their raise thresholds.
  kDown = 3,      // No agent of the site answers.
};
std::string_view LinkStateName(LinkState state);  // "unknown", "up", "degraded", "down"

// How an agent is doing, as the controller sees it.
enum class AgentState : uint8_t {
  kUnknown = 0,   // Enrolled, never connected.
  kUp = 1,        // Heard recently (probes, heartbeats or its stream).
  kDown = 2,      // Silent while other agents of its site answer: the agent, not the link.
  kUnreachable = 3,  // Silent because its site's link is down.
  kStopped = 4,   // Said goodbye (clean shutdown) and has not come back.
  kRevoked = 5,
};
std::string_view AgentStateName(AgentState state);

struct LinkMetrics {
  double rtt_ms = 0;        // Mean round trip over the last window.
  double jitter_ms = 0;     // Mean absolute difference of consecutive RTTs.
  double loss_ratio = 0;    // 0..1 over the last window.
  int64_t window_end_unix_nanos = 0;
};

struct SiteLink {
  LinkState state = LinkState::kUnknown;
  int64_t since_unix_nanos = 0;   // When it entered `state`.
  std::string reason;             // "no agent answered for 6s", "loss 21% >= 10%", ...
  LinkMetrics metrics;
  double availability_24h = 0;    // Fraction of the last 24 h spent up or degraded (0..1).
};

struct Site {
  std::string id;           // [a-z0-9-]{1,63}
  std::string description;  // Free text ("Sở Tài chính").
  int64_t created_unix_nanos = 0;
  SiteLink link;
  uint32_t agents = 0;      // Enrolled, not revoked.
  uint32_t agents_up = 0;
};

// Health an agent reports in its heartbeats (see rampart.v1.Heartbeat).
struct AgentHealth {
  int64_t reported_unix_nanos = 0;
  double cpu_percent = 0;           // The agent process.
  uint64_t rss_bytes = 0;
  double host_cpu_percent = 0;
  uint64_t host_memory_used_bytes = 0;
  uint64_t host_memory_total_bytes = 0;
  double load_average_1m = 0;
  uint64_t disk_free_bytes = 0;
  uint64_t queue_depth = 0;         // Spooled, not yet acknowledged.
  uint64_t queue_bytes = 0;
  uint64_t dropped_events = 0;      // Dropped by the agent's spool retention.
  uint64_t capture_drops = 0;
  uint64_t last_sequence = 0;       // Highest sequence the agent spooled.
  LinkMetrics link;                 // The agent's own probe window.
  std::string policy_version;
  std::string rules_version;
};

struct Agent {
  std::string id;                   // Certificate CN.
  std::string name;                 // Host name given at enrolment.
  std::string site;
  std::string version;              // Agent release and revision, from Hello/heartbeats.
  int64_t enrolled_unix_nanos = 0;
  int64_t last_seen_unix_nanos = 0; // Any message, probe or heartbeat.
  std::string address;              // Peer address of its last stream.
  AgentState state = AgentState::kUnknown;
  int64_t state_since_unix_nanos = 0;
  bool connected = false;           // Its stream is open now.
  bool revoked = false;
  int64_t revoked_unix_nanos = 0;
  std::string certificate_serial;   // Hex; the only certificate accepted for this id.
  int64_t certificate_not_after_unix_seconds = 0;
  AgentHealth health;
};

// One point of a site's link history. Raw points cover 10 s; older history
// is kept downsampled (5 min, then 1 h buckets) with the same fields.
struct LinkSample {
  int64_t start_unix_nanos = 0;
  int64_t duration_nanos = 0;
  double rtt_ms_avg = 0;
  double rtt_ms_max = 0;
  double jitter_ms = 0;
  double loss_ratio = 0;       // Mean over the bucket.
  double availability = 0;     // Fraction of the bucket the link was up or degraded.
  LinkState worst = LinkState::kUnknown;  // Worst state seen in the bucket.
};

// An enrolment token as stored: the token itself is never kept, only its
// SHA-256 (hex).
struct Token {
  std::string sha256;
  std::string site;
  int64_t created_unix_nanos = 0;
  int64_t expires_unix_nanos = 0;
  bool used = false;
  int64_t used_unix_nanos = 0;
  std::string used_by_agent;    // The agent id it enrolled.
  std::string created_by;       // "rampartctl", a user name...
};

// Valid site id: [a-z0-9-]{1,63}, not starting with '-'.
bool ValidSiteId(std::string_view id);

// The registry's column families in the controller's database ("dict":
// agent and site numbers; "agents", "sites", "tokens": JSON records;
// "links": link history in three tiers). Whoever opens the database opens
// these with its own.
inline constexpr std::array<std::string_view, 5> kColumnFamilies = {"dict", "agents", "sites", "tokens", "links"};

struct Options {
  const Clock* clock = &SystemClock();
};

class Registry {
 public:
  // Loads the registry from `db`, which holds kColumnFamilies and must
  // outlive it. kDataLoss when a family is missing.
  static Result<std::unique_ptr<Registry>> Open(rocks::Database& db, const Options& options);
  // Stops the maintenance thread and persists what it had not yet.
  virtual ~Registry() = default;

  // --- Sites ---

  // kAlreadyExists; kInvalidArgument for a bad id.
  virtual Status CreateSite(const Site& site) = 0;
  virtual Result<std::vector<Site>> ListSites() const = 0;
  virtual Result<Site> GetSite(std::string_view site_id) const = 0;  // kNotFound

  // --- Enrolment tokens ---

  // kInvalidArgument unless 64 hex digits; kNotFound for an unknown site.
  virtual Status PutToken(const Token& token) = 0;
  // Marks the token with this hash used by `agent_id`, atomically: exactly
  // one caller wins. kUnauthenticated when unknown, used or expired (the
  // same message for all three, so the reply does not help guessing).
  virtual Result<Token> ConsumeToken(std::string_view sha256, std::string_view agent_id) = 0;
  virtual Result<std::vector<Token>> ListTokens() const = 0;  // Newest first.

  // --- Agents ---

  // Creates or replaces the agent's identity fields (id, name, site,
  // enrolled time, certificate serial and expiry, revoked); keeps its
  // state and health. kNotFound for an unknown site; kInvalidArgument for
  // an empty id or "controller".
  virtual Status PutAgentIdentity(const Agent& agent) = 0;
  virtual Result<std::vector<Agent>> ListAgents(std::string_view site = {}) const = 0;
  virtual Result<Agent> GetAgent(std::string_view agent_id) const = 0;  // kNotFound
  // Health from a heartbeat (persisted by the maintenance pass).
  virtual Status UpdateAgentHealth(std::string_view agent_id, const AgentHealth& health,
                                   std::string_view version) = 0;
  // Connection bookkeeping from ingest (connected, address, last seen). A
  // goodbye ("stopped") is persisted at once, the rest by the maintenance
  // pass.
  virtual Status UpdateAgentConnection(std::string_view agent_id, bool connected, std::string_view address,
                                       int64_t at_unix_nanos, bool goodbye) = 0;
  // Last-seen time from probes (kept in memory, persisted at intervals).
  virtual void TouchAgent(std::string_view agent_id, int64_t at_unix_nanos) = 0;

  // --- Link state (controller/links) ---

  // The current link state of a site and its agents.
  virtual Status SetSiteLink(std::string_view site_id, const SiteLink& link) = 0;
  virtual Status SetAgentState(std::string_view agent_id, AgentState state, int64_t since_unix_nanos) = 0;
  // Appends raw 10 s samples; the registry downsamples (5 min and 1 h
  // buckets) and expires history (raw after 2 days, 5 min after 30, 1 h
  // after 400).
  virtual Status AppendLinkSample(std::string_view site_id, const LinkSample& sample) = 0;
  // History of a site's link in [from, to), at most `max_points` points:
  // raw 10 s points when they fit, else the 5 min or 1 h downsampled tier.
  // `to` 0: now. kNotFound for an unknown site.
  virtual Result<std::vector<LinkSample>> LinkHistory(std::string_view site_id, int64_t from_unix_nanos,
                                                      int64_t to_unix_nanos, size_t max_points = 500) const = 0;

  // --- Numbers (for controller/store's keys) ---
  //
  // The event store's keys name agents and sites by number (4 bytes, given
  // once and never changed, kept in "dict"). Site number 0 is "no site".

  // What the event store's writer needs of an event source.
  struct Source {
    uint32_t number = 0;
    bool enrolled = false;   // Has an agent record (revoked ones too); false: numbered only ("controller").
    uint32_t site_number = 0;  // Enrolled agents: their site's.
    std::string site;
    std::string name;          // The agent's host name.
  };
  // nullopt when `id` has no number (never enrolled nor numbered).
  virtual std::optional<Source> FindSource(std::string_view id) const = 0;
  // Numbers an event source that is not an enrolled agent (the controller's
  // own events: "controller"), or returns the number it has.
  virtual Result<uint32_t> NumberSource(std::string_view id) = 0;
  // 0 for an unknown site (or none).
  virtual uint32_t SiteNumber(std::string_view site_id) const = 0;
  // Every numbered site.
  virtual std::vector<uint32_t> SiteNumbers() const = 0;
  // What a listed event shows of its source and site; empty strings for
  // numbers the registry does not know.
  struct Names {
    std::string agent_id;
    std::string agent_name;
    std::string site;
  };
  virtual Names NamesOf(uint32_t agent_number, uint32_t site_number) const = 0;
};

}  // namespace rampart::registry
