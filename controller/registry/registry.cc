// controller/registry: opening, numbers, sites, tokens, agents and the
// maintenance pass. Link history is in link_history.cc, the records'
// encodings in records.cc.

#include "controller/registry/registry.h"

#include <pthread.h>

#include <algorithm>

#include "common/log/log.h"
#include "controller/registry/registry_impl.h"

namespace rampart::registry {
namespace {

constexpr std::string_view kLinkStateNames[] = {"unknown", "up", "degraded", "down"};
constexpr std::string_view kAgentStateNames[] = {"unknown", "up", "down", "unreachable", "stopped", "revoked"};
constexpr std::string_view kControllerSource = "controller";

}  // namespace

std::string_view LinkStateName(LinkState s) {
  const auto i = static_cast<size_t>(s);
  return i < std::size(kLinkStateNames) ? kLinkStateNames[i] : "unknown";
}

std::string_view AgentStateName(AgentState s) {
  const auto i = static_cast<size_t>(s);
  return i < std::size(kAgentStateNames) ? kAgentStateNames[i] : "unknown";
}

bool ValidSiteId(std::string_view id) {
  if (id.empty() || id.size() > 63 || id[0] == '-') return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

Result<std::unique_ptr<Registry>> Registry::Open(rocks::Database& db, const Options& options) {
  auto registry = std::make_unique<detail::RegistryImpl>(db, options);
  RAMPART_RETURN_IF_ERROR(registry->Init());
  return std::unique_ptr<Registry>(std::move(registry));
}

namespace detail {

// --- Open and close -----------------------------------------------------------

RegistryImpl::~RegistryImpl() {
  {
    MutexLock lock(&maintenance_mu_);
    maintenance_stop_ = true;
  }
  maintenance_cv_.SignalAll();
  if (maintenance_.joinable()) maintenance_.join();
  // Last-seen times gathered from probes, connection state and health.
  WriterLock lock(&meta_mu_);
  for (auto& [id, e] : agents_) {
    if (e.agent.last_seen_unix_nanos != e.last_seen_persisted || e.dirty) {
      (void)PersistAgentLocked(e, rocks::Durability::kProcessCrashSafe);
    }
  }
}

Status RegistryImpl::Init() {
  rocksdb::ColumnFamilyHandle** handles[] = {&dict_, &agents_cf_, &sites_cf_, &tokens_cf_, &links_cf_};
  for (size_t i = 0; i < kColumnFamilies.size(); ++i) {
    *handles[i] = db_.Family(kColumnFamilies[i]);
    if (*handles[i] == nullptr) {
      return DataLossError("the database has no column family '" + std::string(kColumnFamilies[i]) + "'");
    }
  }
  RAMPART_RETURN_IF_ERROR(LoadDictionaries());
  maintenance_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "registry-maint");
    MaintenanceLoop();
  });
  return Status::Ok();
}

