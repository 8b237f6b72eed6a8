#include "common/rocks/rocks.h"

#include <rocksdb/cache.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "common/log/log.h"
#include "common/status/check.h"

namespace rampart::rocks {
namespace {

// Under ThreadSanitizer, writes to one database are taken one at a time.
// RocksDB's write group lets one writer (the leader) apply the others'
// batches, which they then reuse; Debian's library is not instrumented, so
// TSan cannot see the atomics that order this and reports every reuse. One
// writer at a time is always its own leader: what TSan checks is then only
// the project's code, which is the point of the tsan preset.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RAMPART_SERIAL_WRITES 1
std::mutex g_tsan_write_mu;
#endif
#endif

// Routes RocksDB's own log into ours at warning level and above, instead of
// a LOG file that grows in the data directory unwatched.
class LogBridge final : public rocksdb::Logger {
 public:
  LogBridge() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char buf[1024];
    // The format comes from RocksDB itself, with its own arguments.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    std::vsnprintf(buf, sizeof(buf), format, ap);
#pragma GCC diagnostic pop
    if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL) {
      log::Error("rocksdb", buf);
    } else {
      log::Warn("rocksdb", buf);
    }
  }
  void Logv(const char* format, va_list ap) override { Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap); }
};

rocksdb::ColumnFamilyOptions FamilyOptions(const Options& o, const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = o.write_buffer_bytes;
  cf.compression = rocksdb::kLZ4Compression;
  cf.bottommost_compression = rocksdb::kZSTD;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.block_size = 16 * 1024;
  table.cache_index_and_filter_blocks = true;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
  // Debian's RocksDB is built portable, without the SSE 4.2 CRC32C: block
  // checksums in CRC32C were a few per cent of the controller's CPU under
  // ingest. XXH3 is fast without it; files keep the type they were written with.
  table.checksum = rocksdb::kXXH3;
  switch (o.workload) {
    case Workload::kQueue:
      // Keys only grow and are deleted from the head: FIFO-like level
      // compaction with tombstone-aware compaction keeps scans of the head cheap.
      cf.level_compaction_dynamic_level_bytes = true;
      cf.max_write_buffer_number = 3;
      cf.compression = rocksdb::kNoCompression;  // Payloads are short-lived.
      cf.bottommost_compression = rocksdb::kLZ4Compression;
      break;
    case Workload::kIndexed:
      cf.level_compaction_dynamic_level_bytes = true;
      cf.max_write_buffer_number = 4;
      cf.OptimizeLevelStyleCompaction(o.write_buffer_bytes * 4);
      cf.write_buffer_size = o.write_buffer_bytes;
      // OptimizeLevelStyleCompaction leaves the first levels uncompressed;
      // but flushes of JSON-heavy memtables are mostly the kernel copying
      // bytes into the page cache, and LZ4 makes a third of them for less
      // CPU than the copy it saves (measured: bench/transport_bench).
      for (auto& c : cf.compression_per_level) {
        if (c == rocksdb::kNoCompression) c = rocksdb::kLZ4Compression;
      }
      // Keys of many agents (and of every site, kind and signature) are
      // interleaved, so each level-0 file overlaps the whole bottom level
      // and every compaction rewrites it: eight files per compaction
      // instead of four halve that work. ZSTD level 1 keeps most of the
      // bottom level's space saving for less CPU than the default level 3
      // (measured with bench/transport_bench: see docs/PERFORMANCE.md).
      cf.level0_file_num_compaction_trigger = 8;
      cf.bottommost_compression_opts.level = 1;
      cf.bottommost_compression_opts.enabled = true;
      break;
    case Workload::kSmall:
      cf.max_write_buffer_number = 2;
      break;
  }
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

rocksdb::WriteOptions WriteOptionsFor(Durability d) {
  rocksdb::WriteOptions w;
  w.sync = d == Durability::kSync;
  return w;
}

Result<uint64_t> DoScan(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, std::string_view begin,
                        std::string_view end, bool reverse,
                        const std::function<bool(std::string_view, std::string_view)>& visit, uint64_t limit) {
  rocksdb::ReadOptions ro;
  rocksdb::Slice lower(begin.data(), begin.size());
  rocksdb::Slice upper(end.data(), end.size());
  ro.iterate_lower_bound = &lower;
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf));
  uint64_t n = 0;
  if (reverse) {
    if (end.empty()) it->SeekToLast(); else it->SeekForPrev(upper);
    // SeekForPrev may land on `end` itself; the range is half-open.
    if (it->Valid() && !end.empty() && it->key() == upper) it->Prev();
  } else {
    it->Seek(lower);
  }
  for (; it->Valid() && n < limit; reverse ? it->Prev() : it->Next()) {
    ++n;
    const rocksdb::Slice k = it->key();
    const rocksdb::Slice v = it->value();
    if (!visit(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size()))) break;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scan");
  return n;
}

}  // namespace

Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return Status::Ok();
  std::string msg(context);
  msg += ": ";
  msg += s.ToString();
  switch (s.code()) {
    case rocksdb::Status::kNotFound: return NotFoundError(std::move(msg));
    case rocksdb::Status::kCorruption: return DataLossError(std::move(msg));
    case rocksdb::Status::kNotSupported: return UnimplementedError(std::move(msg));
    case rocksdb::Status::kInvalidArgument: return InvalidArgumentError(std::move(msg));
    case rocksdb::Status::kIOError:
      if (s.subcode() == rocksdb::Status::kNoSpace) return ResourceExhaustedError(std::move(msg));
      if (s.ToString().find("lock") != std::string::npos) {
        return UnavailableError(msg + " (is another process using this database?)");
      }
      return UnavailableError(std::move(msg));
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTryAgain:
    case rocksdb::Status::kTimedOut: return UnavailableError(std::move(msg));
    case rocksdb::Status::kAborted: return AbortedError(std::move(msg));
    default: return InternalError(std::move(msg));
  }
}

