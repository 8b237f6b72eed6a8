#include "controller/web/triage.h"

#include <nlohmann/json.hpp>

#include "common/rocks/rocks.h"
#include "common/util/mutex.h"

namespace rampart::web {
namespace {

using nlohmann::json;

json ToJson(const Triage& t) {
  json comments = json::array();
  for (const auto& c : t.comments) comments.push_back({{"user", c.user}, {"time", c.time_nanos}, {"text", c.text}});
  return {{"status", t.status},         {"assignee", t.assignee}, {"reason", t.close_reason},
          {"comments", comments},       {"by", t.updated_by},     {"at", t.updated_nanos}};
}

Triage FromJson(std::string_view text) {
  Triage t;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return t;
  t.status = j.value("status", "new");
  t.assignee = j.value("assignee", "");
  t.close_reason = j.value("reason", "");
  t.updated_by = j.value("by", "");
  t.updated_nanos = j.value("at", int64_t{0});
  if (j.contains("comments") && j["comments"].is_array()) {
    for (const auto& c : j["comments"]) {
      t.comments.push_back({c.value("user", ""), c.value("time", int64_t{0}), c.value("text", "")});
    }
  }
  return t;
}

class TriageStoreImpl final : public TriageStore {
 public:
  explicit TriageStoreImpl(std::unique_ptr<rocks::Database> db) : db_(std::move(db)), cf_(db_->Family("triage")) {}

  Result<Triage> Get(const std::string& id) const override {
    auto v = db_->Get(cf_, id);
    if (!v) {
      if (v.error().code() == StatusCode::kNotFound) return Triage{};
      return v.error();
    }
    return FromJson(*v);
  }

  Result<std::vector<Triage>> GetMany(const std::vector<std::string>& ids) const override {
    std::vector<rocksdb::Slice> keys(ids.begin(), ids.end());
    std::vector<rocksdb::ColumnFamilyHandle*> cfs(ids.size(), cf_);
    std::vector<std::string> values;
    auto statuses = db_->raw()->MultiGet(rocksdb::ReadOptions(), cfs, keys, &values);
    std::vector<Triage> out(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      if (statuses[i].ok()) {
        out[i] = FromJson(values[i]);
      } else if (!statuses[i].IsNotFound()) {
        return rocks::FromRocks(statuses[i], "triage");
      }
    }
    return out;
  }

  Status Apply(const std::vector<std::string>& ids, const TriageChange& c, const std::string& user,
               int64_t now) override EXCLUDES(mu_) {
    if (ids.empty() || ids.size() > 1000) return InvalidArgumentError("give 1 to 1000 alert ids");
    if (c.action != "ack" && c.action != "assign" && c.action != "close" && c.action != "reopen" &&
        c.action != "comment") {
      return InvalidArgumentError("action must be ack, assign, close, reopen or comment");
    }
    if (c.action == "close" && c.reason.empty()) return InvalidArgumentError("closing needs a reason");
    if (c.action == "comment" && c.comment.empty()) return InvalidArgumentError("the comment is empty");
    if (c.comment.size() > 4000 || c.reason.size() > 500 || c.assignee.size() > 64) {
      return InvalidArgumentError("comment, reason or assignee is too long");
    }
    MutexLock lock(&mu_);  // Read-modify-write of several records.
    RAMPART_ASSIGN_OR_RETURN(auto current, GetMany(ids));
    rocksdb::WriteBatch batch;
    for (size_t i = 0; i < ids.size(); ++i) {
      Triage& t = current[i];
      if (c.action == "ack") {
        if (t.status == "new") t.status = "acknowledged";
      } else if (c.action == "assign") {
        t.assignee = c.assignee;
        if (t.status == "new") t.status = "acknowledged";
      } else if (c.action == "close") {
        t.status = "closed";
        t.close_reason = c.reason;
      } else if (c.action == "reopen") {
        t.status = "acknowledged";
        t.close_reason.clear();
      }
      if (!c.comment.empty()) t.comments.push_back({user, now, c.comment});
      if (t.comments.size() > 200) t.comments.erase(t.comments.begin());
      t.updated_by = user;
      t.updated_nanos = now;
      batch.Put(cf_, ids[i], ToJson(t).dump(-1, ' ', false, json::error_handler_t::replace));
    }
    return db_->Write(batch, rocks::Durability::kSync);
  }

 private:
  std::unique_ptr<rocks::Database> db_;
  rocksdb::ColumnFamilyHandle* cf_;
  Mutex mu_;  // Serialises Apply's read-modify-write (of records, not members).
};

}  // namespace

Result<std::unique_ptr<TriageStore>> TriageStore::Open(const std::string& path) {
  rocks::Options o;
  o.path = path;
  o.column_families = {"triage"};
  o.workload = rocks::Workload::kSmall;
  o.block_cache_bytes = 8ull << 20;
  o.background_jobs = 1;
  RAMPART_ASSIGN_OR_RETURN(auto db, rocks::Database::Open(o));
  return std::unique_ptr<TriageStore>(new TriageStoreImpl(std::move(db)));
}

}  // namespace rampart::web