Status RegistryImpl::LoadDictionaries() {
  // Read first, then fill the maps under the lock (the scans' callbacks
  // cannot be seen to run with it held).
  std::vector<std::pair<std::string, uint32_t>> agent_nums, site_nums;
  auto d = db_.Scan(dict_, "", "", [&](std::string_view key, std::string_view value) {
    if (value.size() != 4 || key.size() < 3) return true;
    if (key.substr(0, 2) == "a/") agent_nums.emplace_back(key.substr(2), ReadU32(value));
    if (key.substr(0, 2) == "s/") site_nums.emplace_back(key.substr(2), ReadU32(value));
    return true;
  });
  if (!d.has_value()) return d.error();
  std::vector<Site> sites;
  auto s = db_.Scan(sites_cf_, "", "", [&](std::string_view key, std::string_view value) {
    std::optional<Site> site = SiteFromRecord(value);
    if (site) {
      sites.push_back(std::move(*site));
    } else {
      log::Warn("registry", "unreadable site record skipped", {{"site", std::string(key)}});
    }
    return true;
  });
  if (!s.has_value()) return s.error();
  std::vector<Agent> agents;
  auto a = db_.Scan(agents_cf_, "", "", [&](std::string_view key, std::string_view value) {
    std::optional<Agent> agent = AgentFromRecord(value);
    if (agent) {
      agents.push_back(std::move(*agent));
    } else {
      log::Warn("registry", "unreadable agent record skipped", {{"agent", std::string(key)}});
    }
    return true;
  });
  if (!a.has_value()) return a.error();

  WriterLock lock(&meta_mu_);
  for (auto& [name, num] : agent_nums) {
    agent_nums_[name] = num;
    agent_by_num_[num] = name;
    next_agent_num_ = std::max(next_agent_num_, num + 1);
  }
  for (auto& [name, num] : site_nums) {
    site_nums_[name] = num;
    site_by_num_[num] = name;
    next_site_num_ = std::max(next_site_num_, num + 1);
  }
  for (Site& site : sites) {
    SiteEntry e;
    e.site = std::move(site);
    auto it = site_nums_.find(e.site.id);
    e.num = it == site_nums_.end() ? 0 : it->second;
    sites_[e.site.id] = std::move(e);
  }
  for (Agent& agent : agents) {
    AgentEntry e;
    e.agent = std::move(agent);
    auto it = agent_nums_.find(e.agent.id);
    e.num = it == agent_nums_.end() ? 0 : it->second;
    auto st = site_nums_.find(e.agent.site);
    e.site_num = st == site_nums_.end() ? 0 : st->second;
    e.last_seen_persisted = e.agent.last_seen_unix_nanos;
    // Nothing is connected right after a start.
    e.agent.connected = false;
    agents_[e.agent.id] = std::move(e);
  }
  log::Info("registry", "loaded", {{"agents", agents_.size()}, {"sites", sites_.size()}});
  return Status::Ok();
}

// --- Numbers ------------------------------------------------------------------

Result<uint32_t> RegistryImpl::SiteNumberLocked(const std::string& site) {
  if (site.empty()) return uint32_t{0};
  auto it = site_nums_.find(site);
  if (it != site_nums_.end()) return it->second;
  const uint32_t num = next_site_num_++;
  std::string v;
  AppendU32(&v, num);
  RAMPART_RETURN_IF_ERROR(db_.Put(dict_, "s/" + site, v, rocks::Durability::kSync));
  site_nums_[site] = num;
  site_by_num_[num] = site;
  return num;
}

Result<uint32_t> RegistryImpl::AgentNumberLocked(const std::string& agent) {
  auto it = agent_nums_.find(agent);
  if (it != agent_nums_.end()) return it->second;
  const uint32_t num = next_agent_num_++;
  std::string v;
  AppendU32(&v, num);
  RAMPART_RETURN_IF_ERROR(db_.Put(dict_, "a/" + agent, v, rocks::Durability::kSync));
  agent_nums_[agent] = num;
  agent_by_num_[num] = agent;
  return num;
}

std::optional<Registry::Source> RegistryImpl::FindSource(std::string_view id) const {
  ReaderLock lock(&meta_mu_);
  auto a = agents_.find(id);
  if (a != agents_.end()) {
    return Source{a->second.num, true, a->second.site_num, a->second.agent.site, a->second.agent.name};
  }
  auto n = agent_nums_.find(id);
  if (n == agent_nums_.end()) return std::nullopt;
  return Source{n->second, false, 0, {}, {}};
}

Result<uint32_t> RegistryImpl::NumberSource(std::string_view id) {
  WriterLock lock(&meta_mu_);
  return AgentNumberLocked(std::string(id));
}

std::optional<uint32_t> RegistryImpl::FindSiteNumber(std::string_view site_id) const {
  ReaderLock lock(&meta_mu_);
  auto it = site_nums_.find(site_id);
  if (it == site_nums_.end()) return std::nullopt;
  return it->second;
}

uint32_t RegistryImpl::SiteNumber(std::string_view site_id) const { return FindSiteNumber(site_id).value_or(0); }

std::vector<uint32_t> RegistryImpl::SiteNumbers() const {
  ReaderLock lock(&meta_mu_);
  std::vector<uint32_t> out;
  out.reserve(site_by_num_.size());
  for (const auto& [num, id] : site_by_num_) out.push_back(num);
  return out;
}

