#include <gtest/gtest.h>

#include <vector>

#include "controller/links/evaluator.h"

namespace rampart::links::detail {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kWall = 1'795'000'000 * kSec;

class EvaluatorTest : public ::testing::Test {
 protected:
  EvaluatorTest() : eval_(Opts()) {
    for (const char* id : {"a1", "a2"}) Add(id, "site-a");
    Add("b1", "site-b");
  }
  static Options Opts() {
    Options o;
    o.probe_interval = std::chrono::milliseconds(200);
    o.evaluate_every = std::chrono::milliseconds(1000);
    o.dead_after = std::chrono::milliseconds(5000);
    o.clear_after = std::chrono::milliseconds(3000);
    o.window = std::chrono::milliseconds(10000);
    o.degraded_loss_raise = 0.10;
    o.degraded_loss_clear = 0.03;
    o.degraded_clear_for = std::chrono::milliseconds(10000);
    return o;
  }
  void Add(const std::string& id, const std::string& site) {
    AgentView& a = eval_.agents()[id];
    a.id = id;
    a.site = site;
  }
  // Advances `seconds` of time: each agent in `probing` sends 5 probes a
  // second, of which the fraction `loss` is lost; one tick per second.
  std::vector<cs::LinkChange> Run(double seconds, std::vector<std::string> probing, double loss = 0) {
    std::vector<cs::LinkChange> all;
    const int steps = static_cast<int>(seconds * 5);
    for (int i = 0; i < steps; ++i) {
      now_ += 200 * kMs;
      for (const std::string& id : probing) {
        const uint32_t seq = seq_[id]++;
        // Deterministic loss: drop when the running fraction is below target.
        lost_[id] += loss;
        if (lost_[id] >= 1.0) {
          lost_[id] -= 1.0;
          continue;
        }
        eval_.Probe(id, seq, kWall + now_, now_);
      }
      if (i % 5 == 4) {
        auto c = eval_.Tick(now_, kWall + now_);
        all.insert(all.end(), c.changes.begin(), c.changes.end());
        samples_ += c.samples.size();
      }
    }
    return all;
  }
  reg::LinkState Site(const std::string& s) { return eval_.sites()[s].state; }
  reg::AgentState Agent(const std::string& a) { return eval_.agents()[a].state; }

