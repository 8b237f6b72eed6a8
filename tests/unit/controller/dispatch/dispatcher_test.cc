// controller/dispatch over a real store: what its consumers hear, in which
// order, and what the bounded queue does when they fall behind.

#include "controller/dispatch/dispatcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "controller/dispatch/notifications.h"
#include "controller/store/event_writer.h"
#include "controller/store/store.h"
#include "rampart/v1/event.pb.h"
#include "tests/testing/temp_dir.h"

namespace rampart::dispatch {
namespace {

namespace cs = controller_store;
using namespace std::chrono_literals;
using ::testing::ElementsAre;

// What one consumer heard, as "alert SEQ" and "link SITE STATE" lines.
class Recorder final : public Consumer {
 public:
  void OnAlert(const cs::EventRecord& alert) override {
    std::unique_lock lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });  // Held shut: a consumer that falls behind.
    heard_.push_back("alert " + std::to_string(alert.summary.id.sequence));
    cv_.notify_all();
  }
  void OnLinkChange(const cs::LinkChange& change) override {
    std::lock_guard lock(mu_);
    heard_.push_back("link " + change.site + " " + std::string(registry::LinkStateName(change.to_link)));
    cv_.notify_all();
  }
  void Shut() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Waits up to 10 s until the dispatcher is inside OnAlert `n` times.
  bool AwaitEntered(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return entered_ >= n; });
  }
  std::vector<std::string> Heard() {
    std::lock_guard lock(mu_);
    return heard_;
  }
  // Waits up to 10 s for `n` items; returns what was heard.
  std::vector<std::string> Await(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 10s, [&] { return heard_.size() >= n; });
    return heard_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  size_t entered_ = 0;
  std::vector<std::string> heard_;
};

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cs::Options o;
    o.path = dir_.File("store");
    o.sync = false;
    auto store = cs::Store::Open(o);
    ASSERT_TRUE(store.has_value()) << store.error();
    store_ = std::move(*store);
    ASSERT_TRUE(store_->registry().CreateSite({.id = "so-y-te"}).ok());
    registry::Agent a;
    a.id = "a1";
    a.name = "sensor-1";
    a.site = "so-y-te";
    ASSERT_TRUE(store_->registry().PutAgentIdentity(a).ok());
  }

  // Stores one event of agent a1 (an alert when `alert`), durably.
  void Ingest(uint64_t seq, bool alert) {
    cs::IngestBatch b;
    b.agent_id = "a1";
    rampart::v1::Event* e = b.batch.add_events();
    e->set_sequence(seq);
    e->set_observed_unix_nanos(1'800'000'000'000'000'000 + static_cast<int64_t>(seq));
    e->set_kind(alert ? rampart::v1::EVENT_KIND_ALERT : rampart::v1::EVENT_KIND_FLOW);
    e->set_severity(alert ? rampart::v1::SEVERITY_CRITICAL : rampart::v1::SEVERITY_INFO);
    e->set_eve_json(alert ? R"({"event_type":"alert"})" : R"({"event_type":"flow"})");
    if (alert) {
      e->mutable_alert()->set_signature_id(9000 + seq);
      e->mutable_alert()->set_signature("ET TEST dispatch " + std::to_string(seq));
    }
    auto done = std::make_shared<std::promise<bool>>();
    auto stored = done->get_future();
    b.done = [done](Result<cs::IngestResult> r) { done->set_value(r.has_value()); };
    cs::WriterOf(*store_).Submit(std::move(b));
    ASSERT_TRUE(stored.get());
  }

  void SiteDown() {
    cs::LinkChange c;
    c.site = "so-y-te";
    c.from_link = registry::LinkState::kUp;
    c.to_link = registry::LinkState::kDown;
    c.at_unix_nanos = 1'800'000'000'000'000'000;
    c.reason = "no agent answered for 6s";
    ASSERT_TRUE(store_->RecordLinkChange(c).ok());
  }

  testing::ScopedTempDir dir_{"dispatch"};
  std::unique_ptr<cs::Store> store_;
};

