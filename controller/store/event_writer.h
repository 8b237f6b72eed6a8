#pragma once
// The ingest side of controller/store: how batches of events from agents
// become durable, exactly once. Included only by controller/ingest (and its
// tests, fuzzers and benchmarks): it pulls in the protobuf messages, which
// the rest of the controller never needs.
//
// Exactly once: the store keeps, per agent, `stored_through` (every
// sequence <= it is stored or reported dropped) and the set of sequences
// stored above it (alerts sent ahead of the backlog leave holes until the
// backlog fills them). An event whose sequence is already accounted for is
// a duplicate: counted and acknowledged again, never written twice. Both
// are written in the same RocksDB batch as the events, so a crash at any
// point leaves them consistent.
//
// Group commit: Submit() queues a batch and returns at once; the writer
// thread takes everything queued (up to Options::max_group_events), writes it
// in one RocksDB write with one fsync, then calls the subscribers, then each
// batch's `done` in submission order. An agent may be acknowledged only from
// `done`: that is the controller's own durable write.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status/status.h"
#include "controller/store/store.h"
#include "rampart/v1/event.pb.h"

namespace rampart::controller_store {

struct SequenceRange {
  uint64_t first = 0;
  uint64_t last = 0;  // Inclusive.
};

struct IngestResult {
  uint64_t stored_through = 0;           // After this batch.
  std::vector<SequenceRange> accounted;  // This batch's sequences (events and gone), merged.
  uint64_t stored = 0;                   // New events written.
  uint64_t duplicates = 0;               // Already stored; not written again.
  uint64_t rejected = 0;                 // Sequence 0 or missing EVE record: counted, dropped.
};

struct IngestBatch {
  std::string agent_id;  // From the client certificate, never from the message.
  // Events in any order (alerts may come ahead of older telemetry). The
  // writer sets site and stored_unix_nanos itself, and drops any agent_id
  // the message carried (the key holds the agent).
  rampart::v1::EventBatch batch;
  // The ingest server parses each agent message into an arena of its own:
  // a few block allocations instead of several per event, all freed at once
  // after the write. When set, the events are `*arena_batch`, not `batch`.
  std::unique_ptr<google::protobuf::Arena> arena;
  rampart::v1::EventBatch* arena_batch = nullptr;
  rampart::v1::EventBatch& events() { return arena_batch != nullptr ? *arena_batch : batch; }
  // Sequences the agent will never send (dropped by its spool retention).
  std::vector<SequenceRange> gone;
  // Called once on the writer thread: the result after the durable write,
  // or the error that prevented it (nothing of the batch is acknowledged).
  std::function<void(Result<IngestResult>)> done;
};

struct AgentResume {
  uint64_t stored_through = 0;  // The agent may drop everything <= this.
  // The agent says it never spooled past `last_sequence`, yet the store
  // holds more: its spool was reset. It must renumber from stored_through + 1.
  bool sequence_reset = false;
};

class EventWriter {
 public:
  virtual ~EventWriter() = default;
  // Loads (or creates) the agent's ingest state when its stream opens and
  // says where it resumes. `last_sequence` is the highest sequence the agent
  // ever spooled (from its Hello). kNotFound for an agent never enrolled.
  virtual Result<AgentResume> OpenAgent(const std::string& agent_id, uint64_t last_sequence) = 0;
  // Queues a batch; never blocks. Returns the events queued and not yet
  // written (across all agents), for backpressure.
  virtual uint64_t Submit(IngestBatch batch) = 0;
  // Waits until everything submitted so far is written and acknowledged.
  virtual void Drain() = 0;

  struct Counters {
    uint64_t batches = 0;
    uint64_t commits = 0;          // Group commits (fsyncs).
    uint64_t stored = 0;
    uint64_t duplicates = 0;
    uint64_t rejected = 0;
    uint64_t queued_events = 0;    // Now.
  };
  virtual Counters counters() const = 0;
};

// The store's writer. Lives as long as the store.
EventWriter& WriterOf(Store& store);

}  // namespace rampart::controller_store
