#pragma once
// agent/store: the agent's spool. Every event gets a sequence number and is
// durable in RocksDB (group-committed WAL) before Append returns, and so
// before it counts; it leaves the spool only when the controller
// acknowledged it. Retention by a disk quota and an age; when the quota is
// reached, bulk telemetry goes first and alerts are kept; every drop is
// counted (persisted), logged at an interval, reported in heartbeats and told
// to the controller (Outbox::Gone) so it can account for the gap.
//
//   auto spool = Spool::Open({.path = data_dir + "/spool"});
//   std::unique_ptr<eve::EveSink> sink = NewSpoolSink(**spool);   // for sensors
//   sink->Write("{\"timestamp\":...,\"event_type\":\"alert\",...}\n");  // durable on return
//
// Thread safety: every method may be called from any thread. Concurrent
// Append calls are merged by one committer into one write and one fsync
// (group commit), so sequence numbers stay dense and in durability order.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "agent/store/outbox.h"
#include "common/eve/sink.h"
#include "common/status/status.h"
#include "common/util/clock.h"

namespace rampart::agent_store {

struct SpoolOptions {
  std::string path;  // RocksDB directory; created when missing (mode 0700 parent is the caller's job).
  // Unacknowledged events kept at most (approximate, payload bytes). When
  // reached, the oldest telemetry is dropped first, then the oldest alerts.
  // Larger rides out longer outages; it costs disk.
  uint64_t max_bytes = 1ull << 30;
  // Unacknowledged events older than this (by spool time) are dropped. 0 keeps them forever.
  std::chrono::seconds max_age{7 * 24 * 3600};
  // fsync the write-ahead log before Append returns (survives power loss);
  // concurrent appends share one fsync. false survives kill -9 of the agent
  // but not a power cut; it lets a slow disk keep up with a busy sensor.
  bool sync = true;
  const Clock* clock = &SystemClock();
};

// A position in an input (e.g. a byte offset in a followed EVE file), saved
// in the same atomic write as the events read up to it, so a restart
// resumes exactly after the last durable event: nothing lost, nothing twice.
struct Cursor {
  std::string name;   // "evefile:/var/log/suricata/eve.json"
  std::string value;  // Opaque to the spool.
};

class Spool final : public Outbox {
 public:
  // kUnavailable when another agent holds the spool; kDataLoss on corruption.
  static Result<std::unique_ptr<Spool>> Open(const SpoolOptions& options);
  ~Spool() override;
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Appends EVE records (one JSON object each, without newline). Records
  // that are not JSON objects are counted in `rejected` and skipped. When
  // Append returns OK, every accepted record is durable with its sequence
  // number. Returns the sequence of the last accepted record (or the
  // current last sequence when none was accepted). With `cursor`, the cursor
  // is saved in the same write. kUnavailable/kResourceExhausted when the
  // disk refuses (nothing of this call was kept).
  Result<uint64_t> Append(std::span<const std::string_view> records, const Cursor* cursor = nullptr);
  // The last value saved for a cursor; nullopt when never saved.
  Result<std::optional<std::string>> GetCursor(std::string_view name) const;

  // Outbox.
  Result<size_t> Read(Lane lane, uint64_t after, size_t max_events, size_t max_bytes,
                      std::vector<OutboxEntry>* out) override;
  Status Ack(std::span<const SeqRange> ranges) override;
  std::vector<SeqRange> Gone() override;
  bool WaitForAppend(uint64_t after, std::chrono::milliseconds timeout) override;
  Status Renumber(uint64_t next) override;
  OutboxStats Stats() const override;

  // Applies the quota and the age limit now (also done after appends and
  // once a minute by the committer). Returns how many events were dropped.
  Result<uint64_t> EnforceRetention();

 private:
  struct Impl;
  explicit Spool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// An EVE sink that appends to the spool: sensors write EVE lines as they
// would to a file, and each line is durable, with its sequence number,
// before Write returns. Lines are split on '\n' (a last line without one is
// a record too; empty lines are skipped); a line that is not a JSON object
// is counted in `rejected`. The spool must outlive the sink.
std::unique_ptr<eve::EveSink> NewSpoolSink(Spool& spool);

}  // namespace rampart::agent_store
