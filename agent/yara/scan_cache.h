#pragma once
// The scan cache: one RocksDB record per scanned file, keyed by path, holding
// the file's identity (device, inode, size, mtime, ctime), the version of the
// rules it was scanned with and what they matched. A file whose identity and
// rules version are unchanged is not scanned again; its stored matches are
// reported instead. ctime cannot be set from user space, so touching a file
// back to its old mtime still invalidates its record.
//
// Thread-safe (RocksDB is); scanning threads share one cache.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/yara/rules.h"
#include "agent/yara/scanner.h"
#include "common/rocks/rocks.h"
#include "common/status/status.h"

namespace rampart::yara {

struct FileIdentity {
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_nanos = 0;
  int64_t ctime_nanos = 0;
  friend bool operator==(const FileIdentity&, const FileIdentity&) = default;
};

class ScanCache {
 public:
  static constexpr std::string_view kFamily = "yara_scan_cache";

  // Opens (creates) a cache database in `dir`. kUnavailable when another
  // process (a running agent) holds it.
  static Result<std::unique_ptr<ScanCache>> Open(const std::string& dir);
  // Uses family kFamily of a database the caller keeps open (and lists
  // kFamily in its column families).
  static Result<std::unique_ptr<ScanCache>> Attach(rocks::Database* db);

  // Declares the rules version of the coming scans. Records made with another
  // version are dropped at once (a rule update invalidates the cache); they
  // would be ignored anyway. Call before scanning.
  Status UseRulesVersion(const std::string& version);

  // The stored matches when the record matches `id` and the current rules
  // version (and holds string offsets when `need_strings`); nullopt otherwise.
  std::optional<std::vector<RuleMatch>> Lookup(const std::string& path, const FileIdentity& id,
                                               bool need_strings) const;
  Status Store(const std::string& path, const FileIdentity& id, const std::vector<RuleMatch>& matches,
               bool has_strings);
  // Deletes the record of a file that no longer exists.
  Status Forget(const std::string& path);

  // Compiled rules, cached too: when the sources expand to the same files
  // and no file the compiler read (rule files, included files) changed
  // identity, the stored compiled form is loaded instead of compiling again
  // (with the diagnostics of the compile that made it). Otherwise compiles
  // and stores. `from_cache` (optional) says which happened.
  Result<CompileResult> CompileRules(const CompileOptions& options, bool* from_cache = nullptr);

  uint64_t hits() const { return hits_.load(); }
  uint64_t misses() const { return misses_.load(); }

 private:
  ScanCache() = default;
  std::unique_ptr<rocks::Database> owned_;
  rocks::Database* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* cf_ = nullptr;
  std::string version_;
  mutable std::atomic<uint64_t> hits_{0};
  mutable std::atomic<uint64_t> misses_{0};
};

// The matches as compact JSON and back (also used by the EVE writer's tests).
std::string EncodeMatches(const std::vector<RuleMatch>& matches);
std::optional<std::vector<RuleMatch>> DecodeMatches(std::string_view json);

}  // namespace rampart::yara