Result<std::unique_ptr<Database>> Database::Open(const Options& o) {
  std::error_code ec;
  std::filesystem::create_directories(o.path, ec);
  if (ec) return ErrnoError(ec.value(), "cannot create database directory " + o.path);

  auto cache = rocksdb::NewLRUCache(o.block_cache_bytes);
  rocksdb::DBOptions dbo;
  dbo.create_if_missing = o.create_if_missing;
  dbo.create_missing_column_families = true;
  dbo.max_background_jobs = o.background_jobs;
  dbo.max_total_wal_size = o.max_total_wal_bytes;
  dbo.info_log = std::make_shared<LogBridge>();
  dbo.keep_log_file_num = 2;
  // Recover everything that reached the WAL, tolerating only a torn last
  // record (what a kill -9 mid-write leaves); real corruption still fails.
  dbo.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  dbo.avoid_unnecessary_blocking_io = true;
  // Streaming ZSTD over the write-ahead log: fewer bytes to copy, checksum
  // and fsync per commit, for a little CPU and a compression context.
  if (o.compress_wal) dbo.wal_compression = rocksdb::kZSTD;

  std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName};
  for (const std::string& n : o.column_families) {
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  }
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(dbo, o.path, &existing).ok()) {
    for (const std::string& n : existing) {
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    }
  }
  const rocksdb::ColumnFamilyOptions cfo = FamilyOptions(o, cache);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& n : names) {
    descriptors.emplace_back(n, cfo);
    if (std::find(o.sorted_insert_families.begin(), o.sorted_insert_families.end(), n) !=
        o.sorted_insert_families.end()) {
      // One hint per memtable (an empty prefix): the batch is sorted as a whole.
      descriptors.back().options.memtable_insert_with_hint_prefix_extractor.reset(
          rocksdb::NewFixedPrefixTransform(0));
    }
  }

  std::unique_ptr<Database> db(new Database());
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(dbo, o.path, descriptors, &db->handles_, &raw);
  if (!s.ok()) return FromRocks(s, "cannot open database " + o.path);
  db->db_.reset(raw);
  for (size_t i = 0; i < db->handles_.size() && i < descriptors.size(); ++i) {
    if (descriptors[i].options.memtable_insert_with_hint_prefix_extractor) {
      db->sorted_insert_ids_.push_back(db->handles_[i]->GetID());
    }
  }
  db->names_ = std::move(names);
  db->path_ = o.path;
  return db;
}

