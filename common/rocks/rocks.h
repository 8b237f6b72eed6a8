#pragma once
// RocksDB helpers: open a database with named column families and options
// tuned for Rampart's workloads, write batches with an explicit durability
// choice, iterate ranges, and turn rocksdb::Status into Status.
//
// A Database is safe for concurrent use by many threads (as rocksdb::DB is).
// Column family handles stay valid until the Database is destroyed.

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status/status.h"

namespace rampart::rocks {

// What the database mostly does; picks compaction and cache settings.
enum class Workload {
  kQueue,     // Append at the tail, delete from the head (agent spool, outboxes).
  kIndexed,   // Write once, read by range scans (controller event store and indexes).
  kSmall,     // Small key/value state (users, sessions, baselines).
};

struct Options {
  std::string path;                          // Directory; created when missing.
  std::vector<std::string> column_families;  // "default" is always opened as well.
  Workload workload = Workload::kIndexed;
  // Block cache shared by all column families. Larger speeds reads, costs RSS.
  uint64_t block_cache_bytes = 32ull << 20;
  // Memtable size per column family; larger means fewer, bigger flushes.
  uint64_t write_buffer_bytes = 16ull << 20;
  // Background flush/compaction threads.
  int background_jobs = 2;
  // Disk-usage cap for write-ahead logs before memtables are forced to flush.
  uint64_t max_total_wal_bytes = 256ull << 20;
  bool create_if_missing = true;
  // Compress the write-ahead log (ZSTD, streaming). Pays off where writes
  // are large and steady (the controller's store); it costs a compression
  // context (about a megabyte), so small databases leave it off.
  bool compress_wal = false;
  // Families whose write batches come sorted by key but land between keys
  // already there (many agents' interleaved keys): each memtable insert
  // starts from the previous one's position (RocksDB's insert hint) instead
  // of the skiplist's head. DeleteRange is refused on them: RocksDB 7.8
  // keeps one hint per memtable for both its point and range-tombstone
  // skiplists, and a hint from one corrupts the other.
  std::vector<std::string> sorted_insert_families;
};

// How durable a write must be before the call returns.
enum class Durability {
  // fsync the write-ahead log: survives power loss. Concurrent writers are
  // group-committed by RocksDB, so many small synced writes share one fsync.
  kSync,
  // In the OS page cache: survives a crash of the process (kill -9) but not
  // of the machine.
  kProcessCrashSafe,
};

class Database {
 public:
  // Opens or creates the database with every listed column family
  // (existing families not listed are opened too, so nothing is orphaned).
  // kUnavailable when another process holds the lock; kDataLoss on corruption.
  static Result<std::unique_ptr<Database>> Open(const Options& options);

  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // The handle of a family; nullptr when the name was not opened.
  rocksdb::ColumnFamilyHandle* Family(std::string_view name) const;
  rocksdb::DB* raw() const { return db_.get(); }
  const std::string& path() const { return path_; }

  Status Put(rocksdb::ColumnFamilyHandle* cf, std::string_view key, std::string_view value,
             Durability durability = Durability::kProcessCrashSafe);
  Status Delete(rocksdb::ColumnFamilyHandle* cf, std::string_view key,
                Durability durability = Durability::kProcessCrashSafe);
  // kNotFound when the key is absent.
  Result<std::string> Get(rocksdb::ColumnFamilyHandle* cf, std::string_view key) const;
  // Applies every operation of the batch atomically.
  Status Write(rocksdb::WriteBatch& batch, Durability durability = Durability::kProcessCrashSafe);

  // Calls `visit(key, value)` for keys in [begin, end) in order ("" end =
  // to the last key) until it returns false or `limit` keys were seen.
  // Returns how many were visited.
  Result<uint64_t> Scan(rocksdb::ColumnFamilyHandle* cf, std::string_view begin, std::string_view end,
                        const std::function<bool(std::string_view key, std::string_view value)>& visit,
                        uint64_t limit = UINT64_MAX) const;
  // The same, from the last key before `end` backwards down to `begin`.
  Result<uint64_t> ScanReverse(rocksdb::ColumnFamilyHandle* cf, std::string_view begin, std::string_view end,
                               const std::function<bool(std::string_view key, std::string_view value)>& visit,
                               uint64_t limit = UINT64_MAX) const;

  // Deletes [begin, end) in one range tombstone (cheap for queues).
  Status DeleteRange(rocksdb::ColumnFamilyHandle* cf, std::string_view begin, std::string_view end,
                     Durability durability = Durability::kProcessCrashSafe);

  // Forces the WAL to disk (after kProcessCrashSafe writes, before an ack).
  Status SyncWal();
  // Approximate live data size of a family, in bytes.
  uint64_t ApproximateSize(rocksdb::ColumnFamilyHandle* cf) const;

 private:
  Database() = default;
  std::string path_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::vector<std::string> names_;
  std::vector<uint32_t> sorted_insert_ids_;  // Column family ids; see Options.
};

// RocksDB's status as ours, with `context` in front of the message.
Status FromRocks(const rocksdb::Status& status, std::string_view context);

// Big-endian fixed-width integers, so byte order is numeric order in keys.
void AppendBigEndian64(std::string* out, uint64_t value);
uint64_t ReadBigEndian64(std::string_view bytes);  // Needs at least 8 bytes.

}  // namespace rampart::rocks
