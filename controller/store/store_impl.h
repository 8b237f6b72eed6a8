#pragma once
// Internal to controller/store: the one class behind Store and EventWriter.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "common/rocks/rocks.h"
#include "controller/store/codec.h"
#include "controller/store/event_writer.h"
#include "controller/store/store.h"

namespace rampart::v1 {
class Event;
}

namespace rampart::controller_store::detail {

// What the indexes hold for an event (stored_nanos left 0).
Summary SummaryOfEvent(const rampart::v1::Event& e, uint32_t site_num);
// Key of an agent's ingest record (through, stored, lost) in "ingest".
std::string IngestKey(uint32_t agent_num);

// Which sequences of one agent are accounted for (stored or reported gone).
struct IngestState {
  uint32_t num = 0;
  uint64_t through = 0;                 // Every sequence <= through.
  std::map<uint64_t, uint64_t> above;   // Ranges above through: first -> last.
  uint64_t stored = 0;
  uint64_t lost = 0;

  bool Contains(uint64_t seq) const;
  // Adds [first, last]; returns how many sequences were new.
  uint64_t Add(uint64_t first, uint64_t last);
};

struct AgentEntry {
  Agent agent;  // Identity, state and health; ingest counters live in IngestState.
  uint32_t num = 0;
  uint32_t site_num = 0;
  int64_t last_seen_persisted = 0;
  bool dirty = false;  // Connection state changed in memory, not yet persisted.
};

struct SiteEntry {
  Site site;
  uint32_t num = 0;
};

struct Subscriber {
  uint64_t id = 0;
  EventFilter filter;
  std::function<void(const EventRecord&)> callback;
};

struct LinkSubscriber {
  uint64_t id = 0;
  std::function<void(const LinkChange&)> callback;
};

struct Subscribers {
  std::mutex events_mu;  // Held while callbacks run, so Cancel() waits for them.
  std::vector<Subscriber> events;
  std::atomic<size_t> event_count{0};
  std::mutex links_mu;  // Likewise for link changes.
  std::vector<LinkSubscriber> links;
};

class StoreImpl final : public Store, public EventWriter {
 public:
  explicit StoreImpl(const Options& options) : options_(options) {}
  ~StoreImpl() override;
  Status Init();

  // Store: queries.
  Result<Page> QueryAlerts(const Query& query) const override;
  Result<Page> QueryEvents(const Query& query) const override;
  Result<EventRecord> GetEvent(const EventId& id) const override;
  Result<std::vector<EventRecord>> AgentEvents(std::string_view agent_id, uint64_t from_sequence,
                                               size_t limit) const override;
  Result<std::vector<SignatureCount>> Signatures(std::string_view text, size_t limit) const override;
  Result<std::vector<Agent>> ListAgents(std::string_view site) const override;
  Result<Agent> GetAgent(std::string_view agent_id) const override;
  Result<std::vector<Site>> ListSites() const override;
  Result<Site> GetSite(std::string_view site_id) const override;
  Result<std::vector<LinkSample>> LinkHistory(std::string_view site_id, int64_t from, int64_t to,
                                              size_t max_points) const override;

  Subscription Subscribe(const EventFilter& filter, std::function<void(const EventRecord&)> callback) override;
  Subscription SubscribeLinkChanges(std::function<void(const LinkChange&)> callback) override;

  // Store: fleet objects.
  Status CreateSite(const Site& site) override;
  Status PutToken(const Token& token) override;
  Result<Token> ConsumeToken(std::string_view sha256, std::string_view agent_id) override;
  Result<std::vector<Token>> ListTokens() const override;
  Status PutAgentIdentity(const Agent& agent) override;
  Status UpdateAgentHealth(std::string_view agent_id, const AgentHealth& health, std::string_view version) override;
  Status UpdateAgentConnection(std::string_view agent_id, bool connected, std::string_view address, int64_t at,
                               bool goodbye) override;
  void TouchAgent(std::string_view agent_id, int64_t at) override;
  Status SetSiteLink(std::string_view site_id, const SiteLink& link) override;
  Status SetAgentState(std::string_view agent_id, AgentState state, int64_t since) override;
  Status AppendLinkSample(std::string_view site_id, const LinkSample& sample) override;
  Status RecordLinkChange(LinkChange& change) override;
  Result<uint64_t> RunRetention() override;

  // EventWriter.
  Result<AgentResume> OpenAgent(const std::string& agent_id, uint64_t last_sequence) override;
  uint64_t Submit(IngestBatch batch) override;
  void Drain() override;
  Counters counters() const override;

 private:
  struct Plan;
  struct WriterShard;

