#pragma once
// Internal to controller/links: the link state machine, with no threads,
// sockets or clocks of its own, so tests drive it tick by tick. The Monitor
// feeds it evidence (probes, stream messages, agents' measurements) and
// applies the changes it returns to the registry and the store.

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "controller/links/monitor.h"
#include "controller/registry/registry.h"
#include "controller/store/store.h"

namespace rampart::links::detail {

namespace cs = controller_store;
namespace reg = registry;

struct AgentView {
  std::string id;
  std::string site;
  bool revoked = false;
  reg::AgentState state = reg::AgentState::kUnknown;
  int64_t last_heard = 0;        // Monotonic ns; 0 = never since start.
  int64_t reachable_since = 0;   // Start of the current run without gaps.
  bool stream_open = false;
  bool goodbye = false;          // Said goodbye and has not been heard since.
  // Reflector accounting: probes received within the window.
  std::deque<std::pair<int64_t, uint32_t>> probes;  // (arrival, sequence)
  int64_t newest_probe_stamp = 0;                   // Sender timestamp of the newest accepted probe.
  // The agent's own round-trip measurement, and when it arrived.
  reg::LinkMetrics reported;
  int64_t reported_at = 0;
  // Reports made before this (monotonic) cover an outage that is over.
  int64_t reports_valid_after = 0;
};

struct SiteView {
  reg::LinkState state = reg::LinkState::kUnknown;
  int64_t since_wall = 0;
  std::string reason;
  int64_t clear_since = 0;  // Degraded: start of the run below every clear threshold.
  reg::LinkMetrics metrics;
  // 10 s sample being accumulated.
  int64_t sample_start_wall = 0;
  int ticks = 0;
  int up_ticks = 0;
  int metric_ticks = 0;
  reg::LinkState worst = reg::LinkState::kUnknown;
  double rtt_sum = 0, rtt_max = 0, jitter_sum = 0, loss_sum = 0;
  std::deque<double> availability;  // Last 24 h of 10 s samples.
};

struct Changes {
  std::vector<cs::LinkChange> changes;                    // To record, in order.
  std::vector<std::pair<std::string, reg::SiteLink>> sites;  // Site links to save.
  std::vector<std::pair<std::string, reg::LinkSample>> samples;
  std::vector<std::pair<std::string, int64_t>> touched;     // Agents heard: (id, wall time).
};

class Evaluator {
 public:
  explicit Evaluator(const Options& options) : o_(options) {}

  std::map<std::string, AgentView>& agents() { return agents_; }
  std::map<std::string, SiteView>& sites() { return sites_; }

  // Evidence.
  void Heard(const std::string& agent, int64_t mono);
  // A verified probe; false (and not counted) when it is a replay.
  bool Probe(const std::string& agent, uint32_t sequence, int64_t sender_stamp, int64_t mono);
  void Measured(const std::string& agent, const reg::LinkMetrics& m, int64_t mono);

  // One evaluation at (mono, wall): returns what changed.
  Changes Tick(int64_t mono, int64_t wall);

  // Loss the reflector saw from one agent over the window; -1 with too few probes.
  double ForwardLoss(const AgentView& a, int64_t mono) const;

 private:
  bool Reachable(const AgentView& a, int64_t mono) const;

  // One site's part of a tick.
  struct SiteTick {
    const std::string& site_id;
    const std::vector<AgentView*>& members;
    int64_t mono;
    int64_t wall;
    Changes& out;
  };
  struct WindowMetrics {
    reg::LinkMetrics m;
    bool have_metrics = false;  // Probes counted or agents' reports in the window.
    bool active = false;        // An agent that could answer (heard, not stopped or revoked).
    bool any_reachable = false;
  };
  // Whether an agent of the site other than `except` answers.
  bool AnyReachable(const SiteTick& t, const AgentView* except) const;
  // Each agent's state from what was heard; changes go to t.out.
  void UpdateAgents(SiteTick& t);
  WindowMetrics Measure(const SiteTick& t) const;
  bool Raises(const reg::LinkMetrics& m) const;
  std::string DegradedReason(const reg::LinkMetrics& m) const;
  // The site's link state (raise and clear thresholds, down and up again);
  // true when it changed. May reset the window's metrics (after an outage).
  bool UpdateSite(SiteTick& t, SiteView& s, WindowMetrics& w);
  // Accumulates the 10 s history sample; true when one was completed.
  bool Sample(SiteTick& t, SiteView& s, const reg::LinkMetrics& m, bool have_metrics);

  Options o_;
  std::map<std::string, AgentView> agents_;
  std::map<std::string, SiteView> sites_;
  int64_t started_ = -1;  // Mono time of the first tick.
};

}  // namespace rampart::links::detail
