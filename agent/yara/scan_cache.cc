#include "agent/yara/scan_cache.h"

#include <nlohmann/json.hpp>

#include "common/tls/digest.h"

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

Result<CompileResult> ScanCache::CompileRules(const CompileOptions& options, bool* from_cache) {
  if (from_cache) *from_cache = false;
  RAMPART_ASSIGN_OR_RETURN(const std::vector<std::string> expanded, ExpandRuleSources(options.sources));
  std::string key_text;
  for (const auto& s : options.sources) key_text += s + "\n";
  for (const auto& [k, v] : options.externals) key_text += "-d " + k + "=" + v + "\n";
  key_text += options.fail_on_warnings ? "strict" : "lenient";
  const std::string key = "c" + tls::Sha256Hex(key_text);

  // A stored compile: header JSON, a NUL, then libyara's compiled form.
  if (auto stored = db_->Get(cf_, key); stored) {
    const size_t nul = stored->find('\0');
    nlohmann::json h = nlohmann::json::parse(std::string_view(*stored).substr(0, nul), nullptr, false);
    bool fresh = nul != std::string::npos && h.is_object() && h.value("files", nlohmann::json()) == expanded;
    CompileResult cached;
    if (fresh) {
      try {
        for (const auto& in : h.at("inputs")) {
          InputFile f{in.at(0).get<std::string>(), in.at(1).get<uint64_t>(), in.at(2).get<uint64_t>(),
                      in.at(3).get<uint64_t>(),    in.at(4).get<int64_t>(),  in.at(5).get<int64_t>()};
          auto now = IdentifyInput(f.path);
          if (!now || !(*now == f)) {
            fresh = false;
            break;
          }
          cached.inputs.push_back(std::move(f));
        }
        for (const auto& d : h.at("diagnostics")) {
          Diagnostic diag;
          diag.level = d.at(0).get<int>() == 0 ? Diagnostic::Level::kError : Diagnostic::Level::kWarning;
          diag.file = d.at(1).get<std::string>();
          diag.line = d.at(2).get<int>();
          diag.message = d.at(3).get<std::string>();
          diag.text = d.at(4).get<std::string>();
          cached.diagnostics.push_back(std::move(diag));
        }
        cached.loaded_files = h.at("loaded").get<std::vector<std::string>>();
        cached.rejected_files = h.at("rejected").get<std::vector<std::string>>();
      } catch (const nlohmann::json::exception&) {
        fresh = false;
      }
    }
    if (fresh) {
      auto rules = LoadCompiledRules(std::string_view(*stored).substr(nul + 1), h.value("version", ""),
                                     options.externals);
      if (rules) {
        cached.rules = std::move(*rules);
        if (from_cache) *from_cache = true;
        return cached;
      }
    }
  }
  RAMPART_ASSIGN_OR_RETURN(CompileResult result, ::rampart::yara::CompileRules(options));
  auto bytes = SaveCompiledRules(*result.rules);
  if (bytes) {
    nlohmann::json h;
    h["files"] = expanded;
    h["version"] = result.rules->version();
    h["inputs"] = nlohmann::json::array();
    for (const auto& f : result.inputs) {
      h["inputs"].push_back({f.path, f.device, f.inode, f.size, f.mtime_nanos, f.ctime_nanos});
    }
    h["diagnostics"] = nlohmann::json::array();
    for (const auto& d : result.diagnostics) {
      h["diagnostics"].push_back({d.level == Diagnostic::Level::kError ? 0 : 1, d.file, d.line, d.message, d.text});
    }
    h["loaded"] = result.loaded_files;
    h["rejected"] = result.rejected_files;
    std::string value = h.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    value.push_back('\0');
    value += *bytes;
    (void)db_->Put(cf_, key, value);  // A failed store costs a compile next time.
  }
  return result;
}

}  // namespace rampart::yara
