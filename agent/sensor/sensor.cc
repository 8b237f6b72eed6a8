#include "agent/sensor/sensor.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <exception>
#include <thread>
#include <vector>

#include "agent/sensor/stats.h"
#include "agent/sensor/worker.h"
#include "common/log/log.h"
#include "common/util/clock.h"
#include "common/util/mutex.h"

namespace rampart::sensor {
namespace {

// A batch (or a tick when batch is null) for one worker.
struct Job {
  capture::FrameBatch* batch = nullptr;
  const std::vector<uint32_t>* frames = nullptr;  // This worker's frames of the batch.
  int64_t tick_nanos = 0;
};

class JobQueue {
 public:
  void Push(Job j) EXCLUDES(mu_) {
    {
      MutexLock lock(&mu_);
      q_.push_back(j);
    }
    cv_.Signal();
  }
  // False once closed and drained.
  bool Pop(Job* j) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    while (!closed_ && q_.empty()) cv_.Wait(&mu_);
    if (q_.empty()) return false;
    *j = q_.front();
    q_.pop_front();
    return true;
  }
  void Close() EXCLUDES(mu_) {
    {
      MutexLock lock(&mu_);
      closed_ = true;
    }
    cv_.SignalAll();
  }

 private:
  Mutex mu_;
  CondVar cv_;
  std::deque<Job> q_ GUARDED_BY(mu_);
  bool closed_ GUARDED_BY(mu_) = false;
};

class SensorImpl final : public Sensor {
 public:
  SensorImpl(const SensorOptions& options, capture::LinkType link, eve::EveSink* sink)
      : options_(options), link_(link), sink_(sink) {}

  Status Init() {
    // What the inspector needs kept (InspectorNeeds) widens the parsers' limits.
    if (options_.inspector != nullptr) {
      const InspectorNeeds needs = options_.inspector->Needs();
      options_.app.http.body_limit = std::max<size_t>(options_.app.http.body_limit, needs.http_body_limit);
    }
    for (int i = 0; i < options_.workers; ++i) {
      std::unique_ptr<Inspector> insp;
      if (options_.inspector != nullptr) {
        auto created = options_.inspector->Create(i);
        if (!created) return created.error();
        insp = std::move(created).value();
      }
      workers_.push_back(std::make_unique<Worker>(i, options_, link_, sink_, std::move(insp)));
    }
    return Status::Ok();
  }

  Status Run(capture::PacketSource& source) override {
    source_.store(&source);
    if (stop_.load()) source.Stop();
    start_wall_ = MonotonicNanos();
    next_stats_ = start_wall_ + StatsIntervalNanos();
    source_error_ = Status::Ok();
    Status result = options_.workers == 1 ? RunInline(source) : RunThreaded(source);
    for (auto& w : workers_) w->Finish();
    WorkerStats total;
    for (auto& w : workers_) total.Add(w->Stats());
    const capture::SourceStats ss = source.Stats();
    WriteStats(total, ss, true);
    source_.store(nullptr);
    // Output lost is reported before input that ended early (the first
    // output error wins).
    auto replaceable = [&] { return result.ok() || (!source_error_.ok() && result == source_error_); };
    for (auto& w : workers_) {
      if (Status s = w->sink_status(); !s.ok() && replaceable()) result = s.WithContext("writing EVE output");
    }
    if (Status s = sink_->Flush(); !s.ok() && replaceable()) result = s.WithContext("writing EVE output");
    totals_.source_error = source_error_;
    totals_.packets = total.decode.pkts;
    totals_.bytes = total.decode.bytes;
    totals_.flows = total.flow.created;
    totals_.records = total.records + stats_records_;
    totals_.alerts = total.alerts;
    totals_.anomalies = total.anomalies;
    totals_.kernel_drops = ss.kernel_drops;
    return result;
  }

  void Stop() override {
    stop_.store(true);
    if (capture::PacketSource* s = source_.load(); s != nullptr) s->Stop();
  }

  SensorTotals totals() const override { return totals_; }

 private:
  int64_t StatsIntervalNanos() const {
    return options_.stats_interval.count() > 0 ? options_.stats_interval.count() * 1'000'000 : INT64_MAX / 4;
  }

  bool StatsDue() {
    const int64_t now = MonotonicNanos();
    if (now < next_stats_) return false;
    next_stats_ = now + StatsIntervalNanos();
    return true;
  }

  Status RunInline(capture::PacketSource& source) {
    Worker& w = *workers_[0];
    while (true) {
      auto next = source.Next();
      if (!next) {
        source_error_ = next.error();
        return source_error_;
      }
      capture::FrameBatch* batch = *next;
      if (batch == nullptr) return Status::Ok();
      for (const capture::Frame& f : batch->frames()) w.Process(f);
      const bool empty = batch->frames().empty();
      batch->Release();
      if (!options_.pcap_cnt) {
        if (empty) w.Tick(WallNanos());
        (void)w.Flush();
      }
      if (StatsDue()) {
        WriteStats(w.Stats(), source.Stats(), false);
      }
      if (Status s = w.sink_status(); !s.ok()) return s.WithContext("writing EVE output");
    }
  }

