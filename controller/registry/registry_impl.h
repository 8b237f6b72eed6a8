#pragma once
// Internal to controller/registry: the class behind Registry, and the
// record encodings its .cc files share (records.cc, link_history.cc).

#include <map>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "common/rocks/rocks.h"
#include "common/util/mutex.h"
#include "controller/registry/registry.h"

namespace rampart::registry::detail {

inline constexpr int64_t kSecond = 1'000'000'000;

// Fixed-width big-endian integers in keys and "dict" values; times with the
// sign bit flipped, so negative times sort first.
inline void AppendU32(std::string* out, uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                     static_cast<char>(v)};
  out->append(b, 4);
}
inline uint32_t ReadU32(std::string_view b) {
  return (uint32_t{static_cast<uint8_t>(b[0])} << 24) | (uint32_t{static_cast<uint8_t>(b[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(b[2])} << 8) | uint32_t{static_cast<uint8_t>(b[3])};
}
inline void AppendTime(std::string* out, int64_t ts) {
  rocks::AppendBigEndian64(out, static_cast<uint64_t>(ts) ^ 0x8000000000000000ull);
}
inline int64_t ReadTime(std::string_view b) {
  return static_cast<int64_t>(rocks::ReadBigEndian64(b) ^ 0x8000000000000000ull);
}

// The JSON records of "agents", "sites" and "tokens".
std::string AgentRecord(const Agent& agent);
// nullopt when unreadable (not a JSON object).
std::optional<Agent> AgentFromRecord(std::string_view json);
std::string SiteRecord(const Site& site);
std::optional<Site> SiteFromRecord(std::string_view json);
std::string TokenRecord(const Token& token);
std::optional<Token> TokenFromRecord(std::string_view json);

// Link history tiers in "links": tag(1) site(4) start(8), a fixed 49-byte
// value (EncodeSample). Raw 10 s points, 5 min and 1 h buckets.
struct Tier {
  char tag;
  int64_t bucket;
  int64_t keep;
};
inline constexpr Tier kTiers[] = {{'0', 10 * kSecond, 2 * 86400 * kSecond},
                                  {'1', 300 * kSecond, 30 * 86400 * kSecond},
                                  {'2', 3600 * kSecond, 400 * 86400 * kSecond}};
std::string LinkKey(char tier, uint32_t site, int64_t start);
std::string EncodeSample(const LinkSample& s);
std::optional<LinkSample> DecodeSample(int64_t start, std::string_view bytes);

struct AgentEntry {
  Agent agent;
  uint32_t num = 0;
  uint32_t site_num = 0;
  int64_t last_seen_persisted = 0;
  bool dirty = false;  // Connection state or health changed in memory, not yet persisted.
};

struct SiteEntry {
  Site site;
  uint32_t num = 0;
};

class RegistryImpl final : public Registry {
 public:
  RegistryImpl(rocks::Database& db, const Options& options) : options_(options), db_(db) {}
  ~RegistryImpl() override;
  Status Init();

  Status CreateSite(const Site& site) override EXCLUDES(meta_mu_);
  Result<std::vector<Site>> ListSites() const override EXCLUDES(meta_mu_);
  Result<Site> GetSite(std::string_view site_id) const override EXCLUDES(meta_mu_);

  Status PutToken(const Token& token) override EXCLUDES(meta_mu_, token_mu_);
  Result<Token> ConsumeToken(std::string_view sha256, std::string_view agent_id) override EXCLUDES(token_mu_);
  Result<std::vector<Token>> ListTokens() const override;

  Status PutAgentIdentity(const Agent& agent) override EXCLUDES(meta_mu_);
  Result<std::vector<Agent>> ListAgents(std::string_view site) const override EXCLUDES(meta_mu_);
  Result<Agent> GetAgent(std::string_view agent_id) const override EXCLUDES(meta_mu_);
  Status UpdateAgentHealth(std::string_view agent_id, const AgentHealth& health, std::string_view version) override
      EXCLUDES(meta_mu_);
  Status UpdateAgentConnection(std::string_view agent_id, bool connected, std::string_view address, int64_t at,
                               bool goodbye) override EXCLUDES(meta_mu_);
  void TouchAgent(std::string_view agent_id, int64_t at) override EXCLUDES(meta_mu_);

  Status SetSiteLink(std::string_view site_id, const SiteLink& link) override EXCLUDES(meta_mu_);
  Status SetAgentState(std::string_view agent_id, AgentState state, int64_t since) override EXCLUDES(meta_mu_);
  Status AppendLinkSample(std::string_view site_id, const LinkSample& sample) override EXCLUDES(meta_mu_);
  Result<std::vector<LinkSample>> LinkHistory(std::string_view site_id, int64_t from, int64_t to,
                                              size_t max_points) const override EXCLUDES(meta_mu_);

  std::optional<Source> FindSource(std::string_view id) const override EXCLUDES(meta_mu_);
  Result<uint32_t> NumberSource(std::string_view id) override EXCLUDES(meta_mu_);
  uint32_t SiteNumber(std::string_view site_id) const override EXCLUDES(meta_mu_);
  std::vector<uint32_t> SiteNumbers() const override EXCLUDES(meta_mu_);
  Names NamesOf(uint32_t agent_number, uint32_t site_number) const override EXCLUDES(meta_mu_);

 private:
  Status LoadDictionaries() EXCLUDES(meta_mu_);
  // Give a name its number (once; "dict" a/NAME and s/NAME).
  Result<uint32_t> SiteNumberLocked(const std::string& site) REQUIRES(meta_mu_);
  Result<uint32_t> AgentNumberLocked(const std::string& agent) REQUIRES(meta_mu_);
  Status PersistAgentLocked(const AgentEntry& e, rocks::Durability d) REQUIRES_SHARED(meta_mu_);
  Site SiteViewLocked(const SiteEntry& e) const REQUIRES_SHARED(meta_mu_);
  std::optional<uint32_t> FindSiteNumber(std::string_view site_id) const EXCLUDES(meta_mu_);

  void MaintenanceLoop() EXCLUDES(maintenance_mu_);
  // Sleeps until the next pass is due (30 s); false when the registry closes.
  bool WaitForNextPass() EXCLUDES(maintenance_mu_);
  // Writes the agent records changed in memory since the last pass, in one
  // write made outside meta_mu_ (it may wait behind a group commit).
  void PersistDirtyAgents() EXCLUDES(meta_mu_);
  Status ExpireLinkHistory() EXCLUDES(meta_mu_);

  const Options options_;
  rocks::Database& db_;
  rocksdb::ColumnFamilyHandle* dict_ = nullptr;
  rocksdb::ColumnFamilyHandle* agents_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* sites_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* tokens_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* links_cf_ = nullptr;

  // Agents, sites and their numbers.
  mutable SharedMutex meta_mu_;
  std::map<std::string, AgentEntry, std::less<>> agents_ GUARDED_BY(meta_mu_);
  std::map<std::string, SiteEntry, std::less<>> sites_ GUARDED_BY(meta_mu_);
  std::unordered_map<uint32_t, std::string> agent_by_num_ GUARDED_BY(meta_mu_);
  std::unordered_map<uint32_t, std::string> site_by_num_ GUARDED_BY(meta_mu_);
  // Includes sources that are not enrolled agents ("controller").
  std::map<std::string, uint32_t, std::less<>> agent_nums_ GUARDED_BY(meta_mu_);
  std::map<std::string, uint32_t, std::less<>> site_nums_ GUARDED_BY(meta_mu_);
  uint32_t next_agent_num_ GUARDED_BY(meta_mu_) = 1;
  uint32_t next_site_num_ GUARDED_BY(meta_mu_) = 1;

  // Serialises the tokens' read-check-write (ConsumeToken), which is of
  // records in "tokens", not of members.
  Mutex token_mu_;

  std::thread maintenance_;
  Mutex maintenance_mu_;
  CondVar maintenance_cv_;
  bool maintenance_stop_ GUARDED_BY(maintenance_mu_) = false;
};

}  // namespace rampart::registry::detail
