#include "controller/ingest/server.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <deque>
#include <mutex>

#include "common/log/log.h"
#include "common/rpc/status.h"
#include "common/tls/pki.h"
#include "common/util/clock.h"
#include "common/util/mutex.h"
#include "controller/fleet/fleet.h"
#include "controller/ingest/credentials.h"
#include "controller/links/monitor.h"
#include "controller/store/event_writer.h"
#include "rampart/v1/agent_service.grpc.pb.h"

namespace rampart::ingest {
namespace {

namespace cs = controller_store;
namespace reg = registry;
namespace v1 = rampart::v1;

struct AtomicCounters {
  std::atomic<uint64_t> streams_open{0}, streams_total{0}, streams_refused{0}, batches{0}, events{0}, acks{0},
      heartbeats{0}, enrolments{0}, enrolments_refused{0};
};

// The verified client certificate of a call, or why there is none.
Result<fleet::Peer> PeerOf(const grpc::CallbackServerContext* ctx) {
  const auto auth = ctx->auth_context();
  if (auth) {
    const auto pems = auth->FindPropertyValues("x509_pem_cert");
    if (!pems.empty()) {
      auto info = tls::InspectCertificate(std::string(pems.front().data(), pems.front().size()));
      if (info.has_value() && !info->subject_cn.empty()) return fleet::Peer{info->subject_cn, info->serial_hex};
    }
  }
  return UnauthenticatedError("a client certificate issued by this controller is required (enrol the agent first)");
}

class Service;

// A stream's lock. Recursive: gRPC may run a reaction inline from a Start*
// call made with it held (the re-entry happens inside gRPC, where the
// analysis does not look). Not common/util/mutex.h's RecursiveMutex: the
// store's and the fleet's completions reach the reactor through `Shared`
// and must tell the analysis that the lock they took is the reactor's
// (AssertHeld), which that type does not offer.
class CAPABILITY("mutex") StreamMutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  // For completions that reach the reactor through `Shared` (the same lock
  // by another name, which the analysis cannot tell).
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

 private:
  std::recursive_mutex mu_;
};

class SCOPED_CAPABILITY StreamLock {
 public:
  explicit StreamLock(StreamMutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~StreamLock() RELEASE() { mu_->Unlock(); }
  StreamLock(const StreamLock&) = delete;
  StreamLock& operator=(const StreamLock&) = delete;

 private:
  StreamMutex* const mu_;
};

// One agent's stream. Every reaction and every completion from the store's
// writer thread takes `shared->mu`, so reactor state has one owner at a time.
class StreamReactor final : public grpc::ServerBidiReactor<v1::AgentMessage, v1::ControllerMessage> {
 public:
  struct Shared {
    StreamMutex mu;
    StreamReactor* reactor GUARDED_BY(mu) = nullptr;  // Null once OnDone ran.
  };

  StreamReactor(Service* service, grpc::CallbackServerContext* ctx);
  void OnReadDone(bool ok) override EXCLUDES(mu_);
  void OnWriteDone(bool ok) override EXCLUDES(mu_);
  void OnCancel() override EXCLUDES(mu_);
  void OnDone() override EXCLUDES(mu_);

 private:
  void HandleMessage() REQUIRES(mu_);
  void HandleHello(const v1::Hello& hello) REQUIRES(mu_);
  void HandleBatch(v1::EventBatch* batch) REQUIRES(mu_);
  void HandleHeartbeat(const v1::Heartbeat& hb) REQUIRES(mu_);
  void OnIngested(uint64_t batch_id, Result<cs::IngestResult> result) REQUIRES(mu_);
  void Enqueue(v1::ControllerMessage msg) REQUIRES(mu_);
  void MaybeRead() REQUIRES(mu_);
  void FinishOnce(const grpc::Status& status) REQUIRES(mu_);