  // Dictionary and records (caller holds meta_mu_ as noted).
  Result<uint32_t> SiteNumberLocked(const std::string& site);   // Creates. meta_mu_ exclusive.
  Result<uint32_t> AgentNumberLocked(const std::string& agent);  // Creates. meta_mu_ exclusive.
  Status PersistAgentLocked(const AgentEntry& e, rocks::Durability d);
  Status PersistSiteLocked(const SiteEntry& e);
  Agent AgentViewLocked(const AgentEntry& e) const;
  Site SiteViewLocked(const SiteEntry& e) const;
  Status LoadDictionaries();
  Result<IngestState*> StateLocked(uint32_t num);  // states_mu_ held.

  // Queries.
  Result<Page> Run(const Query& q, bool alerts_only) const;
  EventSummary ToSummary(const Summary& s, const Position& p) const;

  // Writer.
  void WriterLoop(WriterShard& shard);
  void MaintenanceLoop();
  void CommitGroup(WriterShard& shard, std::deque<IngestBatch>& group);
  void Notify(const std::vector<EventRecord>& records);

  Options options_;
  std::unique_ptr<rocks::Database> db_;
  rocksdb::ColumnFamilyHandle* events_ = nullptr;
  rocksdb::ColumnFamilyHandle* idx_ = nullptr;
  rocksdb::ColumnFamilyHandle* sigs_ = nullptr;
  rocksdb::ColumnFamilyHandle* dict_ = nullptr;
  rocksdb::ColumnFamilyHandle* agents_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* sites_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* tokens_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* ingest_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* links_cf_ = nullptr;

  // Agents, sites, numbers, signatures.
  mutable std::shared_mutex meta_mu_;
  std::map<std::string, AgentEntry, std::less<>> agents_;
  std::map<std::string, SiteEntry, std::less<>> sites_;
  std::unordered_map<uint32_t, std::string> agent_by_num_;
  std::unordered_map<uint32_t, std::string> site_by_num_;
  std::map<std::string, uint32_t, std::less<>> agent_nums_;  // Includes agents not (yet) enrolled ("controller").
  std::map<std::string, uint32_t, std::less<>> site_nums_;
  uint32_t next_agent_num_ = 1;
  uint32_t next_site_num_ = 1;
  struct SignatureInfo {
    std::string signature;
    std::string category;
    uint32_t gid = 0;
    uint32_t rev = 0;
    uint64_t alerts = 0;
  };
  std::unordered_map<uint64_t, SignatureInfo> signatures_;

  std::mutex token_mu_;  // ConsumeToken is read-check-write.

  // Ingest states, by agent number.
  std::mutex states_mu_;
  std::unordered_map<uint32_t, IngestState> states_;

  std::atomic<uint64_t> queued_events_{0};
  std::thread maintenance_;
  std::mutex maintenance_mu_;
  std::condition_variable maintenance_cv_;
  bool maintenance_stop_ = false;  // Guarded by maintenance_mu_.

  // One writer thread and queue per shard (Options::writer_threads).
  struct WriteRow {
    uint32_t num = 0;
    uint64_t seq = 0;
    size_t value_offset = 0;  // In WriterShard::values.
    size_t value_size = 0;
  };
  struct IndexRow {
    IndexKey key;
    uint32_t summary_offset = 0;  // In WriterShard::summaries.
    uint32_t summary_size = 0;
  };
  struct WriterShard {
    uint8_t number = 0;
    std::mutex mu;
    std::condition_variable queue_cv;
    std::condition_variable drained_cv;
    std::deque<IngestBatch> queue;  // Guarded by mu, as are the two flags.
    bool stopping = false;
    bool writing = false;
    std::thread thread;
    // Buffers kept between group commits, so a steady stream does not
    // allocate (and fault in) tens of megabytes per commit.
    rocksdb::WriteBatch batch;
    std::string values;
    std::string summaries;
    std::vector<WriteRow> rows;
    std::vector<IndexRow> index;
    // This shard's alert count per signature: each shard persists its own
    // under the signature id and its number, so two writers never
    // read-modify-write the same record. The catalogue holds the sums.
    std::unordered_map<uint64_t, uint64_t> signature_alerts;
  };
  WriterShard& ShardOf(std::string_view agent_id);
  std::vector<std::unique_ptr<WriterShard>> shards_;

  mutable std::mutex counters_mu_;
  Counters counters_;

  // Shared with the Subscription handles, so one that outlives the store
  // cancels harmlessly.
  std::shared_ptr<Subscribers> subs_ = std::make_shared<Subscribers>();
  std::atomic<uint64_t> next_sub_id_{1};

  std::mutex link_change_mu_;  // Serializes RecordLinkChange.
};

}  // namespace rampart::controller_store::detail
