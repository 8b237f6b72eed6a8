// controller/registry on a RocksDB of its own (the registry's column
// families only): it needs no event store.

#include "controller/registry/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>

#include "common/rocks/rocks.h"
#include "tests/testing/temp_dir.h"

namespace rampart::registry {
namespace {

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kBase = 1'795'000'000 * kSec;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    registry_.reset();
    db_.reset();
    rocks::Options o;
    o.path = dir_.File("registry");
    o.column_families.assign(kColumnFamilies.begin(), kColumnFamilies.end());
    auto db = rocks::Database::Open(o);
    ASSERT_TRUE(db.has_value()) << db.error();
    db_ = std::move(*db);
    auto r = Registry::Open(*db_, {.clock = &clock_});
    ASSERT_TRUE(r.has_value()) << r.error();
    registry_ = std::move(*r);
  }
  void Enrol(const std::string& agent, const std::string& site) {
    if (!registry_->GetSite(site).has_value()) {
      ASSERT_TRUE(registry_->CreateSite({.id = site}).ok());
    }
    Agent a;
    a.id = agent;
    a.name = agent + "-host";
    a.site = site;
    ASSERT_TRUE(registry_->PutAgentIdentity(a).ok());
  }

  testing::ScopedTempDir dir_{"registry"};
  ManualClock clock_{kBase + 1000 * kSec};
  std::unique_ptr<rocks::Database> db_;
  std::unique_ptr<Registry> registry_;  // Closed before db_.
};

TEST(RegistryOpenTest, RefusesADatabaseWithoutItsFamilies) {
  testing::ScopedTempDir dir("registry-bare");
  rocks::Options o;
  o.path = dir.File("db");
  o.column_families = {"events"};
  auto db = rocks::Database::Open(o);
  ASSERT_TRUE(db.has_value()) << db.error();
  auto r = Registry::Open(**db, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kDataLoss);
}

TEST_F(RegistryTest, NumbersAreGivenOnceAndNameWhatTheyNumber) {
  Enrol("a1", "site-a");
  const auto source = registry_->FindSource("a1");
  ASSERT_TRUE(source.has_value());
  EXPECT_TRUE(source->enrolled);
  EXPECT_EQ(source->site, "site-a");
  EXPECT_EQ(source->site_number, registry_->SiteNumber("site-a"));
  EXPECT_NE(source->site_number, 0u);
  EXPECT_EQ(registry_->SiteNumber("nowhere"), 0u);
  EXPECT_FALSE(registry_->FindSource("nobody").has_value());
  auto controller = registry_->NumberSource("controller");
  ASSERT_TRUE(controller.has_value());
  EXPECT_NE(*controller, source->number);
  EXPECT_FALSE(registry_->FindSource("controller")->enrolled);
  const Registry::Names names = registry_->NamesOf(source->number, source->site_number);
  EXPECT_EQ(names.agent_id, "a1");
  EXPECT_EQ(names.agent_name, "a1-host");
  EXPECT_EQ(names.site, "site-a");
  Reopen();
  EXPECT_EQ(registry_->FindSource("a1")->number, source->number) << "numbers survive a restart";
  EXPECT_EQ(*registry_->NumberSource("controller"), *controller);
  EXPECT_EQ(registry_->SiteNumbers(), std::vector<uint32_t>{source->site_number});
}

