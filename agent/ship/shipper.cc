#include "agent/ship/shipper.h"

#include <pthread.h>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <deque>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "agent/ship/batch_encoding.h"
#include "agent/ship/health.h"
#include "agent/ship/prober.h"
#include "agent/ship/stream_call.h"
#include "common/log/log.h"
#include "common/rpc/status.h"
#include "common/status/check.h"
#include "common/tls/pki.h"
#include "common/util/clock.h"
#include "common/util/mutex.h"
#include "rampart/v1/agent_service.grpc.pb.h"

namespace rampart::ship {
namespace {

namespace v1 = rampart::v1;
using agent_store::Lane;
using agent_store::OutboxEntry;
using agent_store::SeqRange;
using detail::Inbox;
using detail::StreamCall;

// Events in a stream's first batch; see the slow start in Session.
constexpr size_t kFirstBatchEvents = 64;

class ShipperImpl final : public Shipper {
 public:
  ShipperImpl(const ShipperOptions& options, agent_store::Outbox& outbox)
      : o_(options), outbox_(outbox), sampler_(options.data_dir) {}
  ~ShipperImpl() override { Stop(std::chrono::milliseconds(0)); }

  Status Init() {
    if (o_.controller.empty()) o_.controller = o_.identity.controller;
    RAMPART_ASSIGN_OR_RETURN(auto hp, SplitHostPort(o_.controller));
    host_ = hp.first;
    if (o_.identity.agent_id.empty() || o_.identity.key_pem.empty() || o_.identity.certificate_pem.empty() ||
        o_.identity.ca_pem.empty()) {
      return InvalidArgumentError("the agent has no identity (run `rampart-agent enroll`)");
    }
    if (o_.batch_max_events == 0 || o_.max_batches_in_flight == 0) {
      return InvalidArgumentError("batch size and batches in flight must be at least 1");
    }
    rpc::ConfigureRuntime();
    if (o_.probes) prober_ = std::make_unique<detail::Prober>(o_.identity.agent_id);
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "ship");
      Run();
    });
    return Status::Ok();
  }

  void Stop(std::chrono::milliseconds drain) override {
    {
      MutexLock lock(&inbox_.mu);
      stop_requested_ = true;
      drain_ = drain;
      inbox_.wake = true;
      inbox_.cv.SignalAll();
    }
    if (thread_.joinable()) thread_.join();
    prober_.reset();
  }

  ShipperStats Stats() const override {
    MutexLock lock(&stats_mu_);
    ShipperStats s = stats_;
    if (prober_) {
      const detail::ProbeWindow w = prober_->Window();
      s.rtt_ms = w.rtt_ms;
      s.jitter_ms = w.jitter_ms;
      s.loss_ratio = w.loss_ratio;
      s.probes_sent = w.sent;
      s.probes_received = w.received;
    }
    return s;
  }

 private:
  bool StopRequested() EXCLUDES(inbox_.mu) {
    MutexLock lock(&inbox_.mu);
    return stop_requested_;
  }

  void SetError(const std::string& e) EXCLUDES(stats_mu_) {
    MutexLock lock(&stats_mu_);
    stats_.last_error = e;
    ++stats_.failures;
  }

  std::shared_ptr<grpc::Channel> MakeChannel() {
    grpc::SslCredentialsOptions s;
    s.pem_root_certs = o_.identity.ca_pem;
    s.pem_private_key = o_.identity.key_pem;
    s.pem_cert_chain = o_.identity.certificate_pem;
    grpc::ChannelArguments args;
    if (!o_.identity.server_name.empty()) args.SetSslTargetNameOverride(o_.identity.server_name);
    // One connection per shipper, even when a process runs many (benchmarks).
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    // Notice a dead connection (a cut WAN link) within ~35 s. gRPC also
    // makes the timeout the socket's TCP_USER_TIMEOUT, so it must outlast
    // retransmissions on a lossy link or a briefly overloaded controller.
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 15000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
    // Our own backoff decides when to retry; gRPC's must not add to it.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 1000);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
    args.SetMaxReceiveMessageSize(16 << 20);
    return grpc::CreateCustomChannel(o_.controller, grpc::SslCredentials(s), args);
  }

  void Run() {
    std::mt19937_64 rng(std::random_device{}());
    std::chrono::milliseconds backoff = o_.reconnect_initial;
    while (!StopRequested()) {
      MaybeRenew();
      bool welcomed = false;
      Status s = RunStream(&welcomed);
      {
        MutexLock lock(&stats_mu_);
        stats_.connected = false;
      }
      if (StopRequested()) break;
      if (welcomed) backoff = o_.reconnect_initial;
      SetError(s.ToString());
      // Jittered exponential backoff: uniform in [backoff/2, backoff].
      std::uniform_int_distribution<int64_t> pick(backoff.count() / 2, std::max<int64_t>(1, backoff.count()));
      const std::chrono::milliseconds wait(pick(rng));
      log::Warn("ship", "stream to the controller ended; retrying",
                {{"controller", o_.controller}, {"error", s}, {"retry_in_ms", wait.count()}});
      {
        const auto until = std::chrono::steady_clock::now() + wait;
        MutexLock lock(&inbox_.mu);
        while (!stop_requested_ && inbox_.cv.WaitUntil(&inbox_.mu, until)) {
        }
      }
      backoff = std::min(backoff * 2, o_.reconnect_max);
    }
  }

  void MaybeRenew() {
    if (o_.data_dir.empty() || !RenewalDue(o_.identity, WallNanos() / 1'000'000'000)) return;
    auto key = tls::GeneratePrivateKeyPem();
    if (!key.has_value()) return;
    tls::Subject subject;
    subject.common_name = o_.identity.agent_id;
    auto csr = tls::CreateCsrPem(*key, subject);
    if (!csr.has_value()) return;
    auto stub = v1::AgentService::NewStub(MakeChannel());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + o_.connect_timeout);
    v1::RenewRequest req;
    req.set_csr_pem(*csr);
    v1::RenewResponse resp;
    const grpc::Status s = stub->Renew(&ctx, req, &resp);
    if (!s.ok()) {
      log::Warn("ship", "certificate renewal failed; will retry", {{"error", rpc::FromGrpc(s)}});
      return;
    }
    Status saved = SaveRenewed(o_.data_dir, o_.identity, *key, resp.certificate_pem());
    if (!saved.ok()) {
      log::Error("ship", "cannot save the renewed certificate", {{"error", saved}});
      return;
    }
    log::Info("ship", "certificate renewed",
              {{"not_after", FormatRfc3339(o_.identity.not_after_unix_seconds * 1'000'000'000)}});
  }

  v1::Heartbeat MakeHeartbeat() {
    v1::Heartbeat hb;
    const HealthSample h = sampler_.Sample();
    const agent_store::OutboxStats q = outbox_.Stats();
    hb.set_agent_id(o_.identity.agent_id);
    hb.set_version(o_.version);
    hb.set_sent_unix_nanos(WallNanos());
    hb.set_cpu_percent(h.cpu_percent);
    hb.set_rss_bytes(h.rss_bytes);
    hb.set_host_cpu_percent(h.host_cpu_percent);
    hb.set_host_memory_used_bytes(h.host_memory_used_bytes);
    hb.set_host_memory_total_bytes(h.host_memory_total_bytes);
    hb.set_load_average_1m(h.load_average_1m);
    hb.set_disk_free_bytes(h.disk_free_bytes);
    hb.set_queue_depth(q.depth);
    hb.set_queue_bytes(q.bytes);
    hb.set_dropped_events(q.dropped);
    hb.set_last_sequence(q.last_sequence);
    if (o_.extra_health) {
      uint64_t drops = 0;
      std::string policy, rules;
      o_.extra_health(&drops, &policy, &rules);
      hb.set_capture_drops(drops);
      hb.set_policy_version(policy);
      hb.set_rules_version(rules);
    }
    if (prober_) {
      const detail::ProbeWindow w = prober_->Window();
      v1::LinkMeasurement* l = hb.mutable_link();
      l->set_rtt_ms(w.rtt_ms);
      l->set_jitter_ms(w.jitter_ms);
      l->set_loss_ratio(w.loss_ratio);
      l->set_probes_sent(w.sent);
      l->set_probes_received(w.received);
      l->set_window_end_unix_nanos(WallNanos());
    }
    return hb;
  }

  static std::string Encode(const v1::AgentMessage& m) {
    std::string out;
    m.SerializeToString(&out);
    return out;
  }

  // Waits for the inbox, a stop, or `until` (monotonic ns).
  void Wait(int64_t until) EXCLUDES(inbox_.mu) {
    MutexLock lock(&inbox_.mu);
    const int64_t now = MonotonicNanos();
    if (until <= now) return;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(until - now);
    while (!stop_requested_ && !inbox_.done && !inbox_.read_closed && inbox_.messages.empty() && !inbox_.wake) {
      if (!inbox_.cv.WaitUntil(&inbox_.mu, deadline)) break;
    }
    inbox_.wake = false;
  }

  // Releases the call's hold and waits for OnDone: its final status.
  grpc::Status AwaitEnd(StreamCall& call) {
    call.ReleaseHold();
    return inbox_.AwaitDone();
  }

  // One stream's state, from the Welcome to its end.
  struct Session {
    uint32_t max_in_flight = 1;
    int64_t heartbeat_every = 0;  // ns
    uint64_t backlog_end = 0;     // Sequences up to here were queued at connect: the backlog.
    uint64_t cursor = 0;          // Highest sequence sent in sequence order.
    uint64_t alert_cursor = 0;    // Highest alert sent ahead of the backlog.
    std::set<uint64_t> ahead;     // Alerts sent ahead, not to be sent again in order.
    std::map<uint64_t, size_t> in_flight;  // batch id -> events
    std::set<uint64_t> gone_reported;
    uint64_t batch_id = 0;
    int64_t next_heartbeat = INT64_MAX;
    double tokens = 0;  // Backlog pacing: events that may leave now.
    int64_t tokens_at = 0;
    std::vector<OutboxEntry> entries;
    // Slow start: the first batches of a stream are small and every
    // acknowledged batch doubles the size, up to batch_max_events. After a
    // controller restart every agent reconnects at once; with full-size
    // batches their first ones all arrive together, interleaved on the
    // controller's reads, and the store idles until hundreds of megabytes
    // have crossed. Small first batches are stored and acknowledged within
    // one round trip, and on a link that just came back a cut costs little.
    size_t batch_limit = 0;
    bool draining = false;
    int64_t drain_deadline = 0;
  };

  // Connects, says Hello and runs the stream until it ends. *welcomed tells
  // whether the controller answered (the backoff starts over then).
  Status RunStream(bool* welcomed) {
    inbox_.Reset();
    auto channel = MakeChannel();
    grpc::GenericStub stub(channel);
    auto call = std::make_unique<StreamCall>(stub, inbox_);
    // Whatever happens below, the call ends before it is destroyed.
    struct Closer {
      StreamCall* call;
      Inbox& inbox;
      ~Closer() {
        call->Cancel();
        call->ReleaseHold();
        inbox.AwaitDone();
      }
    } closer{call.get(), inbox_};

    v1::AgentMessage hello_msg;
    v1::Hello* hello = hello_msg.mutable_hello();
    hello->set_agent_id(o_.identity.agent_id);
    hello->set_version(o_.version);
    hello->set_last_sequence(outbox_.Stats().last_sequence);
    hello->set_hostname(o_.hostname);
    call->Write(Encode(hello_msg));

    RAMPART_ASSIGN_OR_RETURN(v1::Welcome welcome, AwaitWelcome(*call));
    *welcomed = true;
    RAMPART_ASSIGN_OR_RETURN(Session session, BeginSession(welcome));
    return StreamLoop(*call, session);
  }

  // The controller's Welcome, or why the stream ended before it.
  Result<v1::Welcome> AwaitWelcome(StreamCall& call) EXCLUDES(inbox_.mu) {
    const int64_t deadline = MonotonicNanos() + o_.connect_timeout.count() * 1'000'000;
    bool ended = false;
    {
      MutexLock lock(&inbox_.mu);
      while (true) {
        if (!inbox_.messages.empty()) {
          v1::ControllerMessage m = std::move(inbox_.messages.front());
          inbox_.messages.pop_front();
          if (m.has_welcome()) return m.welcome();
          continue;
        }
        if (inbox_.done || inbox_.read_closed) {
          ended = true;
          break;
        }
        if (stop_requested_) return CancelledError("stopping");
        const int64_t now = MonotonicNanos();
        if (now >= deadline) return DeadlineExceededError("no Welcome from " + o_.controller);
        inbox_.cv.WaitFor(&inbox_.mu, std::chrono::nanoseconds(deadline - now));
      }
    }
    RAMPART_CHECK(ended);
    return rpc::FromGrpc(AwaitEnd(call), "stream");
  }

  // Applies what the Welcome says (resume point, renumbering, probes,
  // limits) and returns the stream's starting state.
  Result<Session> BeginSession(const v1::Welcome& welcome) {
    if (welcome.sequence_reset()) {
      RAMPART_RETURN_IF_ERROR(outbox_.Renumber(welcome.last_stored_sequence() + 1));
    }
    if (welcome.last_stored_sequence() > 0) {
      // Stored already: the controller's ack for them was lost.
      SeqRange stored{1, welcome.last_stored_sequence()};
      RAMPART_RETURN_IF_ERROR(outbox_.Ack({&stored, 1}));
    }
    if (prober_ && welcome.probe_port() > 0 && !welcome.probe_key().empty()) {
      prober_->Configure(host_, static_cast<int>(welcome.probe_port()), welcome.probe_key(),
                         std::chrono::milliseconds(welcome.probe_interval_ms() ? welcome.probe_interval_ms() : 200));
    }
    Session s;
    s.max_in_flight = std::max<uint32_t>(
        1, welcome.max_batches_in_flight() ? std::min(welcome.max_batches_in_flight(), o_.max_batches_in_flight)
                                           : o_.max_batches_in_flight);
    s.heartbeat_every =
        std::max<int64_t>(1, welcome.heartbeat_interval_seconds() ? welcome.heartbeat_interval_seconds() : 10) *
        1'000'000'000;
    const agent_store::OutboxStats now_stats = outbox_.Stats();
    s.backlog_end = now_stats.depth > o_.backlog_threshold ? now_stats.last_sequence : 0;
    s.next_heartbeat = o_.heartbeats ? MonotonicNanos() : INT64_MAX;
    s.tokens_at = MonotonicNanos();
    s.batch_limit = std::min(o_.batch_max_events, kFirstBatchEvents);
    {
      MutexLock lock(&stats_mu_);
      stats_.connected = true;
      ++stats_.connects;
      stats_.stored_through = welcome.last_stored_sequence();
    }
    log::Info("ship", "connected to the controller",
              {{"controller", o_.controller}, {"agent", welcome.agent_id()},
               {"resume_after", welcome.last_stored_sequence()}, {"queued", now_stats.depth},
               {"backlog_through", s.backlog_end}});
    return s;
  }

  // Sends batches, heartbeats and applies acks until the stream ends, or
  // until a stop has drained it.
  Status StreamLoop(StreamCall& call, Session& s) {
    while (true) {
      std::deque<v1::ControllerMessage> messages;
      bool done = false;
      bool stop = false;
      std::chrono::milliseconds drain{0};
      {
        MutexLock lock(&inbox_.mu);
        messages.swap(inbox_.messages);
        // Every message arrived before the read side closed.
        done = inbox_.done || inbox_.read_closed;
        stop = stop_requested_;
        drain = drain_;
      }
      RAMPART_RETURN_IF_ERROR(ApplyAcks(messages, s));
      if (done) return s.draining ? Status::Ok() : rpc::FromGrpc(AwaitEnd(call), "stream");
      const int64_t now = MonotonicNanos();
      if (stop && !s.draining) {
        s.draining = true;
        s.drain_deadline = now + drain.count() * 1'000'000;
        v1::AgentMessage bye;
        bye.mutable_goodbye()->set_reason("shutdown");
        call.Write(Encode(bye));
        call.CloseWrites();
      }
      if (s.draining) {
        // The controller ends the stream once it has read the Goodbye and
        // acknowledged every batch in flight; `done` above returns then.
        if (now >= s.drain_deadline) return Status::Ok();
        Wait(s.drain_deadline);
        continue;
      }
      if (now >= s.next_heartbeat) {
        v1::AgentMessage hb;
        *hb.mutable_heartbeat() = MakeHeartbeat();
        call.Write(Encode(hb));
        s.next_heartbeat = now + s.heartbeat_every;
        MutexLock lock(&stats_mu_);
        ++stats_.heartbeats_sent;
      }
      int64_t wake_at = std::min(s.next_heartbeat, now + 50'000'000);
      if (s.in_flight.size() < s.max_in_flight) {
        RAMPART_ASSIGN_OR_RETURN(const Next next, SendNext(call, s, now, &wake_at));
        if (next == Next::kLoop) continue;
      }
      Wait(wake_at);
    }
  }

  // Applies the controller's acks to the outbox and the slow start.
  Status ApplyAcks(const std::deque<v1::ControllerMessage>& messages, Session& s) {
    for (const v1::ControllerMessage& m : messages) {
      if (!m.has_ack()) continue;
      std::vector<SeqRange> ranges;
      uint64_t acked = 0;
      for (const v1::SequenceRange& r : m.ack().ranges()) {
        if (r.last() < r.first()) continue;
        ranges.push_back({r.first(), r.last()});
        acked += r.last() - r.first() + 1;
      }
      RAMPART_RETURN_IF_ERROR(outbox_.Ack(ranges));
      if (s.in_flight.erase(m.ack().batch_id()) > 0) s.batch_limit = std::min(o_.batch_max_events, s.batch_limit * 2);
      for (const SeqRange& r : ranges) {
        for (auto it = s.ahead.lower_bound(r.first); it != s.ahead.end() && *it <= r.last;) it = s.ahead.erase(it);
      }
      MutexLock lock(&stats_mu_);
      stats_.events_acked += acked;
      stats_.stored_through = std::max(stats_.stored_through, m.ack().through_sequence());
    }
    return Status::Ok();
  }

  // What the stream loop does after SendNext: look again at once, or wait
  // until `wake_at` (or the inbox) first.
  enum class Next { kLoop, kWait };

  // Sends the next batch if one is ready: alerts ahead of a backlog, the
  // backlog paced, or new events; on an idle stream, sleeps on the spool.
  Result<Next> SendNext(StreamCall& call, Session& s, int64_t now, int64_t* wake_at) {
    const bool backlog = s.cursor < s.backlog_end;
    // New gone ranges ride along with the next batch.
    std::vector<SeqRange> gone;
    for (const SeqRange& g : outbox_.Gone()) {
      if (s.gone_reported.insert(g.first).second) gone.push_back(g);
    }
    s.entries.clear();
    bool alerts_lane = false;
    if (backlog) {
      auto n = outbox_.Read(Lane::kAlerts, s.alert_cursor, o_.batch_max_events, o_.batch_max_bytes, &s.entries);
      if (!n.has_value()) return n.error();
      alerts_lane = *n > 0;
      // The alerts sent ahead are stored before the first backlog batch
      // leaves: wait for their acks (one round trip).
      if (!alerts_lane && !s.ahead.empty() && !s.in_flight.empty()) return Next::kWait;
    }
    size_t limit = s.batch_limit;
    if (!alerts_lane && backlog && o_.backlog_events_per_second > 0) {
      const double rate = o_.backlog_events_per_second;
      s.tokens = std::min(rate, s.tokens + rate * static_cast<double>(now - s.tokens_at) / 1e9);
      s.tokens_at = now;
      limit = static_cast<size_t>(std::min<double>(s.tokens, static_cast<double>(limit)));
      if (limit == 0) *wake_at = std::min(*wake_at, now + static_cast<int64_t>(1e9 / rate) + 1);
    }
    if (!alerts_lane && limit > 0 && outbox_.Stats().last_sequence > s.cursor) {
      auto n = outbox_.Read(Lane::kAll, s.cursor, limit, o_.batch_max_bytes, &s.entries);
      if (!n.has_value()) return n.error();
    }
    // In sequence order, skip alerts that already went ahead.
    size_t kept = 0;
    uint64_t last_seq = 0;
    for (size_t i = 0; i < s.entries.size(); ++i) {
      last_seq = std::max(last_seq, s.entries[i].sequence);
      if (!alerts_lane && s.ahead.contains(s.entries[i].sequence)) continue;
      if (kept != i) s.entries[kept] = std::move(s.entries[i]);
      ++kept;
    }
    s.entries.resize(kept);
    if (alerts_lane) {
      s.alert_cursor = last_seq;
      for (const OutboxEntry& e : s.entries) s.ahead.insert(e.sequence);
    } else if (last_seq > 0) {
      s.cursor = last_seq;
      if (backlog && o_.backlog_events_per_second > 0) s.tokens -= static_cast<double>(s.entries.size());
    }
    if (!s.entries.empty() || !gone.empty()) {
      const uint64_t id = ++s.batch_id;
      call.Write(detail::EncodeBatch(s.entries, backlog, gone, id));
      s.in_flight[id] = s.entries.size();
      MutexLock lock(&stats_mu_);
      ++stats_.batches_sent;
      stats_.events_sent += s.entries.size();
      if (alerts_lane) stats_.alerts_ahead += s.entries.size();
      return Next::kLoop;  // More may be ready at once.
    }
    if (last_seq > 0) return Next::kLoop;  // Only skipped entries: read on.
    if (s.in_flight.empty() && !backlog && outbox_.Stats().last_sequence <= s.cursor) {
      // Idle: sleep on the spool until something is appended, instead of
      // polling it 20 times a second (most of an idle agent's CPU). The
      // inbox (a stream end, a stop) is checked at least every `kIdleWait`;
      // nothing else arrives while nothing is in flight.
      constexpr int64_t kIdleWait = 250'000'000;
      const int64_t until = std::min(s.next_heartbeat, now + kIdleWait);
      if (until > now) outbox_.WaitForAppend(s.cursor, std::chrono::milliseconds((until - now) / 1'000'000 + 1));
      return Next::kLoop;
    }
    return Next::kWait;
  }

  ShipperOptions o_;
  agent_store::Outbox& outbox_;
  HealthSampler sampler_;
  std::string host_;
  std::unique_ptr<detail::Prober> prober_;
  std::thread thread_;
  Inbox inbox_;
  bool stop_requested_ GUARDED_BY(inbox_.mu) = false;
  std::chrono::milliseconds drain_ GUARDED_BY(inbox_.mu) = std::chrono::milliseconds(0);
  mutable Mutex stats_mu_;
  ShipperStats stats_ GUARDED_BY(stats_mu_);
};

}  // namespace

Result<std::unique_ptr<Shipper>> Shipper::Start(const ShipperOptions& options, agent_store::Outbox& outbox) {
  auto s = std::make_unique<ShipperImpl>(options, outbox);
  RAMPART_RETURN_IF_ERROR(s->Init());
  return std::unique_ptr<Shipper>(std::move(s));
}

}  // namespace rampart::ship