  Service* service_;
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  StreamMutex& mu_ = shared_->mu;
  fleet::Peer peer_ GUARDED_BY(mu_);
  std::string address_ GUARDED_BY(mu_);
  uint64_t fleet_handle_ GUARDED_BY(mu_) = 0;
  bool authorized_ GUARDED_BY(mu_) = false;
  bool hello_ GUARDED_BY(mu_) = false;
  bool goodbye_ GUARDED_BY(mu_) = false;
  bool reading_ GUARDED_BY(mu_) = false;
  bool read_closed_ GUARDED_BY(mu_) = false;
  bool writing_ GUARDED_BY(mu_) = false;
  bool finished_ GUARDED_BY(mu_) = false;
  bool finish_deferred_ GUARDED_BY(mu_) = false;
  grpc::Status finish_status_ GUARDED_BY(mu_);
  uint32_t in_flight_ GUARDED_BY(mu_) = 0;
  // The message being read lives in its own arena; a batch takes the arena
  // with it to the store's writer, which frees it in one go after the write.
  std::unique_ptr<google::protobuf::Arena> in_arena_ GUARDED_BY(mu_);
  v1::AgentMessage* in_ GUARDED_BY(mu_) = nullptr;
  std::deque<v1::ControllerMessage> out_ GUARDED_BY(mu_);
};

class Service final : public v1::AgentService::CallbackService {
 public:
  Service(const Options& o, reg::Registry& r, cs::Store& s, fleet::Fleet& f, links::Monitor* l)
      : options(o), registry(r), writer(cs::WriterOf(s)), fleet(f), links(l) {}

  grpc::ServerUnaryReactor* GetCaCertificate(grpc::CallbackServerContext* ctx, const v1::CaRequest*,
                                             v1::CaResponse* resp) override {
    auto* r = ctx->DefaultReactor();
    resp->set_ca_pem(fleet.ca_pem());
    r->Finish(grpc::Status::OK);
    return r;
  }

  grpc::ServerUnaryReactor* Enroll(grpc::CallbackServerContext* ctx, const v1::EnrollRequest* req,
                                   v1::EnrollResponse* resp) override {
    auto* r = ctx->DefaultReactor();
    auto enrolled = fleet.Enroll(req->token(), req->csr_pem(), req->hostname(), req->version());
    if (!enrolled.has_value()) {
      ++counters.enrolments_refused;
      log::Warn("ingest", "enrolment refused", {{"peer", ctx->peer()}, {"error", enrolled.error()}});
      r->Finish(rpc::ToGrpc(enrolled.error()));
      return r;
    }
    ++counters.enrolments;
    resp->set_agent_id(enrolled->agent_id);
    resp->set_site(enrolled->site);
    resp->set_certificate_pem(enrolled->certificate_pem);
    resp->set_ca_pem(fleet.ca_pem());
    resp->set_not_after_unix_seconds(enrolled->not_after_unix_seconds);
    r->Finish(grpc::Status::OK);
    return r;
  }

  grpc::ServerUnaryReactor* Renew(grpc::CallbackServerContext* ctx, const v1::RenewRequest* req,
                                  v1::RenewResponse* resp) override {
    auto* r = ctx->DefaultReactor();
    auto peer = PeerOf(ctx);
    if (!peer.has_value()) {
      r->Finish(rpc::ToGrpc(peer.error()));
      return r;
    }
    auto renewed = fleet.Renew(*peer, req->csr_pem());
    if (!renewed.has_value()) {
      r->Finish(rpc::ToGrpc(renewed.error()));
      return r;
    }
    resp->set_certificate_pem(renewed->certificate_pem);
    resp->set_not_after_unix_seconds(renewed->not_after_unix_seconds);
    r->Finish(grpc::Status::OK);
    return r;
  }

  grpc::ServerBidiReactor<v1::AgentMessage, v1::ControllerMessage>* Stream(
      grpc::CallbackServerContext* ctx) override {
    return new StreamReactor(this, ctx);
  }

  void ReactorStarted() EXCLUDES(live_mu) {
    MutexLock lock(&live_mu);
    ++live;
  }
  void ReactorDone() EXCLUDES(live_mu) {
    MutexLock lock(&live_mu);
    --live;
    live_cv.SignalAll();
  }
  // Waits up to `deadline` for every reactor to finish; false when some did not.
  bool WaitForReactors(std::chrono::milliseconds deadline, int* left) EXCLUDES(live_mu) {
    MutexLock lock(&live_mu);
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (live != 0 && live_cv.WaitUntil(&live_mu, until)) {
    }
    *left = live;
    return live == 0;
  }

