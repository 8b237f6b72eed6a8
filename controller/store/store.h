#pragma once
// controller/store: the event store, the controller's database of record
// for what agents send (RocksDB). It holds every event and alert the agents
// shipped, with indexes for the analysts' queries, subscriptions for new
// events and link changes, retention, and the group-commit writer ingest
// writes through (controller/store/event_writer.h, which needs protobuf and
// is included only by controller/ingest).
//
// The store opens the controller's one RocksDB, with its own column
// families and the fleet registry's (controller/registry: sites, tokens,
// agents, link state), and opens the registry in it: registry() lives as
// long as the store. Events name agents and sites by the registry's numbers.
//
// Thread safety: every method may be called from any thread at any time.
// Reads see every write that returned before they started. Writes of events
// happen on the store's own writer threads (Options::writer_threads; each
// agent always on the same one; group commit: one fsync for many agents'
// batches); subscribers are called there too, see Subscribe(). One retention
// thread deletes old events hourly.
//
// Identities: an event is identified by (agent id, sequence): the agent
// numbers its events densely from 1, and the store keeps each pair at most
// once, so retries never duplicate.
//
// Queries never scan without bound: each examines at most
// QueryOptions::max_examined index entries; a page that stopped early says
// so (`more` with a cursor) instead of taking seconds. Pagination is keyset
// pagination (the cursor is the position in the index), so page 1000 costs
// what page 1 costs, with millions of rows.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status/status.h"
#include "common/util/clock.h"
#include "controller/registry/registry.h"