Registry::Names RegistryImpl::NamesOf(uint32_t agent_number, uint32_t site_number) const {
  Names out;
  ReaderLock lock(&meta_mu_);
  auto a = agent_by_num_.find(agent_number);
  if (a != agent_by_num_.end()) {
    out.agent_id = a->second;
    auto e = agents_.find(a->second);
    if (e != agents_.end()) out.agent_name = e->second.agent.name;
  }
  auto site = site_by_num_.find(site_number);
  if (site != site_by_num_.end()) out.site = site->second;
  return out;
}

// --- Sites --------------------------------------------------------------------

Site RegistryImpl::SiteViewLocked(const SiteEntry& e) const {
  Site s = e.site;
  s.agents = 0;
  s.agents_up = 0;
  for (const auto& [id, a] : agents_) {
    if (a.agent.site != s.id || a.agent.revoked) continue;
    ++s.agents;
    if (a.agent.state == AgentState::kUp) ++s.agents_up;
  }
  return s;
}

Status RegistryImpl::CreateSite(const Site& site) {
  if (!ValidSiteId(site.id)) {
    return InvalidArgumentError("site id '" + site.id + "' must be 1-63 of a-z, 0-9 and '-', not starting with '-'");
  }
  WriterLock lock(&meta_mu_);
  if (sites_.contains(site.id)) return AlreadyExistsError("site '" + site.id + "' already exists");
  SiteEntry e;
  e.site = site;
  e.site.link = SiteLink();
  if (e.site.created_unix_nanos == 0) e.site.created_unix_nanos = options_.clock->NowNanos();
  RAMPART_ASSIGN_OR_RETURN(e.num, SiteNumberLocked(site.id));
  RAMPART_RETURN_IF_ERROR(db_.Put(sites_cf_, e.site.id, SiteRecord(e.site), rocks::Durability::kSync));
  sites_[site.id] = std::move(e);
  return Status::Ok();
}

Result<std::vector<Site>> RegistryImpl::ListSites() const {
  ReaderLock lock(&meta_mu_);
  std::vector<Site> out;
  for (const auto& [id, e] : sites_) out.push_back(SiteViewLocked(e));
  return out;
}

Result<Site> RegistryImpl::GetSite(std::string_view site_id) const {
  ReaderLock lock(&meta_mu_);
  auto it = sites_.find(site_id);
  if (it == sites_.end()) return NotFoundError("no site '" + std::string(site_id) + "'");
  return SiteViewLocked(it->second);
}

Status RegistryImpl::SetSiteLink(std::string_view site_id, const SiteLink& link) {
  WriterLock lock(&meta_mu_);
  auto it = sites_.find(site_id);
  if (it == sites_.end()) return NotFoundError("no site '" + std::string(site_id) + "'");
  const bool changed = it->second.site.link.state != link.state;
  it->second.site.link = link;
  // Metrics change every few seconds; only a state change needs an fsync.
  return db_.Put(sites_cf_, it->second.site.id, SiteRecord(it->second.site),
                 changed ? rocks::Durability::kSync : rocks::Durability::kProcessCrashSafe);
}

// --- Tokens -------------------------------------------------------------------

Status RegistryImpl::PutToken(const Token& token) {
  if (token.sha256.size() != 64) return InvalidArgumentError("token hash must be 64 hex digits");
  {
    ReaderLock lock(&meta_mu_);
    if (!sites_.contains(token.site)) return NotFoundError("no site '" + token.site + "'");
  }
  MutexLock lock(&token_mu_);
  return db_.Put(tokens_cf_, token.sha256, TokenRecord(token), rocks::Durability::kSync);
}