  Evaluator eval_;
  int64_t now_ = 1000 * kSec;
  std::map<std::string, uint32_t> seq_;
  std::map<std::string, double> lost_;
  size_t samples_ = 0;
};

TEST_F(EvaluatorTest, AgentsAndSitesComeUp) {
  Run(3, {"a1", "a2", "b1"});
  EXPECT_EQ(Site("site-a"), reg::LinkState::kUp);
  EXPECT_EQ(Site("site-b"), reg::LinkState::kUp);
  EXPECT_EQ(Agent("a1"), reg::AgentState::kUp);
}

TEST_F(EvaluatorTest, ACutTakesTheSiteDownWithinTheDeadlineAndBackUp) {
  Run(5, {"a1", "a2", "b1"});
  // Site A's link is cut: neither of its agents answers.
  std::vector<cs::LinkChange> changes;
  int down_after = -1;
  for (int s = 1; s <= 12 && down_after < 0; ++s) {
    auto c = Run(1, {"b1"});
    changes.insert(changes.end(), c.begin(), c.end());
    if (Site("site-a") == reg::LinkState::kDown) down_after = s;
  }
  ASSERT_GT(down_after, 0);
  EXPECT_LE(down_after, 6);
  EXPECT_EQ(Site("site-b"), reg::LinkState::kUp);
  EXPECT_EQ(Agent("a1"), reg::AgentState::kUnreachable);
  EXPECT_EQ(Agent("a2"), reg::AgentState::kUnreachable);
  bool site_event = false;
  for (const auto& c : changes) {
    if (c.agent_id.empty() && c.site == "site-a" && c.to_link == reg::LinkState::kDown) site_event = true;
  }
  EXPECT_TRUE(site_event);
  // The link returns: up only after clear_after of answers.
  Run(2, {"a1", "a2", "b1"});
  EXPECT_EQ(Site("site-a"), reg::LinkState::kDown);
  Run(3, {"a1", "a2", "b1"});
  EXPECT_EQ(Site("site-a"), reg::LinkState::kUp);
  EXPECT_EQ(Agent("a1"), reg::AgentState::kUp);
}

TEST_F(EvaluatorTest, TheOutageItselfDoesNotDegradeTheLinkAfterwards) {
  Run(5, {"a1", "a2", "b1"});
  Run(3, {"b1"});  // A short cut: the window still holds probes from before it.
  reg::LinkMetrics lossy;
  lossy.loss_ratio = 0.6;  // What an agent measured across the outage.
  eval_.Measured("a1", lossy, now_);
  Run(5, {"b1"});
  ASSERT_EQ(Site("site-a"), reg::LinkState::kDown);
  Run(4, {"a1", "a2", "b1"});
  EXPECT_EQ(Site("site-a"), reg::LinkState::kUp);
  eval_.Measured("a1", lossy, now_);  // A report still covering the outage.
  Run(3, {"a1", "a2", "b1"});
  EXPECT_EQ(Site("site-a"), reg::LinkState::kUp);
}

TEST_F(EvaluatorTest, ASilentAgentIsAgentDownWhileItsSiteAnswers) {
  Run(5, {"a1", "a2", "b1"});
  auto changes = Run(8, {"a1", "b1"});
  EXPECT_EQ(Agent("a2"), reg::AgentState::kDown);
  EXPECT_EQ(Site("site-a"), reg::LinkState::kUp);
  for (const auto& c : changes) {
    EXPECT_FALSE(c.agent_id.empty() && c.to_link == reg::LinkState::kDown) << "the link did not go down";
  }
}

TEST_F(EvaluatorTest, LossDegradesWithoutDownAndClearsWithHysteresis) {
  Run(5, {"a1", "a2", "b1"});
  Run(12, {"a1", "a2", "b1"}, 0.2);
  EXPECT_EQ(Site("site-a"), reg::LinkState::kDegraded);
  // Between the clear and raise thresholds: stays degraded.
  Run(30, {"a1", "a2", "b1"}, 0.06);
  EXPECT_EQ(Site("site-a"), reg::LinkState::kDegraded);
  // Clean again: up only after the window empties and clear_for passes.
  Run(5, {"a1", "a2", "b1"});
  EXPECT_EQ(Site("site-a"), reg::LinkState::kDegraded);
  Run(25, {"a1", "a2", "b1"});
  EXPECT_EQ(Site("site-a"), reg::LinkState::kUp);
}

TEST_F(EvaluatorTest, AgentReportedLossCountsToo) {
  Run(5, {"a1", "a2", "b1"});
  reg::LinkMetrics m;
  m.loss_ratio = 0.3;
  m.rtt_ms = 40;
  eval_.Measured("b1", m, now_);
  Run(2, {"a1", "a2", "b1"});
  EXPECT_EQ(Site("site-b"), reg::LinkState::kDegraded);
  EXPECT_NEAR(eval_.sites()["site-b"].metrics.rtt_ms, 40, 1e-9);
}

TEST_F(EvaluatorTest, GoodbyeIsStoppedNotDown) {
  Run(5, {"a1", "a2", "b1"});
  eval_.agents()["a2"].goodbye = true;
  Run(8, {"a1", "b1"});
  EXPECT_EQ(Agent("a2"), reg::AgentState::kStopped);
  // The only agent of a site stopping cleanly does not take its link down.
  eval_.agents()["b1"].goodbye = true;
  Run(8, {"a1"});
  EXPECT_EQ(Agent("b1"), reg::AgentState::kStopped);
  EXPECT_NE(Site("site-b"), reg::LinkState::kDown);
}

TEST_F(EvaluatorTest, ReplayedProbesAreRefused) {
  EXPECT_TRUE(eval_.Probe("a1", 10, kWall + 100 * kSec, now_));
  EXPECT_FALSE(eval_.Probe("a1", 10, kWall + 100 * kSec, now_)) << "same sequence";
  EXPECT_FALSE(eval_.Probe("a1", 3, kWall + 10 * kSec, now_)) << "older than what was proved";
  EXPECT_TRUE(eval_.Probe("a1", 11, kWall + 100 * kSec + 200 * kMs, now_));
  EXPECT_FALSE(eval_.Probe("nobody", 1, kWall, now_));
}

TEST_F(EvaluatorTest, HistorySamplesEveryTenSeconds) {
  Run(35, {"a1", "a2", "b1"});
  EXPECT_GE(samples_, 6u);  // Two sites, three or more 10 s buckets each.
}

}  // namespace
}  // namespace rampart::links::detail
