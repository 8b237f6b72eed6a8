#include "controller/links/evaluator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace rampart::links::detail {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSampleNanos = 10'000'000'000;
constexpr size_t kDaySamples = 8640;

std::string Seconds(int64_t nanos) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1fs", static_cast<double>(nanos) / 1e9);
  return buf;
}

std::string Percent(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f%%", ratio * 100);
  return buf;
}

}  // namespace

void Evaluator::Heard(const std::string& agent, int64_t mono) {
  auto it = agents_.find(agent);
  if (it == agents_.end()) return;
  AgentView& a = it->second;
  const int64_t gap = std::max<int64_t>(1000 * kMs, 5 * o_.probe_interval.count() * kMs);
  if (a.last_heard == 0 || a.reachable_since == 0 || mono - a.last_heard >= gap) a.reachable_since = mono;
  a.last_heard = std::max(a.last_heard, mono);
  a.goodbye = false;
}

bool Evaluator::Probe(const std::string& agent, uint32_t sequence, int64_t sender_stamp, int64_t mono) {
  auto it = agents_.find(agent);
  if (it == agents_.end()) return false;
  AgentView& a = it->second;
  // A replay: older than what this agent already proved (2 s for reordering).
  if (a.newest_probe_stamp != 0 && sender_stamp + 2000 * kMs < a.newest_probe_stamp) return false;
  for (const auto& [when, seq] : a.probes) {
    if (seq == sequence) return false;
  }
  if (!a.probes.empty()) {
    // A new probing session (the agent restarted) starts a new window.
    uint32_t max_seq = 0;
    for (const auto& p : a.probes) max_seq = std::max(max_seq, p.second);
    if (sequence + 1000 < max_seq || sequence > max_seq + 100000) a.probes.clear();
  }
  a.probes.emplace_back(mono, sequence);
  a.newest_probe_stamp = std::max(a.newest_probe_stamp, sender_stamp);
  Heard(agent, mono);
  return true;
}

void Evaluator::Measured(const std::string& agent, const reg::LinkMetrics& m, int64_t mono) {
  auto it = agents_.find(agent);
  if (it == agents_.end() || mono < it->second.reports_valid_after) return;
  it->second.reported = m;
  it->second.reported_at = mono;
}

bool Evaluator::Reachable(const AgentView& a, int64_t mono) const {
  return a.last_heard != 0 && mono - a.last_heard < o_.dead_after.count() * kMs;
}

double Evaluator::ForwardLoss(const AgentView& a, int64_t mono) const {
  uint32_t lo = UINT32_MAX, hi = 0;
  size_t n = 0;
  for (const auto& [when, seq] : a.probes) {
    if (mono - when > o_.window.count() * kMs) continue;
    lo = std::min(lo, seq);
    hi = std::max(hi, seq);
    ++n;
  }
  if (n < 5 || hi < lo) return -1;
  const double expected = static_cast<double>(hi - lo) + 1;
  return std::clamp(1.0 - static_cast<double>(n) / expected, 0.0, 1.0);
}

