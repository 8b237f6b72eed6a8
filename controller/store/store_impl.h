#pragma once
// Internal to controller/store: the one class behind Store and EventWriter,
// shared by its .cc files (store.cc: open, close, subscriptions; query.cc;
// writer.cc; ingest_state.cc; retention.cc).
//
// Locks, in the order they may be taken (never the other way round):
// a shard's `mu` (queue only, never held while writing) is taken alone;
// link_change_mu_ -> states_mu_; catalogue_mu_ and states_mu_ are never
// held together; the subscribers' locks are held while their callbacks
// run. The registry's own lock is taken inside its calls only.

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <thread>
#include <unordered_map>

#include "common/rocks/rocks.h"
#include "common/util/mutex.h"
#include "controller/store/codec.h"
#include "controller/store/event_writer.h"
#include "controller/store/store.h"

namespace rampart::v1 {
class Event;
}

namespace rampart::controller_store::detail {

inline constexpr int64_t kSecond = 1'000'000'000;
// The source of the controller's own events (link changes).
inline constexpr std::string_view kControllerSource = "controller";

// What the indexes hold for an event (stored_nanos left 0).
Summary SummaryOfEvent(const rampart::v1::Event& e, uint32_t site_num);
// Key of an agent's ingest record (through, stored, lost) in "ingest".
std::string IngestKey(uint32_t agent_num);
// The smallest key after every key that starts with `prefix` ("" when none).
std::string PrefixEnd(std::string prefix);

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

struct Subscriber {
  uint64_t id = 0;
  EventFilter filter;
  std::function<void(const EventRecord&)> callback;
};

struct LinkSubscriber {
  uint64_t id = 0;
  std::function<void(const LinkChange&)> callback;
};

// Shared with the Subscription handles, so one that outlives the store
// cancels harmlessly.
struct Subscribers {
  Mutex events_mu;  // Held while callbacks run, so Cancel() waits for them.
  std::vector<Subscriber> events GUARDED_BY(events_mu);
  std::atomic<size_t> event_count{0};  // events.size(), read without the lock by the writer.
  Mutex links_mu;  // Likewise for link changes.
  std::vector<LinkSubscriber> links GUARDED_BY(links_mu);
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
  Result<std::vector<SignatureCount>> Signatures(std::string_view text, size_t limit) const override
      EXCLUDES(catalogue_mu_);
  AgentIngest IngestOf(std::string_view agent_id) const override EXCLUDES(states_mu_);

  Subscription Subscribe(const EventFilter& filter, std::function<void(const EventRecord&)> callback) override;
  Subscription SubscribeLinkChanges(std::function<void(const LinkChange&)> callback) override;

  Status RecordLinkChange(LinkChange& change) override EXCLUDES(link_change_mu_, states_mu_);
  Result<uint64_t> RunRetention() override;
  registry::Registry& registry() override { return *registry_; }

  // EventWriter.
  Result<AgentResume> OpenAgent(const std::string& agent_id, uint64_t last_sequence) override
      EXCLUDES(states_mu_);
  uint64_t Submit(IngestBatch batch) override;
  void Drain() override;
  Counters counters() const override EXCLUDES(counters_mu_);

 private:
  struct QueryPlan;
  struct WriterShard;
  struct Group;
  struct Pending;
  struct SignatureInfo {
    std::string signature;
    std::string category;
    uint32_t gid = 0;
    uint32_t rev = 0;
    uint64_t alerts = 0;
  };

  Status LoadCatalogue() EXCLUDES(catalogue_mu_);
  Result<IngestState*> StateLocked(uint32_t num) REQUIRES(states_mu_);

  // Queries (query.cc).
  Result<Page> Run(const Query& q, bool alerts_only) const;
  Result<QueryPlan> Plan(const Query& q, bool alerts_only) const EXCLUDES(catalogue_mu_);
  Result<Page> Scan(const Query& q, const QueryPlan& plan) const;
  EventSummary ToSummary(const Summary& s, const Position& p) const EXCLUDES(catalogue_mu_);
  EventRecord RecordOf(const rampart::v1::Event& e, uint32_t num) const;

  // Writer (writer.cc).
  WriterShard& ShardOf(std::string_view agent_id);
  void WriterLoop(WriterShard& shard);
  void CommitGroup(WriterShard& shard, std::deque<IngestBatch>& batches);
  void PrepareBatch(WriterShard& shard, Group& g, Pending& p) EXCLUDES(states_mu_);
  void PrepareEvent(WriterShard& shard, Group& g, Pending& p, IngestState& st, rampart::v1::Event& e,
                    const registry::Registry::Source& source) EXCLUDES(catalogue_mu_);
  void FillWriteBatch(WriterShard& shard, Group& g);
  void Complete(WriterShard& shard, Group& g, const rocksdb::WriteBatch& written)
      EXCLUDES(states_mu_, catalogue_mu_, counters_mu_);
  void Notify(const std::vector<EventRecord>& records);

  // Retention (retention.cc).
  void RetentionLoop() EXCLUDES(retention_mu_);
  bool WaitForRetention() EXCLUDES(retention_mu_);

  Options options_;
  std::unique_ptr<rocks::Database> db_;
  std::unique_ptr<registry::Registry> registry_;  // In db_; closed before it.
  rocksdb::ColumnFamilyHandle* events_ = nullptr;
  rocksdb::ColumnFamilyHandle* idx_ = nullptr;
  rocksdb::ColumnFamilyHandle* sigs_ = nullptr;
  rocksdb::ColumnFamilyHandle* ingest_cf_ = nullptr;

  // The signature catalogue: the newest metadata and alert count of every
  // signature id seen.
  mutable SharedMutex catalogue_mu_;
  std::unordered_map<uint64_t, SignatureInfo> signatures_ GUARDED_BY(catalogue_mu_);

  // Ingest states, by agent number.
  mutable Mutex states_mu_;
  std::unordered_map<uint32_t, IngestState> states_ GUARDED_BY(states_mu_);

  std::atomic<uint64_t> queued_events_{0};

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
    Mutex mu;
    CondVar queue_cv;
    CondVar drained_cv;
    std::deque<IngestBatch> queue GUARDED_BY(mu);
    bool stopping GUARDED_BY(mu) = false;
    bool writing GUARDED_BY(mu) = false;
    std::thread thread;
    // The writer thread's alone: buffers kept between group commits, so a
    // steady stream does not allocate (and fault in) tens of megabytes per
    // commit.
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
  std::vector<std::unique_ptr<WriterShard>> shards_;

  mutable Mutex counters_mu_;
  Counters counters_ GUARDED_BY(counters_mu_);

  std::shared_ptr<Subscribers> subs_ = std::make_shared<Subscribers>();
  std::atomic<uint64_t> next_sub_id_{1};

  Mutex link_change_mu_;  // Serialises RecordLinkChange (sequence numbers of "controller").

  std::thread retention_;
  Mutex retention_mu_;
  CondVar retention_cv_;
  bool retention_stop_ GUARDED_BY(retention_mu_) = false;
};

}  // namespace rampart::controller_store::detail