TEST_F(DispatcherTest, EveryConsumerHearsAlertsAndLinkChangesInOrder) {
  auto d = Dispatcher::Start({}, *store_);
  ASSERT_TRUE(d.has_value()) << d.error();
  Recorder first, second;
  (*d)->AddConsumer(&first);
  (*d)->AddConsumer(&second);
  Ingest(1, true);
  Ingest(2, false);  // Telemetry is not dispatched.
  SiteDown();
  Ingest(3, true);
  EXPECT_THAT(first.Await(3), ElementsAre("alert 1", "link so-y-te down", "alert 3"));
  EXPECT_THAT(second.Await(3), ElementsAre("alert 1", "link so-y-te down", "alert 3"));
  (*d)->RemoveConsumer(&second);
  Ingest(4, true);
  EXPECT_EQ(first.Await(4).size(), 4u);
  (*d)->Stop();
  EXPECT_EQ(second.Heard().size(), 3u) << "a removed consumer hears nothing more";
  EXPECT_EQ((*d)->dropped(), 0u);
}

TEST_F(DispatcherTest, TheQueueIsBoundedAndStopDeliversWhatItHolds) {
  auto d = Dispatcher::Start({.max_queued = 3}, *store_);
  ASSERT_TRUE(d.has_value());
  Recorder slow;
  slow.Shut();
  (*d)->AddConsumer(&slow);
  // The first alert is taken and held by the shut consumer; three more fill
  // the queue; the next two find it full. The writer never waits.
  Ingest(1, true);
  ASSERT_TRUE(slow.AwaitEntered(1));
  for (uint64_t seq = 2; seq <= 6; ++seq) Ingest(seq, true);
  EXPECT_EQ((*d)->dropped(), 2u);
  slow.Open();
  std::thread stop([&] { (*d)->Stop(); });
  EXPECT_THAT(slow.Await(4), ElementsAre("alert 1", "alert 2", "alert 3", "alert 4"));
  stop.join();
  EXPECT_EQ(slow.Heard().size(), 4u) << "dropped items never arrive (Stop delivered the rest)";
  EXPECT_FALSE(Dispatcher::Start({.max_queued = 0}, *store_).has_value());
}

TEST_F(DispatcherTest, NotificationsSayWhatRoutingLooksAt) {
  cs::EventRecord alert;
  alert.summary.id = {"a1", 7};
  alert.summary.kind = cs::EventKind::kAlert;
  alert.summary.severity = cs::Severity::kInfo;  // 5: routing knows 1..4.
  alert.summary.site = "so-y-te";
  alert.summary.signature = "ET TEST sig";
  alert.eve_json = "{}";
  notify::Notification n = NotificationOf(alert);
  EXPECT_EQ(n.kind, notify::Notification::Kind::kAlert);
  EXPECT_EQ(n.id, "a1:7");
  EXPECT_EQ(n.severity, 4);
  EXPECT_EQ(n.agent, "a1") << "the id when the agent has no host name";
  alert.summary.agent_name = "sensor-1";
  EXPECT_EQ(NotificationOf(alert).agent, "sensor-1");

  cs::LinkChange change;
  change.site = "so-y-te";
  change.to_link = registry::LinkState::kDown;
  change.reason = "no agent answered for 6s";
  change.event = {"controller", 3};
  n = NotificationOf(change);
  EXPECT_EQ(n.kind, notify::Notification::Kind::kLink);
  EXPECT_EQ(n.id, "controller:3");
  EXPECT_EQ(n.severity, 2);
  EXPECT_EQ(n.link_state, "down");
  EXPECT_EQ(n.signature, "WAN link so-y-te down: no agent answered for 6s");
  change.agent_id = "a1";
  change.to_agent = registry::AgentState::kStopped;
  n = NotificationOf(change);
  EXPECT_EQ(n.severity, 3);
  EXPECT_EQ(n.signature, "Agent a1 stopped: no agent answered for 6s");
}

}  // namespace
}  // namespace rampart::dispatch