namespace rampart::controller_store {

// Same numbers as rampart.v1.EventKind (proto/rampart/v1/event.proto).
enum class EventKind : uint8_t {
  kUnspecified = 0,
  kAlert = 1,
  kFlow = 2,
  kDns = 3,
  kHttp = 4,
  kTls = 5,
  kAnomaly = 6,
  kFile = 7,
  kProcess = 8,
  kAuth = 9,
  kStats = 10,
  kLinkProbe = 11,
  kSocket = 12,
  kLinkState = 13,  // A site's link or an agent changed state (made by the controller).
};
// "alert", "flow", ..., "link_state"; "unspecified" for kUnspecified.
std::string_view EventKindName(EventKind kind);
Result<EventKind> ParseEventKind(std::string_view name);

// Same numbers as rampart.v1.Severity: 1 is the most severe (Suricata's
// alert severity), kInfo is telemetry.
enum class Severity : uint8_t {
  kUnspecified = 0,
  kCritical = 1,
  kHigh = 2,
  kMedium = 3,
  kLow = 4,
  kInfo = 5,
};
std::string_view SeverityName(Severity severity);  // "critical", "high", "medium", "low", "info"
Result<Severity> ParseSeverity(std::string_view name);

struct EventId {
  std::string agent_id;
  uint64_t sequence = 0;
  // "AGENT_ID:SEQUENCE", the form URLs and the UI use.
  std::string ToString() const;
  // kInvalidArgument unless "AGENT_ID:SEQUENCE" with a decimal sequence >= 1.
  static Result<EventId> Parse(std::string_view text);
  friend bool operator==(const EventId&, const EventId&) = default;
};

// One row of a list: what the index holds, without the full record.
struct EventSummary {
  EventId id;
  int64_t observed_unix_nanos = 0;  // When it happened (EVE timestamp).
  int64_t stored_unix_nanos = 0;    // When the controller made it durable.
  EventKind kind = EventKind::kUnspecified;
  Severity severity = Severity::kUnspecified;
  std::string site;
  std::string agent_name;           // The agent's host name at enrolment.
  std::string src_ip;               // Empty for records without addresses.
  uint16_t src_port = 0;
  std::string dest_ip;
  uint16_t dest_port = 0;
  std::string proto;                // "TCP", "UDP", ...
  // Alerts only (kind == kAlert):
  uint32_t gid = 0;
  uint64_t signature_id = 0;
  uint32_t rev = 0;
  std::string signature;            // The rule's msg (or YARA/Sigma rule name).
  std::string category;
};

// The detail view: the summary and the EVE record exactly as the agent wrote
// it (one JSON object, no newline).
struct EventRecord {
  EventSummary summary;
  std::string eve_json;
};

// Filters for QueryAlerts / QueryEvents. Every filter that is set must hold
// (AND); lists match any of their values (OR). Empty means "any".
struct Query {
  int64_t from_unix_nanos = 0;  // Observed time, inclusive. 0: the beginning.
  int64_t to_unix_nanos = 0;    // Exclusive. 0: no upper bound.
  std::vector<Severity> severities;
  std::vector<std::string> sites;
  std::vector<std::string> agents;         // Agent ids.
  std::vector<EventKind> kinds;            // QueryEvents only; QueryAlerts implies kAlert.
  std::optional<uint64_t> signature_id;
  // Case-insensitive substring of the signature text (rule msg), e.g.
  // "ET SCAN". Matches through the store's signature catalogue, so it stays
  // fast however many alerts there are.
  std::string signature_text;
  // An IPv4 or IPv6 address (textual), matching source or destination.
  // kInvalidArgument if it does not parse.
  std::string address;
  size_t limit = 50;        // Rows per page, 1..1000.
  bool oldest_first = false;  // Default: newest first.
  // Empty for the first page; then the `next_cursor` of the previous page
  // (opaque; only valid with the same filters).
  std::string cursor;
};

struct Page {
  std::vector<EventSummary> rows;
  // Empty when there is nothing after this page. Otherwise pass it as
  // Query::cursor. Rows can be fewer than `limit` with a cursor when the scan
  // hit max_examined: the caller may ask again to continue.
  std::string next_cursor;
  uint64_t examined = 0;  // Index entries looked at (for diagnostics).
};

struct QueryOptions {
  // Index entries one query may look at before returning what it has (with a
  // cursor). Larger finds rare matches in one call; smaller bounds latency.
  uint64_t max_examined = 200000;
};

// A state change of a site's link or of one agent. Also stored as an event
// of kind kLinkState (EVE event_type "link") so it shows in lists and
// notification routes see it.
struct LinkChange {
  std::string site;
  std::string agent_id;         // Empty: the site's link. Set: one agent's state.
  registry::LinkState from_link = registry::LinkState::kUnknown;  // For site changes.
  registry::LinkState to_link = registry::LinkState::kUnknown;
  registry::AgentState from_agent = registry::AgentState::kUnknown;  // For agent changes.
  registry::AgentState to_agent = registry::AgentState::kUnknown;
  int64_t at_unix_nanos = 0;
  std::string reason;
  registry::LinkMetrics metrics;
  EventId event;                // The stored event (agent id "controller").
};

// What the store holds of one agent's events (its ingest record).
struct AgentIngest {
  uint64_t stored_through = 0;  // Every sequence <= this is stored (or reported dropped).
  uint64_t events_stored = 0;
  uint64_t events_lost = 0;     // Sequences the agent reported dropped by its spool's retention.
};

// --- Subscriptions ---------------------------------------------------------

namespace detail {
class StoreImpl;
}

// A live subscription; destroying it (or Cancel()) unsubscribes. After
// Cancel() returns, the callback is not running and will not run again, so
// the callback may reference objects that die right after. Do not cancel a
// subscription from inside its own callback (it would wait for itself). A
// subscription may outlive its Store: cancelling it then does nothing.
class Subscription {
 public:
  Subscription() = default;
  Subscription(Subscription&&) noexcept;
  Subscription& operator=(Subscription&&) noexcept;
  ~Subscription();
  void Cancel();
  explicit operator bool() const { return static_cast<bool>(cancel_); }