Changes Evaluator::Tick(int64_t mono, int64_t wall) {
  Changes out;
  const int64_t window = o_.window.count() * kMs;
  const int64_t gap = std::max<int64_t>(1000 * kMs, 5 * o_.probe_interval.count() * kMs);
  if (started_ < 0) {
    started_ = mono;
    // Agents that were up before a restart get one dead_after to be heard
    // again before they count as silent.
    for (auto& [id, a] : agents_) {
      if (a.last_heard == 0 && a.state == reg::AgentState::kUp) {
        a.last_heard = mono;
        a.reachable_since = mono;
      }
    }
  }
  std::map<std::string, std::vector<AgentView*>> by_site;
  for (auto& [id, a] : agents_) {
    while (!a.probes.empty() && mono - a.probes.front().first > window) a.probes.pop_front();
    if (!a.site.empty()) by_site[a.site].push_back(&a);
    if (a.last_heard != 0 && mono - a.last_heard >= gap) a.reachable_since = 0;
    if (a.last_heard != 0 && mono - a.last_heard < o_.evaluate_every.count() * kMs + 1000 * kMs) {
      out.touched.emplace_back(a.id, wall - (mono - a.last_heard));
    }
  }
  for (auto& [site_id, s] : sites_) by_site.try_emplace(site_id);

  for (auto& [site_id, members] : by_site) {
    SiteView& s = sites_[site_id];
    SiteTick tick{site_id, members, mono, wall, out};
    UpdateAgents(tick);
    WindowMetrics metrics = Measure(tick);
    const bool changed = UpdateSite(tick, s, metrics);
    const bool sample_due = Sample(tick, s, metrics.m, metrics.have_metrics);
    if (changed || sample_due) {
      reg::SiteLink link;
      link.state = s.state;
      link.since_unix_nanos = s.since_wall;
      link.reason = s.reason;
      link.metrics = s.metrics;
      double sum = 0;
      for (double v : s.availability) sum += v;
      link.availability_24h = s.availability.empty() ? (s.state == reg::LinkState::kDown ? 0 : 1)
                                                     : sum / static_cast<double>(s.availability.size());
      out.sites.emplace_back(site_id, link);
    }
  }
  return out;
}

bool Evaluator::AnyReachable(const SiteTick& t, const AgentView* except) const {
  for (const AgentView* b : t.members) {
    if (b != except && !b->revoked && Reachable(*b, t.mono)) return true;
  }
  return false;
}

void Evaluator::UpdateAgents(SiteTick& t) {
  for (AgentView* a : t.members) {
    reg::AgentState next = a->state;
    if (a->revoked) {
      next = reg::AgentState::kRevoked;
    } else if (Reachable(*a, t.mono)) {
      next = reg::AgentState::kUp;
    } else if (a->goodbye) {
      next = reg::AgentState::kStopped;
    } else if (a->last_heard == 0) {
      // Not heard since the controller started: keep what was stored.
    } else {
      next = AnyReachable(t, a) ? reg::AgentState::kDown : reg::AgentState::kUnreachable;
    }
    if (next == a->state) continue;
    cs::LinkChange c;
    c.site = t.site_id;
    c.agent_id = a->id;
    c.from_agent = a->state;
    c.to_agent = next;
    c.at_unix_nanos = t.wall;
    if (next == reg::AgentState::kDown) {
      c.reason = "agent silent for " + Seconds(t.mono - a->last_heard) + " while other agents of its site answer";
    } else if (next == reg::AgentState::kUnreachable) {
      c.reason = "agent silent for " + Seconds(t.mono - a->last_heard) + " with the rest of its site";
    } else if (next == reg::AgentState::kStopped) {
      c.reason = "agent shut down cleanly";
    } else if (next == reg::AgentState::kUp) {
      c.reason = a->state == reg::AgentState::kUnknown ? "agent answers" : "agent answers again";
    } else if (next == reg::AgentState::kRevoked) {
      c.reason = "agent revoked";
    }
    t.out.changes.push_back(std::move(c));
    a->state = next;
  }
}