  const Options options;
  reg::Registry& registry;
  cs::EventWriter& writer;
  fleet::Fleet& fleet;
  links::Monitor* links;
  AtomicCounters counters;
  Mutex live_mu;
  CondVar live_cv;
  int live GUARDED_BY(live_mu) = 0;
};

StreamReactor::StreamReactor(Service* service, grpc::CallbackServerContext* ctx) : service_(service) {
  service_->ReactorStarted();
  StreamLock lock(&mu_);
  shared_->reactor = this;
  address_ = ctx->peer();
  auto peer = PeerOf(ctx);
  Status ok = peer.has_value() ? service_->fleet.Authorize(*peer) : peer.error();
  if (!ok.ok()) {
    ++service_->counters.streams_refused;
    log::Warn("ingest", "stream refused", {{"peer", address_}, {"error", ok}});
    FinishOnce(rpc::ToGrpc(ok));
    return;
  }
  peer_ = *peer;
  authorized_ = true;
  ++service_->counters.streams_open;
  ++service_->counters.streams_total;
  std::weak_ptr<Shared> weak = shared_;
  fleet_handle_ = service_->fleet.RegisterStream(peer_.agent_id, [weak](const Status& why) {
    auto shared = weak.lock();
    if (!shared) return;
    StreamLock l(&shared->mu);
    if (StreamReactor* r = shared->reactor) {
      r->mu_.AssertHeld();
      r->FinishOnce(rpc::ToGrpc(why));
    }
  });
  MaybeRead();
}

void StreamReactor::MaybeRead() {
  if (reading_ || read_closed_ || finished_) return;
  if (in_flight_ >= service_->options.max_batches_in_flight) return;
  if (in_flight_ > 0 && service_->writer.counters().queued_events > service_->options.max_queued_events) return;
  reading_ = true;
  if (in_arena_ == nullptr) {
    google::protobuf::ArenaOptions o;
    o.start_block_size = 16 << 10;  // An idle stream holds one block.
    o.max_block_size = 256 << 10;   // A full batch (up to 1 MiB) takes about eight.
    in_arena_ = std::make_unique<google::protobuf::Arena>(o);
  }
  if (in_ == nullptr) in_ = google::protobuf::Arena::CreateMessage<v1::AgentMessage>(in_arena_.get());
  StartRead(in_);
}

void StreamReactor::OnReadDone(bool ok) {
  StreamLock lock(&mu_);
  reading_ = false;
  if (!ok) {
    // The agent closed its side (or the call is going away). Acks still
    // owed are sent before the stream ends.
    read_closed_ = true;
    if (in_flight_ == 0) FinishOnce(grpc::Status::OK);
    return;
  }
  if (finished_) return;
  HandleMessage();
  if (in_arena_ != nullptr) {
    // Not a batch (those took the arena): drop what the message used.
    in_ = nullptr;
    in_arena_->Reset();
  }
  MaybeRead();
}

void StreamReactor::HandleMessage() {
  if (service_->links && hello_) service_->links->Heard(peer_.agent_id);
  switch (in_->body_case()) {
    case v1::AgentMessage::kHello:
      HandleHello(in_->hello());
      break;
    case v1::AgentMessage::kBatch:
      if (!hello_) {
        FinishOnce(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "send Hello first"));
        return;
      }
      HandleBatch(in_->mutable_batch());
      break;
    case v1::AgentMessage::kHeartbeat:
      if (hello_) HandleHeartbeat(in_->heartbeat());
      break;
    case v1::AgentMessage::kGoodbye:
      goodbye_ = true;
      break;
    case v1::AgentMessage::kCommandResult:
      break;  // Commands are not sent yet; results are ignored.
    default:
      break;  // A newer agent's message this controller does not know.
  }
}

void StreamReactor::HandleHello(const v1::Hello& hello) {
  if (hello_) {
    FinishOnce(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "Hello sent twice"));
    return;
  }
  auto resume = service_->writer.OpenAgent(peer_.agent_id, hello.last_sequence());
  if (!resume.has_value()) {
    FinishOnce(rpc::ToGrpc(resume.error()));
    return;
  }
  hello_ = true;
  const int64_t now = WallNanos();
  (void)service_->registry.UpdateAgentConnection(peer_.agent_id, true, address_, now, false);
  v1::ControllerMessage msg;
  v1::Welcome* w = msg.mutable_welcome();
  w->set_last_stored_sequence(resume->stored_through);
  w->set_sequence_reset(resume->sequence_reset);
  w->set_heartbeat_interval_seconds(static_cast<uint32_t>(service_->options.heartbeat_interval.count()));
  w->set_max_batches_in_flight(service_->options.max_batches_in_flight);
  w->set_agent_id(peer_.agent_id);
  if (service_->links) {
    w->set_probe_key(service_->links->StreamOpened(peer_.agent_id));
    w->set_probe_port(static_cast<uint32_t>(service_->links->reflector_port()));
    w->set_probe_interval_ms(static_cast<uint32_t>(service_->links->probe_interval().count()));
  }
  if (resume->sequence_reset) {
    log::Warn("ingest", "agent spool was reset; it renumbers past what is stored",
              {{"agent", peer_.agent_id}, {"stored_through", resume->stored_through},
               {"agent_last_sequence", hello.last_sequence()}});
  }
  log::Info("ingest", "agent connected", {{"agent", peer_.agent_id}, {"peer", address_},
                                          {"resume_after", resume->stored_through}, {"version", hello.version()}});
  Enqueue(std::move(msg));
}