Result<Token> RegistryImpl::ConsumeToken(std::string_view sha256, std::string_view agent_id) {
  const Status refused = UnauthenticatedError("enrolment token is unknown, already used or expired");
  MutexLock lock(&token_mu_);
  auto v = db_.Get(tokens_cf_, sha256);
  if (!v.has_value()) return v.error().code() == StatusCode::kNotFound ? refused : v.error();
  std::optional<Token> t = TokenFromRecord(*v);
  if (!t) return DataLossError("unreadable token record");
  const int64_t now = options_.clock->NowNanos();
  if (t->used || now >= t->expires_unix_nanos) return refused;
  t->used = true;
  t->used_unix_nanos = now;
  t->used_by_agent = std::string(agent_id);
  RAMPART_RETURN_IF_ERROR(db_.Put(tokens_cf_, sha256, TokenRecord(*t), rocks::Durability::kSync));
  return *t;
}

Result<std::vector<Token>> RegistryImpl::ListTokens() const {
  std::vector<Token> out;
  auto n = db_.Scan(tokens_cf_, "", "", [&](std::string_view, std::string_view value) {
    if (std::optional<Token> t = TokenFromRecord(value)) out.push_back(std::move(*t));
    return true;
  });
  if (!n.has_value()) return n.error();
  std::sort(out.begin(), out.end(),
            [](const Token& a, const Token& b) { return a.created_unix_nanos > b.created_unix_nanos; });
  return out;
}

// --- Agents -------------------------------------------------------------------

Status RegistryImpl::PersistAgentLocked(const AgentEntry& e, rocks::Durability d) {
  return db_.Put(agents_cf_, e.agent.id, AgentRecord(e.agent), d);
}

Status RegistryImpl::PutAgentIdentity(const Agent& agent) {
  if (agent.id.empty() || agent.id == kControllerSource) {
    return InvalidArgumentError("bad agent id '" + agent.id + "'");
  }
  WriterLock lock(&meta_mu_);
  if (!agent.site.empty() && !sites_.contains(agent.site)) return NotFoundError("no site '" + agent.site + "'");
  AgentEntry& e = agents_[agent.id];
  const bool is_new = e.agent.id.empty();
  if (is_new) {
    RAMPART_ASSIGN_OR_RETURN(e.num, AgentNumberLocked(agent.id));
    e.agent.state = AgentState::kUnknown;
  }
  e.agent.id = agent.id;
  e.agent.name = agent.name;
  e.agent.site = agent.site;
  if (!agent.version.empty()) e.agent.version = agent.version;
  e.agent.enrolled_unix_nanos = agent.enrolled_unix_nanos;
  e.agent.certificate_serial = agent.certificate_serial;
  e.agent.certificate_not_after_unix_seconds = agent.certificate_not_after_unix_seconds;
  if (agent.revoked && !e.agent.revoked) {
    e.agent.revoked_unix_nanos = agent.revoked_unix_nanos ? agent.revoked_unix_nanos : options_.clock->NowNanos();
    e.agent.state = AgentState::kRevoked;
    e.agent.state_since_unix_nanos = e.agent.revoked_unix_nanos;
  }
  e.agent.revoked = agent.revoked;
  auto site = site_nums_.find(agent.site);
  e.site_num = site == site_nums_.end() ? 0 : site->second;
  Status s = PersistAgentLocked(e, rocks::Durability::kSync);
  if (!s.ok() && is_new) agents_.erase(agent.id);
  return s;
}

Result<std::vector<Agent>> RegistryImpl::ListAgents(std::string_view site) const {
  ReaderLock lock(&meta_mu_);
  std::vector<Agent> out;
  for (const auto& [id, e] : agents_) {
    if (!site.empty() && e.agent.site != site) continue;
    out.push_back(e.agent);
  }
  return out;
}

Result<Agent> RegistryImpl::GetAgent(std::string_view agent_id) const {
  ReaderLock lock(&meta_mu_);
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return NotFoundError("no agent '" + std::string(agent_id) + "'");
  return it->second.agent;
}

Status RegistryImpl::UpdateAgentHealth(std::string_view agent_id, const AgentHealth& health,
                                       std::string_view version) {
  WriterLock lock(&meta_mu_);
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return NotFoundError("no agent '" + std::string(agent_id) + "'");
  AgentEntry& e = it->second;
  e.agent.health = health;
  if (!version.empty()) e.agent.version = std::string(version);
  e.agent.last_seen_unix_nanos = std::max(e.agent.last_seen_unix_nanos, health.reported_unix_nanos);
  // Persisted by the maintenance pass (see UpdateAgentConnection): a write
  // per heartbeat would queue behind group commits with meta_mu_ held.
  e.dirty = true;
  return Status::Ok();
}