// Metrics over the window: the reflector's forward loss over agents that
// answer, and the agents' own round-trip reports.
Evaluator::WindowMetrics Evaluator::Measure(const SiteTick& t) const {
  const int64_t window = o_.window.count() * kMs;
  WindowMetrics w;
  double received = 0, expected = 0;
  double rtt_sum = 0, jitter_sum = 0, rt_loss = 0;
  int reports = 0;
  for (const AgentView* a : t.members) {
    if (a->revoked) continue;
    if (!(a->goodbye && !Reachable(*a, t.mono)) && a->last_heard != 0) w.active = true;
    if (!Reachable(*a, t.mono)) continue;
    w.any_reachable = true;
    if (ForwardLoss(*a, t.mono) >= 0) {
      uint32_t lo = UINT32_MAX, hi = 0;
      size_t n = 0;
      for (const auto& [when, seq] : a->probes) {
        lo = std::min(lo, seq);
        hi = std::max(hi, seq);
        ++n;
      }
      received += static_cast<double>(n);
      expected += static_cast<double>(hi - lo) + 1;
    }
    if (a->reported_at != 0 && t.mono - a->reported_at < 3 * window) {
      rtt_sum += a->reported.rtt_ms;
      jitter_sum += a->reported.jitter_ms;
      rt_loss = std::max(rt_loss, a->reported.loss_ratio);
      ++reports;
    }
  }
  w.m.loss_ratio = std::max(expected > 0 ? std::clamp(1.0 - received / expected, 0.0, 1.0) : 0.0, rt_loss);
  w.m.rtt_ms = reports ? rtt_sum / reports : 0;
  w.m.jitter_ms = reports ? jitter_sum / reports : 0;
  w.m.window_end_unix_nanos = t.wall;
  w.have_metrics = expected > 0 || reports > 0;
  return w;
}

bool Evaluator::Raises(const reg::LinkMetrics& m) const {
  return m.loss_ratio >= o_.degraded_loss_raise ||
         (o_.degraded_rtt_ms_raise > 0 && m.rtt_ms >= o_.degraded_rtt_ms_raise) ||
         (o_.degraded_jitter_ms_raise > 0 && m.jitter_ms >= o_.degraded_jitter_ms_raise);
}

std::string Evaluator::DegradedReason(const reg::LinkMetrics& m) const {
  if (m.loss_ratio >= o_.degraded_loss_raise) {
    return "loss " + Percent(m.loss_ratio) + " >= " + Percent(o_.degraded_loss_raise);
  }
  char buf[96];
  if (o_.degraded_rtt_ms_raise > 0 && m.rtt_ms >= o_.degraded_rtt_ms_raise) {
    std::snprintf(buf, sizeof(buf), "rtt %.1f ms >= %.1f ms", m.rtt_ms, o_.degraded_rtt_ms_raise);
  } else {
    std::snprintf(buf, sizeof(buf), "jitter %.1f ms >= %.1f ms", m.jitter_ms, o_.degraded_jitter_ms_raise);
  }
  return buf;
}

bool Evaluator::UpdateSite(SiteTick& t, SiteView& s, WindowMetrics& w) {
  const int64_t window = o_.window.count() * kMs;
  reg::LinkMetrics& m = w.m;
  reg::LinkState next = s.state;
  std::string reason = s.reason;
  const bool below_clear = m.loss_ratio <= o_.degraded_loss_clear &&
                           (o_.degraded_rtt_ms_raise <= 0 || m.rtt_ms <= o_.degraded_rtt_ms_clear) &&
                           (o_.degraded_jitter_ms_raise <= 0 || m.jitter_ms <= o_.degraded_jitter_ms_clear);
  if (!w.active) {
    // No agent that could answer (none heard yet, all stopped or revoked): nothing to judge.
  } else if (!w.any_reachable) {
    int64_t newest = 0;
    for (const AgentView* a : t.members) {
      if (!a->revoked) newest = std::max(newest, a->last_heard);
    }
    next = reg::LinkState::kDown;
    if (s.state != reg::LinkState::kDown) reason = "no agent of the site answered for " + Seconds(t.mono - newest);
  } else if (s.state == reg::LinkState::kDown || s.state == reg::LinkState::kUnknown) {
    bool cleared = s.state == reg::LinkState::kUnknown;
    for (const AgentView* a : t.members) {
      if (!a->revoked && a->reachable_since != 0 && t.mono - a->reachable_since >= o_.clear_after.count() * kMs) {
        cleared = true;
      }
    }
    if (cleared && s.state == reg::LinkState::kDown) {
      // The agents' own windows still count the outage's lost probes:
      // judge the link on what follows it.
      for (AgentView* a : t.members) {
        a->reported_at = 0;
        a->reports_valid_after = t.mono + window;
        a->probes.clear();
      }
      m = reg::LinkMetrics();
      m.window_end_unix_nanos = t.wall;
    }
    if (cleared) {
      if (Raises(m) && w.have_metrics) {
        next = reg::LinkState::kDegraded;
        reason = DegradedReason(m);
        s.clear_since = 0;
      } else {
        next = reg::LinkState::kUp;
        reason = "agents answer";
      }
    }
  } else if (s.state == reg::LinkState::kUp) {
    if (Raises(m) && w.have_metrics) {
      next = reg::LinkState::kDegraded;
      reason = DegradedReason(m);
      s.clear_since = 0;
    }
  } else if (s.state == reg::LinkState::kDegraded) {
    if (below_clear) {
      if (s.clear_since == 0) s.clear_since = t.mono;
      if (t.mono - s.clear_since >= o_.degraded_clear_for.count() * kMs) {
        next = reg::LinkState::kUp;
        reason = "loss, rtt and jitter below their clear thresholds for " +
                 Seconds(o_.degraded_clear_for.count() * kMs);
      }
    } else {
      s.clear_since = 0;
    }
  }
  s.metrics = m;
  if (next == s.state) return false;
  cs::LinkChange c;
  c.site = t.site_id;
  c.from_link = s.state;
  c.to_link = next;
  c.at_unix_nanos = t.wall;
  c.reason = reason;
  c.metrics = m;
  t.out.changes.push_back(std::move(c));
  s.state = next;
  s.since_wall = t.wall;
  s.reason = reason;
  return true;
}

