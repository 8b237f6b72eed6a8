#include "agent/yara/scan_cache.h"

#include <nlohmann/json.hpp>

namespace rampart::yara {
namespace {

// Keys: "f" + path for file records, "v" for the rules version.
constexpr std::string_view kVersionKey = "v";
constexpr size_t kHeaderSize = 5 * 8 + 1;

std::string FileKey(const std::string& path) { return "f" + path; }

}  // namespace

std::string EncodeMatches(const std::vector<RuleMatch>& matches) {
  nlohmann::json arr = nlohmann::json::array();
  for (const RuleMatch& m : matches) {
    nlohmann::json j;
    j["r"] = m.rule;
    j["n"] = m.ns;
    if (!m.tags.empty()) j["t"] = m.tags;
    if (!m.meta.empty()) {
      nlohmann::json meta = nlohmann::json::array();
      for (const MetaValue& v : m.meta) {
        meta.push_back({v.key, static_cast<int>(v.type), v.string_value, v.integer_value});
      }
      j["m"] = std::move(meta);
    }
    if (!m.strings.empty()) {
      nlohmann::json strings = nlohmann::json::array();
      for (const StringMatch& s : m.strings) strings.push_back({s.identifier, s.offset, s.length});
      j["s"] = std::move(strings);
    }
    arr.push_back(std::move(j));
  }
  // Rule text may hold any bytes; replace what is not UTF-8 rather than throw.
  return arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<std::vector<RuleMatch>> DecodeMatches(std::string_view json) {
  nlohmann::json arr = nlohmann::json::parse(json, nullptr, false);
  if (arr.is_discarded() || !arr.is_array()) return std::nullopt;
  std::vector<RuleMatch> out;
  try {
    for (const auto& j : arr) {
      RuleMatch m;
      m.rule = j.at("r").get<std::string>();
      m.ns = j.at("n").get<std::string>();
      if (j.contains("t")) m.tags = j["t"].get<std::vector<std::string>>();
      if (j.contains("m")) {
        for (const auto& v : j["m"]) {
          MetaValue mv;
          mv.key = v.at(0).get<std::string>();
          mv.type = static_cast<MetaValue::Type>(v.at(1).get<int>());
          mv.string_value = v.at(2).get<std::string>();
          mv.integer_value = v.at(3).get<int64_t>();
          m.meta.push_back(std::move(mv));
        }
      }
      if (j.contains("s")) {
        for (const auto& s : j["s"]) {
          m.strings.push_back({s.at(0).get<std::string>(), s.at(1).get<uint64_t>(), s.at(2).get<uint32_t>()});
        }
      }
      out.push_back(std::move(m));
    }
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // A damaged record is a cache miss.
  }
  return out;
}

Result<std::unique_ptr<ScanCache>> ScanCache::Open(const std::string& dir) {
  rocks::Options options;
  options.path = dir;
  options.column_families = {std::string(kFamily)};
  options.workload = rocks::Workload::kSmall;
  options.block_cache_bytes = 8ull << 20;
  options.write_buffer_bytes = 8ull << 20;
  RAMPART_ASSIGN_OR_RETURN(auto db, rocks::Database::Open(options));
  std::unique_ptr<ScanCache> cache(new ScanCache());
  cache->owned_ = std::move(db);
  cache->db_ = cache->owned_.get();
  cache->cf_ = cache->db_->Family(kFamily);
  if (cache->cf_ == nullptr) return InternalError("scan cache: column family missing after open");
  return cache;
}

Result<std::unique_ptr<ScanCache>> ScanCache::Attach(rocks::Database* db) {
  std::unique_ptr<ScanCache> cache(new ScanCache());
  cache->db_ = db;
  cache->cf_ = db->Family(kFamily);
  if (cache->cf_ == nullptr) {
    return FailedPreconditionError("scan cache: database " + db->path() + " was opened without family " +
                                   std::string(kFamily));
  }
  return cache;
}

Status ScanCache::UseRulesVersion(const std::string& version) {
  version_ = version;
  auto stored = db_->Get(cf_, kVersionKey);
  if (stored && *stored == version) return Status::Ok();
  if (!stored && stored.error().code() != StatusCode::kNotFound) return stored.error();
  // Every record is stale: drop them in one range tombstone ("f" .. "g").
  RAMPART_RETURN_IF_ERROR(db_->DeleteRange(cf_, "f", "g"));
  return db_->Put(cf_, kVersionKey, version);
}

std::optional<std::vector<RuleMatch>> ScanCache::Lookup(const std::string& path, const FileIdentity& id,
                                                        bool need_strings) const {
  auto value = db_->Get(cf_, FileKey(path));
  if (!value || value->size() < kHeaderSize + version_.size()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  std::string_view v(*value);
  FileIdentity stored;
  stored.device = rocks::ReadBigEndian64(v.substr(0, 8));
  stored.inode = rocks::ReadBigEndian64(v.substr(8, 8));
  stored.size = rocks::ReadBigEndian64(v.substr(16, 8));
  stored.mtime_nanos = static_cast<int64_t>(rocks::ReadBigEndian64(v.substr(24, 8)));
  stored.ctime_nanos = static_cast<int64_t>(rocks::ReadBigEndian64(v.substr(32, 8)));
  const bool has_strings = v[40] != 0;
  const std::string_view version = v.substr(kHeaderSize, version_.size());
  if (!(stored == id) || version != version_ || (need_strings && !has_strings)) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  auto matches = DecodeMatches(v.substr(kHeaderSize + version_.size()));
  if (!matches) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  hits_.fetch_add(1, std::memory_order_relaxed);
  return matches;
}

Status ScanCache::Store(const std::string& path, const FileIdentity& id, const std::vector<RuleMatch>& matches,
                        bool has_strings) {
  std::string value;
  value.reserve(kHeaderSize + version_.size() + 2);
  rocks::AppendBigEndian64(&value, id.device);
  rocks::AppendBigEndian64(&value, id.inode);
  rocks::AppendBigEndian64(&value, id.size);
  rocks::AppendBigEndian64(&value, static_cast<uint64_t>(id.mtime_nanos));
  rocks::AppendBigEndian64(&value, static_cast<uint64_t>(id.ctime_nanos));
  value.push_back(has_strings ? 1 : 0);
  value += version_;
  value += EncodeMatches(matches);
  return db_->Put(cf_, FileKey(path), value);
}

Status ScanCache::Forget(const std::string& path) { return db_->Delete(cf_, FileKey(path)); }

}  // namespace rampart::yara