 private:
  friend class detail::StoreImpl;
  explicit Subscription(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  std::function<void()> cancel_;
};

// What a subscriber wants to see. Empty lists mean all.
struct EventFilter {
  std::vector<EventKind> kinds;   // {kAlert} for new alerts only.
  std::vector<Severity> severities;
  std::vector<std::string> sites;
};

// --- The store -------------------------------------------------------------

struct Options {
  std::string path;  // RocksDB directory; created when missing.
  // Events older than this (by observed time) are deleted in the background,
  // with their index entries. 0 keeps everything.
  std::chrono::hours retention{24 * 90};
  // Alerts may be kept longer than bulk telemetry. 0: same as retention.
  std::chrono::hours alert_retention{24 * 365};
  // fsync every group commit (survives power loss). false: survives a
  // controller crash (kill -9) but not the machine's; for benchmarks only.
  bool sync = true;
  // Most batches merged into one group commit; more means fewer fsyncs
  // under load and a little more latency per ack.
  size_t max_group_events = 65536;
  // Writer threads. Each agent's batches always go to the same one (its
  // order, acks and exactly-once state have one owner); RocksDB merges their
  // commits into shared WAL writes and fsyncs and inserts into the memtables
  // in parallel, so one thread prepares a group while another one's fsync
  // is in flight.
  size_t writer_threads = 2;
  // RocksDB block cache. Larger keeps more of the indexes in memory.
  uint64_t block_cache_bytes = 256ull << 20;
  uint64_t write_buffer_bytes = 64ull << 20;
  QueryOptions query;
  const Clock* clock = &SystemClock();
};

class Store {
 public:
  // kUnavailable when another process holds the database (a running
  // controller: use rampartctl, which asks it); kDataLoss on corruption.
  static Result<std::unique_ptr<Store>> Open(const Options& options);
  virtual ~Store() = default;

  // --- Queries (the web UI and rampartctl) ---

  // Alerts only, by observed time. kInvalidArgument for a bad address,
  // limit or cursor.
  virtual Result<Page> QueryAlerts(const Query& query) const = 0;
  // Every kind (alerts included), by observed time.
  virtual Result<Page> QueryEvents(const Query& query) const = 0;
  // kNotFound when the event is not stored (or was deleted by retention).
  virtual Result<EventRecord> GetEvent(const EventId& id) const = 0;
  // Up to `limit` events of one agent in sequence order starting at
  // `from_sequence` (export and verification; not paginated by time).
  virtual Result<std::vector<EventRecord>> AgentEvents(std::string_view agent_id, uint64_t from_sequence,
                                                       size_t limit) const = 0;
  // Signatures seen so far whose text contains `text` (case-insensitive),
  // with how many alerts each raised; for the UI's filter suggestions.
  struct SignatureCount {
    uint64_t signature_id = 0;
    std::string signature;
    uint64_t alerts = 0;
  };
  virtual Result<std::vector<SignatureCount>> Signatures(std::string_view text, size_t limit) const = 0;

  // What the store holds of an agent's events; zeros for an agent that
  // never sent any (or is unknown).
  virtual AgentIngest IngestOf(std::string_view agent_id) const = 0;

  // --- Subscriptions (notifications, the live feed) ---

  // `callback` is called on a store writer thread once per matching event,
  // after the event is durable: one call at a time, in commit order for each
  // agent (agents on different writer threads interleave). It must be quick
  // and must not block (copy what it needs and hand it to its own thread):
  // the writer acknowledges agents only after callbacks return.
  virtual Subscription Subscribe(const EventFilter& filter,
                                 std::function<void(const EventRecord&)> callback) = 0;
  // Link and agent state changes, after they are durable, on the thread
  // that recorded them (the links module's). Same rules as Subscribe().
  virtual Subscription SubscribeLinkChanges(std::function<void(const LinkChange&)> callback) = 0;

  // --- Link changes (controller/links) ---

  // Stores the change as an event (its source is "controller") and tells
  // SubscribeLinkChanges subscribers. Fills change.event. The link and
  // agent states themselves are the registry's (SetSiteLink, SetAgentState).
  virtual Status RecordLinkChange(LinkChange& change) = 0;

  // Deletes events past retention now (also runs hourly in the background).
  // Returns how many events were deleted.
  virtual Result<uint64_t> RunRetention() = 0;

  // The fleet registry in the same database (sites, tokens, agents, link
  // state). Lives as long as the store.
  virtual registry::Registry& registry() = 0;
};

}  // namespace rampart::controller_store