void StreamReactor::HandleBatch(v1::EventBatch* batch) {
  ++service_->counters.batches;
  service_->counters.events += static_cast<uint64_t>(batch->events_size());
  cs::IngestBatch b;
  b.agent_id = peer_.agent_id;
  const uint64_t batch_id = batch->batch_id();
  for (const v1::SequenceRange& g : batch->gone()) b.gone.push_back({g.first(), g.last()});
  b.arena = std::move(in_arena_);
  b.arena_batch = batch;
  in_ = nullptr;
  ++in_flight_;
  std::shared_ptr<Shared> shared = shared_;
  b.done = [shared, batch_id](Result<cs::IngestResult> r) {
    StreamLock lock(&shared->mu);
    if (StreamReactor* reactor = shared->reactor) {
      reactor->mu_.AssertHeld();
      reactor->OnIngested(batch_id, std::move(r));
    }
  };
  service_->writer.Submit(std::move(b));
}

void StreamReactor::OnIngested(uint64_t batch_id, Result<cs::IngestResult> r) {
  if (in_flight_ > 0) --in_flight_;
  if (!r.has_value()) {
    log::Warn("ingest", "batch not stored; the agent will resend it", {{"agent", peer_.agent_id}, {"error", r.error()}});
    FinishOnce(grpc::Status(grpc::StatusCode::UNAVAILABLE, "store write failed: " + r.error().message()));
    return;
  }
  if (!finished_) {
    v1::ControllerMessage msg;
    v1::Ack* ack = msg.mutable_ack();
    ack->set_through_sequence(r->stored_through);
    ack->set_batch_id(batch_id);
    for (const cs::SequenceRange& a : r->accounted) {
      v1::SequenceRange* out = ack->add_ranges();
      out->set_first(a.first);
      out->set_last(a.last);
    }
    ++service_->counters.acks;
    Enqueue(std::move(msg));
  }
  if (read_closed_ && in_flight_ == 0) {
    FinishOnce(grpc::Status::OK);
    return;
  }
  MaybeRead();
}

void StreamReactor::HandleHeartbeat(const v1::Heartbeat& hb) {
  ++service_->counters.heartbeats;
  reg::AgentHealth h;
  h.reported_unix_nanos = WallNanos();  // The controller's clock: agents' clocks may be off.
  h.cpu_percent = hb.cpu_percent();
  h.rss_bytes = hb.rss_bytes();
  h.host_cpu_percent = hb.host_cpu_percent();
  h.host_memory_used_bytes = hb.host_memory_used_bytes();
  h.host_memory_total_bytes = hb.host_memory_total_bytes();
  h.load_average_1m = hb.load_average_1m();
  h.disk_free_bytes = hb.disk_free_bytes();
  h.queue_depth = hb.queue_depth();
  h.queue_bytes = hb.queue_bytes();
  h.dropped_events = hb.dropped_events();
  h.capture_drops = hb.capture_drops();
  h.last_sequence = hb.last_sequence();
  h.policy_version = hb.policy_version();
  h.rules_version = hb.rules_version();
  if (hb.has_link()) {
    h.link.rtt_ms = hb.link().rtt_ms();
    h.link.jitter_ms = hb.link().jitter_ms();
    h.link.loss_ratio = hb.link().loss_ratio();
    h.link.window_end_unix_nanos = h.reported_unix_nanos;
    // A window of a few probes says little about loss; wait for ten.
    if (service_->links && hb.link().probes_sent() >= 10) service_->links->Measured(peer_.agent_id, h.link);
  }
  (void)service_->registry.UpdateAgentHealth(peer_.agent_id, h, hb.version());
}

void StreamReactor::Enqueue(v1::ControllerMessage msg) {
  if (finished_) return;
  out_.push_back(std::move(msg));
  if (!writing_) {
    writing_ = true;
    StartWrite(&out_.front());
  }
}

void StreamReactor::OnWriteDone(bool ok) {
  StreamLock lock(&mu_);
  writing_ = false;
  if (!out_.empty()) out_.pop_front();
  if (!ok) out_.clear();
  if (finish_deferred_) {
    // FinishOnce ran while this write was outstanding.
    out_.clear();
    finish_deferred_ = false;
    Finish(finish_status_);
    return;
  }
  if (!ok) {
    FinishOnce(grpc::Status(grpc::StatusCode::UNAVAILABLE, "agent went away"));
    return;
  }
  if (!out_.empty() && !finished_) {
    writing_ = true;
    StartWrite(&out_.front());
  }
}