Database::~Database() {
  if (!db_) return;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    (void)db_->DestroyColumnFamilyHandle(h);
  }
  (void)db_->Close();
}

rocksdb::ColumnFamilyHandle* Database::Family(std::string_view name) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return handles_[i];
  }
  return nullptr;
}

Status Database::Put(rocksdb::ColumnFamilyHandle* cf, std::string_view key, std::string_view value,
                     Durability durability) {
  RAMPART_CHECK(cf != nullptr) << "unknown column family";
  return FromRocks(db_->Put(WriteOptionsFor(durability), cf, rocksdb::Slice(key.data(), key.size()),
                            rocksdb::Slice(value.data(), value.size())),
                   "put");
}

Status Database::Delete(rocksdb::ColumnFamilyHandle* cf, std::string_view key, Durability durability) {
  RAMPART_CHECK(cf != nullptr) << "unknown column family";
  return FromRocks(db_->Delete(WriteOptionsFor(durability), cf, rocksdb::Slice(key.data(), key.size())),
                   "delete");
}

Result<std::string> Database::Get(rocksdb::ColumnFamilyHandle* cf, std::string_view key) const {
  RAMPART_CHECK(cf != nullptr) << "unknown column family";
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf, rocksdb::Slice(key.data(), key.size()), &value);
  if (!s.ok()) return FromRocks(s, "get");
  return value;
}

Status Database::Write(rocksdb::WriteBatch& batch, Durability durability) {
#if defined(RAMPART_SERIAL_WRITES)
  std::lock_guard lock(g_tsan_write_mu);
#endif
  return FromRocks(db_->Write(WriteOptionsFor(durability), &batch), "write batch");
}

Result<uint64_t> Database::Scan(rocksdb::ColumnFamilyHandle* cf, std::string_view begin, std::string_view end,
                                const std::function<bool(std::string_view, std::string_view)>& visit,
                                uint64_t limit) const {
  RAMPART_CHECK(cf != nullptr) << "unknown column family";
  return DoScan(db_.get(), cf, begin, end, false, visit, limit);
}

Result<uint64_t> Database::ScanReverse(rocksdb::ColumnFamilyHandle* cf, std::string_view begin,
                                       std::string_view end,
                                       const std::function<bool(std::string_view, std::string_view)>& visit,
                                       uint64_t limit) const {
  RAMPART_CHECK(cf != nullptr) << "unknown column family";
  return DoScan(db_.get(), cf, begin, end, true, visit, limit);
}

Status Database::DeleteRange(rocksdb::ColumnFamilyHandle* cf, std::string_view begin, std::string_view end,
                             Durability durability) {
  RAMPART_CHECK(cf != nullptr) << "unknown column family";
  if (std::find(sorted_insert_ids_.begin(), sorted_insert_ids_.end(), cf->GetID()) != sorted_insert_ids_.end()) {
    return FailedPreconditionError("delete range in column family '" + cf->GetName() +
                                   "': it uses memtable insert hints (see rocks::Options::sorted_insert_families)");
  }
  return FromRocks(db_->DeleteRange(WriteOptionsFor(durability), cf, rocksdb::Slice(begin.data(), begin.size()),
                                    rocksdb::Slice(end.data(), end.size())),
                   "delete range");
}

Status Database::SyncWal() { return FromRocks(db_->SyncWAL(), "sync WAL"); }

uint64_t Database::ApproximateSize(rocksdb::ColumnFamilyHandle* cf) const {
  uint64_t size = 0;
  db_->GetIntProperty(cf, "rocksdb.estimate-live-data-size", &size);
  uint64_t mem = 0;
  db_->GetIntProperty(cf, "rocksdb.cur-size-all-mem-tables", &mem);
  return size + mem;
}

void AppendBigEndian64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (56 - 8 * i));
  out->append(b, 8);
}

uint64_t ReadBigEndian64(std::string_view bytes) {
  RAMPART_CHECK(bytes.size() >= 8) << "need 8 bytes, got " << bytes.size();
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[static_cast<size_t>(i)]);
  return v;
}

}  // namespace rampart::rocks