TEST_F(RegistryTest, TokensAreConsumedOnceAndExpire) {
  ASSERT_TRUE(registry_->CreateSite({.id = "site-a"}).ok());
  EXPECT_EQ(registry_->CreateSite({.id = "site-a"}).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(registry_->CreateSite({.id = "Bad Site"}).code(), StatusCode::kInvalidArgument);
  Token t;
  t.sha256 = std::string(64, 'a');
  t.site = "site-a";
  t.created_unix_nanos = clock_.NowNanos();
  t.expires_unix_nanos = clock_.NowNanos() + 60 * kSec;
  ASSERT_TRUE(registry_->PutToken(t).ok());
  Token expired = t;
  expired.sha256 = std::string(64, 'b');
  expired.expires_unix_nanos = clock_.NowNanos() - 1;
  ASSERT_TRUE(registry_->PutToken(expired).ok());
  Token orphan = t;
  orphan.site = "nowhere";
  EXPECT_EQ(registry_->PutToken(orphan).code(), StatusCode::kNotFound);

  auto used = registry_->ConsumeToken(t.sha256, "agent-1");
  ASSERT_TRUE(used.has_value());
  EXPECT_EQ(used->site, "site-a");
  auto again = registry_->ConsumeToken(t.sha256, "agent-2");
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(registry_->ConsumeToken(expired.sha256, "agent-3").error().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(registry_->ConsumeToken(std::string(64, 'c'), "agent-4").error().code(), StatusCode::kUnauthenticated);
  auto list = registry_->ListTokens();
  ASSERT_EQ(list->size(), 2u);
}


TEST_F(RegistryTest, ConcurrentTokenUseHasOneWinner) {
  ASSERT_TRUE(registry_->CreateSite({.id = "s"}).ok());
  Token t;
  t.sha256 = std::string(64, 'd');
  t.site = "s";
  t.expires_unix_nanos = clock_.NowNanos() + kSec;
  ASSERT_TRUE(registry_->PutToken(t).ok());
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      if (registry_->ConsumeToken(t.sha256, "agent-" + std::to_string(i)).has_value()) ++wins;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wins.load(), 1);
}


TEST_F(RegistryTest, AgentsSitesHealthAndRevocation) {
  Enrol("a1", "site-a");
  Enrol("a2", "site-a");
  AgentHealth h;
  h.reported_unix_nanos = kBase;
  h.cpu_percent = 1.5;
  h.rss_bytes = 20 << 20;
  h.queue_depth = 7;
  ASSERT_TRUE(registry_->UpdateAgentHealth("a1", h, "rampart-agent 0.1.0").ok());
  ASSERT_TRUE(registry_->SetAgentState("a1", AgentState::kUp, kBase).ok());
  ASSERT_TRUE(registry_->UpdateAgentConnection("a1", true, "10.1.1.11:5000", kBase + 1, false).ok());
  registry_->TouchAgent("a1", kBase + 5);
  auto a = registry_->GetAgent("a1");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->health.queue_depth, 7u);
  EXPECT_EQ(a->version, "rampart-agent 0.1.0");
  EXPECT_EQ(a->state, AgentState::kUp);
  EXPECT_TRUE(a->connected);
  EXPECT_EQ(a->last_seen_unix_nanos, kBase + 5);
  auto site = registry_->GetSite("site-a");
  ASSERT_TRUE(site.has_value());
  EXPECT_EQ(site->agents, 2u);
  EXPECT_EQ(site->agents_up, 1u);
  Agent revoke = *a;
  revoke.revoked = true;
  ASSERT_TRUE(registry_->PutAgentIdentity(revoke).ok());
  Reopen();
  a = registry_->GetAgent("a1");
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->revoked);
  EXPECT_EQ(a->state, AgentState::kRevoked);
  EXPECT_FALSE(a->connected) << "nothing is connected after a restart";
  EXPECT_EQ(a->last_seen_unix_nanos, kBase + 5) << "probe times are persisted at close";
  EXPECT_EQ(registry_->GetSite("site-a")->agents, 1u);
  EXPECT_EQ(registry_->ListAgents("site-a")->size(), 2u);
  EXPECT_EQ(registry_->ListAgents("other")->size(), 0u);
  EXPECT_FALSE(registry_->GetAgent("zz").has_value());
  Agent orphan;
  orphan.id = "a3";
  orphan.site = "nowhere";
  EXPECT_EQ(registry_->PutAgentIdentity(orphan).code(), StatusCode::kNotFound);
}


TEST_F(RegistryTest, LinkHistoryIsDownsampled) {
  ASSERT_TRUE(registry_->CreateSite({.id = "s"}).ok());
  const int64_t start = kBase - (kBase % (3600 * kSec));
  // One hour of 10 s samples: loss 0 for the first half, 0.2 for the second.
  for (int i = 0; i < 360; ++i) {
    LinkSample s;
    s.start_unix_nanos = start + i * 10 * kSec;
    s.duration_nanos = 10 * kSec;
    s.rtt_ms_avg = 10;
    s.rtt_ms_max = i == 100 ? 99 : 12;
    s.loss_ratio = i < 180 ? 0 : 0.2;
    s.availability = 1;
    s.worst = i < 180 ? LinkState::kUp : LinkState::kDegraded;
    ASSERT_TRUE(registry_->AppendLinkSample("s", s).ok());
  }
  auto raw = registry_->LinkHistory("s", start, start + 3600 * kSec, 500);
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->size(), 360u);
  auto five = registry_->LinkHistory("s", start, start + 3600 * kSec, 20);
  ASSERT_TRUE(five.has_value());
  ASSERT_EQ(five->size(), 12u);
  EXPECT_EQ((*five)[0].duration_nanos, 300 * kSec);
  EXPECT_DOUBLE_EQ((*five)[0].loss_ratio, 0);
  EXPECT_DOUBLE_EQ((*five)[11].loss_ratio, 0.2);
  EXPECT_EQ((*five)[3].rtt_ms_max, 99);
  auto hour = registry_->LinkHistory("s", start, start + 3600 * kSec, 2);
  ASSERT_TRUE(hour.has_value());
  ASSERT_EQ(hour->size(), 1u);
  EXPECT_NEAR((*hour)[0].loss_ratio, 0.1, 1e-9);
  EXPECT_EQ((*hour)[0].worst, LinkState::kDegraded);
  EXPECT_EQ((*hour)[0].duration_nanos, 3600 * kSec);
  EXPECT_FALSE(registry_->LinkHistory("nope", 0, 1, 10).has_value());
}


}  // namespace
}  // namespace rampart::registry