  Status RunThreaded(capture::PacketSource& source) {
    const int n = options_.workers;
    std::vector<JobQueue> queues(static_cast<size_t>(n));
    std::vector<std::thread> threads;
    std::atomic<bool> failed{false};
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        Worker& w = *workers_[static_cast<size_t>(i)];
        Job job;
        try {
          while (queues[static_cast<size_t>(i)].Pop(&job)) {
            if (job.batch == nullptr) {
              w.Tick(job.tick_nanos);
              w.Publish();
              continue;
            }
            for (uint32_t idx : *job.frames) w.Process(job.batch->frames()[idx]);
            job.batch->Release();
            w.Publish();
            if (!options_.pcap_cnt) (void)w.Flush();
          }
        } catch (const std::exception& e) {
          log::Error("sensor", "worker stopped on an exception", {{"worker", i}, {"what", e.what()}});
          failed.store(true);
          source.Stop();
        }
      });
    }
    Status result;
    const capture::LinkType link = link_;
    while (true) {
      auto next = source.Next();
      if (!next) {
        source_error_ = next.error();
        result = source_error_;
        break;
      }
      capture::FrameBatch* batch = *next;
      if (batch == nullptr) break;
      const auto frames = batch->frames();
      if (frames.empty()) {
        batch->Release();
        if (!options_.pcap_cnt) {
          const int64_t now = WallNanos();
          for (int i = 0; i < n; ++i) queues[static_cast<size_t>(i)].Push(Job{nullptr, nullptr, now});
        }
      } else {
        const auto bi = static_cast<size_t>(batch->index());
        if (lists_.size() <= bi) lists_.resize(bi + 1);
        auto& per = lists_[bi];
        per.resize(static_cast<size_t>(n));
        for (auto& l : per) l.clear();
        for (uint32_t k = 0; k < frames.size(); ++k) {
          const uint32_t h = decode::DispatchHash(link, frames[k].bytes);
          per[h % static_cast<uint32_t>(n)].push_back(k);
        }
        int users = 0;
        for (auto& l : per) users += l.empty() ? 0 : 1;
        batch->Retain(users);
        for (int i = 0; i < n; ++i) {
          if (!per[static_cast<size_t>(i)].empty()) {
            queues[static_cast<size_t>(i)].Push(Job{batch, &per[static_cast<size_t>(i)], 0});
          }
        }
      }
      if (StatsDue()) {
        WorkerStats total;
        for (auto& w : workers_) total.Add(w->Published());
        WriteStats(total, source.Stats(), false);
      }
      if (failed.load()) break;
    }
    for (auto& q : queues) q.Close();
    for (auto& t : threads) t.join();
    if (failed.load() && result.ok()) result = InternalError("a sensor worker stopped on an exception (see the log)");
    return result;
  }

  void WriteStats(const WorkerStats& total, const capture::SourceStats& ss, bool final) {
    std::string line;
    const int64_t uptime = (MonotonicNanos() - start_wall_) / 1'000'000'000;
    const int64_t ts = options_.pcap_cnt ? static_cast<int64_t>(total.last_packet_nanos) : WallNanos();
    WriteStatsRecord(&line, ts, uptime, total, options_.capture_stats ? &ss : nullptr);
    line.push_back('\n');
    (void)sink_->Write(line);
    ++stats_records_;
    if (!options_.pcap_cnt && !final) {
      // Live capture: the counters in the log too, once per interval.
      log::Info("sensor", "stats",
                {{"packets", total.decode.pkts}, {"kernel_drops", ss.kernel_drops}, {"flows", total.flow.created},
                 {"active_flows", total.flow.active}, {"records", total.records}, {"alerts", total.alerts},
                 {"anomalies", total.anomalies}, {"reassembly_memuse", total.reassembly_memuse}});
    }
  }

  SensorOptions options_;
  capture::LinkType link_;
  eve::EveSink* sink_;
  std::vector<std::unique_ptr<Worker>> workers_;
  // [batch index][worker] -> frame indices. A deque: growing it never moves
  // the lists workers are reading.
  std::deque<std::vector<std::vector<uint32_t>>> lists_;
  std::atomic<capture::PacketSource*> source_{nullptr};
  std::atomic<bool> stop_{false};
  Status source_error_;  // Why the source ended early, or OK (set by Run*).
  int64_t start_wall_ = 0;
  int64_t next_stats_ = 0;
  uint64_t stats_records_ = 0;
  SensorTotals totals_;
};

}  // namespace

Result<std::unique_ptr<Sensor>> Sensor::Create(const SensorOptions& options, capture::LinkType link,
                                               eve::EveSink* sink) {
  if (sink == nullptr) return InvalidArgumentError("sensor: no EVE sink");
  if (options.workers < 1 || options.workers > 64) {
    return InvalidArgumentError("sensor: workers must be 1..64, got " + std::to_string(options.workers));
  }
  // The inspector's needs reach the parsers: HTTP bodies are kept only as
  // far as an inspector asks (InspectorNeeds::http_body_limit).
  SensorOptions effective = options;
  if (options.inspector != nullptr) {
    effective.app.http.body_limit =
        std::max<size_t>(effective.app.http.body_limit, options.inspector->Needs().http_body_limit);
  }
  auto s = std::make_unique<SensorImpl>(effective, link, sink);
  RAMPART_RETURN_IF_ERROR(s->Init());
  return std::unique_ptr<Sensor>(std::move(s));
}

}  // namespace rampart::sensor
