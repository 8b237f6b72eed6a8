#pragma once
// Suricata's datasets and datarep: named sets of values (strings, MD5 or
// SHA-256 digests, IPv4 or IP addresses) that rules test a buffer against
// (`dataset:isset,NAME`, `isnotset`) or change (`set`, `unset`), and
// reputation maps (`datarep:NAME, >, 200`) from a value to a number.
//
// Values are the buffer's bytes as the rule sees them after its
// transforms: a string as it is, a digest as 16 or 32 raw bytes
// (`to_md5`, `to_sha256`), an address as 4 (IPv4) or 16 bytes.
//
// Files use Suricata's formats, one value per line (empty lines and lines
// starting with '#' are skipped): strings base64-encoded, digests in hex,
// addresses as text; a reputation file adds ",NUMBER" to each value.
//
// Threads: a registry is filled while rules load (one thread); the sets it
// hands out are then shared by every worker and change at run time
// (`set`, `unset`), so each set locks its own table for every operation.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status/status.h"
#include "common/util/mutex.h"

namespace rampart::detect {

enum class DatasetType : uint8_t { kString, kMd5, kSha256, kIpv4, kIp };
// "string", "md5", "sha256", "ipv4", "ip"; nullopt for other names.
std::optional<DatasetType> ParseDatasetType(std::string_view name);
std::string_view DatasetTypeName(DatasetType t);

class Dataset {
 public:
  Dataset(std::string name, DatasetType type) : name_(std::move(name)), type_(type) {}
  // Writes the set to its save path, if it has one (Suricata saves sets at
  // shutdown; here the last rule using the set goes with the engine).
  ~Dataset();
  Dataset(const Dataset&) = delete;
  Dataset& operator=(const Dataset&) = delete;

  const std::string& name() const { return name_; }
  DatasetType type() const { return type_; }

  // A value of the wrong size for the type (a 5-byte "ipv4") is never in
  // the set and is not added.
  bool Contains(std::span<const uint8_t> value) const EXCLUDES(mu_);
  // True when the value was not in the set before (Suricata's `set` matches then).
  bool Add(std::span<const uint8_t> value, uint32_t rep = 0) EXCLUDES(mu_);
  // True when the value was in the set.
  bool Remove(std::span<const uint8_t> value) EXCLUDES(mu_);
  // The reputation of a value, nullopt when it is not in the set.
  std::optional<uint32_t> Rep(std::span<const uint8_t> value) const EXCLUDES(mu_);
  size_t size() const EXCLUDES(mu_);

  // Adds the values of a file (see the format above); `with_rep` reads the
  // ",NUMBER" of a reputation file. A line that is not a value of the type
  // fails the load with "PATH:LINE: ...".
  Status Load(const std::string& path, bool with_rep) EXCLUDES(mu_);
  // Writes the set in the same format (for `save` and `state`).
  Status Save(const std::string& path) const EXCLUDES(mu_);
  void set_save_path(std::string path) { save_path_ = std::move(path); }

 private:
  // The set's key for a value; false when the value does not fit the type.
  bool Key(std::span<const uint8_t> value, std::string* key) const;
  // Parses one line's value text into its key.
  bool ParseValue(std::string_view text, std::string* key) const;
  std::string Encode(std::string_view key) const;

  const std::string name_;
  const DatasetType type_;
  std::string save_path_;
  mutable Mutex mu_;
  std::unordered_map<std::string, uint32_t> values_ GUARDED_BY(mu_);
};

// The datasets of one rule set, by name. A name used again must use the same
// type; its files are loaded once, by the first rule that names them.
class DatasetRegistry {
 public:
  // `files_allowed`: whether `load`, `save` and `state` may touch files
  // (rules loaded from text without a folder, or a fuzzer, may not).
  explicit DatasetRegistry(bool files_allowed = true) : files_allowed_(files_allowed) {}
  DatasetRegistry(const DatasetRegistry&) = delete;
  DatasetRegistry& operator=(const DatasetRegistry&) = delete;

  bool files_allowed() const { return files_allowed_; }
  void set_files_allowed(bool allowed) { files_allowed_ = allowed; }

  struct Spec {
    std::string name;
    DatasetType type = DatasetType::kString;
    bool rep = false;        // datarep
    std::string load;        // Paths already resolved against the rule file's folder; empty: none.
    std::string save;
    std::string state;       // Loaded when present, saved at the end.
  };
  // The set for a rule: created (and its files loaded) on first use.
  // kNotFound names a `load` file that does not exist; kInvalidArgument a
  // type conflict or a bad file.
  Result<std::shared_ptr<Dataset>> Get(const Spec& spec);

 private:
  bool files_allowed_;
  std::map<std::string, std::shared_ptr<Dataset>> sets_;
};

}  // namespace rampart::detect