void StreamReactor::FinishOnce(const grpc::Status& status) {
  if (finished_) return;
  finished_ = true;
  if (writing_) {
    // One write may be outstanding; finish when it completes.
    finish_deferred_ = true;
    finish_status_ = status;
    return;
  }
  Finish(status);
}

void StreamReactor::OnCancel() {
  StreamLock lock(&mu_);
  FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled"));
}

void StreamReactor::OnDone() {
  bool authorized, hello, goodbye;
  uint64_t fleet_handle;
  std::string agent_id;
  {
    // No completion reaches this reactor after this.
    StreamLock lock(&mu_);
    shared_->mu.AssertHeld();  // mu_ by its other name.
    shared_->reactor = nullptr;
    authorized = authorized_;
    hello = hello_;
    goodbye = goodbye_;
    fleet_handle = fleet_handle_;
    agent_id = peer_.agent_id;
  }
  if (authorized) {
    service_->fleet.UnregisterStream(fleet_handle);
    --service_->counters.streams_open;
    if (hello) {
      (void)service_->registry.UpdateAgentConnection(agent_id, false, {}, WallNanos(), goodbye);
      if (service_->links) service_->links->StreamClosed(agent_id, goodbye);
      log::Info("ingest", "agent disconnected", {{"agent", agent_id}, {"goodbye", goodbye}});
    }
  }
  Service* service = service_;
  delete this;
  service->ReactorDone();
}

class ServerImpl final : public Server {
 public:
  ServerImpl(const Options& options, reg::Registry& registry, cs::Store& store, fleet::Fleet& fleet,
             links::Monitor* links)
      : service_(options, registry, store, fleet, links) {}
  ~ServerImpl() override { Shutdown(std::chrono::seconds(5)); }

  Status Start() {
    rpc::ConfigureRuntime();
    RAMPART_ASSIGN_OR_RETURN(auto creds, AgentPortCredentials(service_.fleet.ca_pem(),
                                                              service_.fleet.server_certificate_pem(),
                                                              service_.fleet.server_key_pem()));
    grpc::ServerBuilder b;
    b.AddListeningPort(service_.options.listen, creds, &port_);
    b.RegisterService(&service_);
    b.SetMaxReceiveMessageSize(static_cast<int>(service_.options.max_message_bytes));
    b.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                         static_cast<int>(service_.options.keepalive_time.count() * 1000));
    b.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                         static_cast<int>(service_.options.keepalive_timeout.count() * 1000));
    b.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    // Agents ping every 15 s to notice a cut link; do not treat that as abuse.
    b.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
    b.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
    server_ = b.BuildAndStart();
    if (!server_ || port_ == 0) {
      return UnavailableError("cannot listen on " + service_.options.listen +
                              " for agents (address in use, or not an address of this host)");
    }
    log::Info("ingest", "listening for agents", {{"address", service_.options.listen}, {"port", port_},
                                                 {"tls", "1.3, client certificates from the controller CA"}});
    return Status::Ok();
  }

  int port() const override { return port_; }

  void Shutdown(std::chrono::milliseconds deadline) override {
    if (!server_ || stopped_.exchange(true)) return;
    server_->Shutdown(std::chrono::system_clock::now() + deadline);
    server_->Wait();
    // Completions from the store may still be running for closed streams.
    service_.writer.Drain();
    if (int live = 0; !service_.WaitForReactors(deadline, &live)) {
      log::Error("ingest", "stream reactors leaked after shutdown", {{"live", live}});
    }
    log::Info("ingest", "stopped", {{"streams_total", service_.counters.streams_total.load()},
                                    {"events", service_.counters.events.load()}});
  }

  Counters counters() const override {
    const AtomicCounters& c = service_.counters;
    return Counters{c.streams_open.load(), c.streams_total.load(), c.streams_refused.load(), c.batches.load(),
                    c.events.load(),       c.acks.load(),          c.heartbeats.load(),      c.enrolments.load(),
                    c.enrolments_refused.load()};
  }

 private:
  Service service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::atomic<bool> stopped_{false};
};

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(const Options& options, reg::Registry& registry, cs::Store& store,
                                              fleet::Fleet& fleet, links::Monitor* links) {
  auto s = std::make_unique<ServerImpl>(options, registry, store, fleet, links);
  RAMPART_RETURN_IF_ERROR(s->Start());
  return std::unique_ptr<Server>(std::move(s));
}

}  // namespace rampart::ingest