bool Evaluator::Sample(SiteTick& t, SiteView& s, const reg::LinkMetrics& m, bool have_metrics) {
  // The 10 s history sample, aligned to wall-clock multiples of 10 s.
  const int64_t bucket = t.wall - (t.wall % kSampleNanos);
  if (s.sample_start_wall == 0) s.sample_start_wall = bucket;
  bool sample_due = false;
  if (bucket > s.sample_start_wall && s.ticks > 0) {
    reg::LinkSample sample;
    sample.start_unix_nanos = s.sample_start_wall;
    sample.duration_nanos = kSampleNanos;
    sample.availability = static_cast<double>(s.up_ticks) / s.ticks;
    sample.worst = s.worst;
    if (s.metric_ticks > 0) {
      sample.rtt_ms_avg = s.rtt_sum / s.metric_ticks;
      sample.jitter_ms = s.jitter_sum / s.metric_ticks;
      sample.loss_ratio = s.loss_sum / s.metric_ticks;
    }
    sample.rtt_ms_max = s.rtt_max;
    t.out.samples.emplace_back(t.site_id, sample);
    if (s.state != reg::LinkState::kUnknown) {
      s.availability.push_back(sample.availability);
      while (s.availability.size() > kDaySamples) s.availability.pop_front();
    }
    s.ticks = s.up_ticks = s.metric_ticks = 0;
    s.worst = reg::LinkState::kUnknown;
    s.rtt_sum = s.rtt_max = s.jitter_sum = s.loss_sum = 0;
    s.sample_start_wall = bucket;
    sample_due = true;
  } else if (bucket > s.sample_start_wall) {
    s.sample_start_wall = bucket;
  }
  if (s.state != reg::LinkState::kUnknown) {
    ++s.ticks;
    if (s.state == reg::LinkState::kUp || s.state == reg::LinkState::kDegraded) ++s.up_ticks;
    s.worst = std::max(s.worst, s.state);
    if (have_metrics && s.state != reg::LinkState::kDown) {
      ++s.metric_ticks;
      s.rtt_sum += m.rtt_ms;
      s.rtt_max = std::max(s.rtt_max, m.rtt_ms);
      s.jitter_sum += m.jitter_ms;
      s.loss_sum += m.loss_ratio;
    }
  }
  return sample_due;
}

}  // namespace rampart::links::detail