Status RegistryImpl::UpdateAgentConnection(std::string_view agent_id, bool connected, std::string_view address,
                                           int64_t at, bool goodbye) {
  WriterLock lock(&meta_mu_);
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return NotFoundError("no agent '" + std::string(agent_id) + "'");
  AgentEntry& e = it->second;
  e.agent.connected = connected;
  if (!address.empty()) e.agent.address = std::string(address);
  e.agent.last_seen_unix_nanos = std::max(e.agent.last_seen_unix_nanos, at);
  if (goodbye && !e.agent.revoked) {
    e.agent.state = AgentState::kStopped;
    e.agent.state_since_unix_nanos = at;
  }
  if (!goodbye) {
    // Connection state and address are volatile (every start resets them):
    // the maintenance pass persists them. A write here would hold meta_mu_
    // while queued behind the writer's fsynced group commit, so 500 agents
    // reconnecting at once timed out waiting for their Welcome.
    e.dirty = true;
    return Status::Ok();
  }
  e.last_seen_persisted = e.agent.last_seen_unix_nanos;
  e.dirty = false;
  return PersistAgentLocked(e, rocks::Durability::kProcessCrashSafe);
}

void RegistryImpl::TouchAgent(std::string_view agent_id, int64_t at) {
  WriterLock lock(&meta_mu_);
  auto it = agents_.find(agent_id);
  if (it != agents_.end()) it->second.agent.last_seen_unix_nanos = std::max(it->second.agent.last_seen_unix_nanos, at);
}

Status RegistryImpl::SetAgentState(std::string_view agent_id, AgentState state, int64_t since) {
  WriterLock lock(&meta_mu_);
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return NotFoundError("no agent '" + std::string(agent_id) + "'");
  AgentEntry& e = it->second;
  if (e.agent.revoked) state = AgentState::kRevoked;
  if (e.agent.state == state) return Status::Ok();
  e.agent.state = state;
  e.agent.state_since_unix_nanos = since;
  return PersistAgentLocked(e, rocks::Durability::kSync);
}

// --- Maintenance ----------------------------------------------------------------

void RegistryImpl::PersistDirtyAgents() {
  rocksdb::WriteBatch batch;
  std::vector<std::string> ids;
  {
    WriterLock meta(&meta_mu_);
    for (auto& [id, e] : agents_) {
      if (e.agent.last_seen_unix_nanos != e.last_seen_persisted || e.dirty) {
        batch.Put(agents_cf_, e.agent.id, AgentRecord(e.agent));
        e.last_seen_persisted = e.agent.last_seen_unix_nanos;
        e.dirty = false;
        ids.push_back(id);
      }
    }
  }
  if (ids.empty()) return;
  if (Status s = db_.Write(batch, rocks::Durability::kProcessCrashSafe); !s.ok()) {
    // A change made meanwhile marks the entry again; so does a failure.
    log::Warn("registry", "agent records not persisted; retried at the next pass", {{"error", s}});
    WriterLock meta(&meta_mu_);
    for (const std::string& id : ids) {
      auto it = agents_.find(id);
      if (it != agents_.end()) it->second.dirty = true;
    }
  }
}

bool RegistryImpl::WaitForNextPass() {
  MutexLock lock(&maintenance_mu_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!maintenance_stop_ && maintenance_cv_.WaitUntil(&maintenance_mu_, deadline)) {
  }
  return !maintenance_stop_;
}

void RegistryImpl::MaintenanceLoop() {
  int64_t last_expiry = MonotonicNanos();
  while (WaitForNextPass()) {
    PersistDirtyAgents();
    if (MonotonicNanos() - last_expiry > 3600 * kSecond) {
      if (Status s = ExpireLinkHistory(); !s.ok()) log::Warn("registry", "link history expiry failed", {{"error", s}});
      last_expiry = MonotonicNanos();
    }
  }
}

}  // namespace detail
}  // namespace rampart::registry
