// Transport benchmark: a real controller (store with fsynced group commits,
// fleet, link monitor, TLS 1.3 mTLS agent port) on loopback and many
// simulated agents, each a real ship::Shipper with its own certificate
// (enrolled with a one-time token through the real client library) and its
// own connection. Simulated agents read from an in-memory outbox, so the
// figure is the transport and the controller's ingest, not 500 spools on the
// same two cores.
//
// Prints:
//   1. events/s stored and acknowledged with N agents streaming: every agent
//      connects first, then all their queues fill at once; the rate is from
//      the first event queued to the last one acknowledged (and the CPU per
//      event, which a shared machine's noise moves less);
//   2. the backlog drain rate of one agent with a real spool (fsynced, on
//      disk) holding a backlog, unpaced;
//   2b. the first page of the store's lists (all events, flows, a site, an
//      agent, alerts; deep in the list of all events) on what was stored;
//   3. an idle rampart-agent process (the real binary, enrolled, connected,
//      heartbeats and probes on): RSS and CPU over a window.
//
//   transport_bench [--agents 500] [--events-per-agent 2000] [--backlog 200000]
//                   [--idle-seconds 30] [--wave 50 (agents started together; 0 = all)]
//                   [--skip-idle] [--store-only] [--agent-rate 600]
//
// --agent-rate: events per second each simulated agent stamps as observed
// times (its n-th event is observed n/rate seconds after it started), so
// 500 agents' events interleave in time as a live fleet's do; the store's
// indexes are ordered by time, so this shapes its work. 1000000 is the
// layout of figures before 2026-12-07 11:30 (each agent's events 1 us
// apart).

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/ship/identity.h"
#include "agent/ship/shipper.h"
#include "agent/store/spool.h"
#include "common/log/log.h"
#include "common/tls/files.h"
#include "common/tls/pki.h"
#include "common/util/clock.h"
#include "common/util/mutex.h"
#include "controller/fleet/fleet.h"
#include "controller/ingest/server.h"
#include "controller/links/monitor.h"
#include "controller/store/event_writer.h"
#include "controller/store/store.h"
#include "rampart/v1/event.pb.h"

namespace rampart {
namespace {

namespace cs = controller_store;
using agent_store::OutboxEntry;
using agent_store::SeqRange;

double Seconds(int64_t nanos) { return static_cast<double>(nanos) / 1e9; }

void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Serialized Event templates as the agent's spool makes them (agent id
// empty); sequence and observed time are appended per event.
std::string Template(bool alert) {
  rampart::v1::Event e;
  e.set_kind(alert ? rampart::v1::EVENT_KIND_ALERT : rampart::v1::EVENT_KIND_FLOW);
  e.set_severity(alert ? rampart::v1::SEVERITY_HIGH : rampart::v1::SEVERITY_INFO);
  e.set_spooled_unix_nanos(WallNanos());
  auto* ep = e.mutable_endpoints();
  ep->set_src_ip("10.20.30.40");
  ep->set_src_port(51514);
  ep->set_dest_ip("192.0.2.80");
  ep->set_dest_port(443);
  ep->set_proto("TCP");
  ep->set_flow_id(1234567890123456);
  ep->set_app_proto("tls");
  if (alert) {
    e.mutable_alert()->set_signature_id(2019401);
    e.mutable_alert()->set_signature("ET POLICY Observed suspicious TLS SNI");
    e.mutable_alert()->set_severity(2);
    e.set_eve_json(
        "{\"timestamp\":\"2026-11-21T10:00:00.123456+0000\",\"flow_id\":1234567890123456,\"in_iface\":\"eth0\","
        "\"event_type\":\"alert\",\"src_ip\":\"10.20.30.40\",\"src_port\":51514,\"dest_ip\":\"192.0.2.80\","
        "\"dest_port\":443,\"proto\":\"TCP\",\"app_proto\":\"tls\",\"alert\":{\"action\":\"allowed\",\"gid\":1,"
        "\"signature_id\":2019401,\"rev\":3,\"signature\":\"ET POLICY Observed suspicious TLS SNI\","
        "\"category\":\"Potential Corporate Privacy Violation\",\"severity\":2},\"tls\":{\"sni\":\"example.com\"}}");
  } else {
    e.set_eve_json(
        "{\"timestamp\":\"2026-11-21T10:00:00.123456+0000\",\"flow_id\":1234567890123456,\"in_iface\":\"eth0\","
        "\"event_type\":\"flow\",\"src_ip\":\"10.20.30.40\",\"src_port\":51514,\"dest_ip\":\"192.0.2.80\","
        "\"dest_port\":443,\"proto\":\"TCP\",\"app_proto\":\"tls\",\"flow\":{\"pkts_toserver\":12,"
        "\"pkts_toclient\":10,\"bytes_toserver\":1830,\"bytes_toclient\":5120,\"start\":"
        "\"2026-11-21T09:59:58.000000+0000\",\"end\":\"2026-11-21T10:00:00.100000+0000\",\"age\":2,"
        "\"state\":\"closed\",\"reason\":\"timeout\",\"alerted\":false},\"community_id\":\"1:LQU9qZlK+B5F3KDmev6m5PMibrg=\"}");
  }
  return e.SerializeAsString();
}

// A simulated agent's queue: `total` events, 2% alerts, made on demand.
// Until `open` is set the queue is empty, as a live agent's is between
// events; then all of them are there at once.
class MemoryOutbox final : public agent_store::Outbox {
 public:
  // Events are stamped as observed `spacing_nanos` apart from the outbox's
  // creation on, as an agent producing them live would stamp them.
  MemoryOutbox(uint64_t total, const std::string& flow, const std::string& alert, std::atomic<uint64_t>* acked,
               const std::atomic<bool>* open, int64_t spacing_nanos)
      : total_(total), flow_(flow), alert_(alert), acked_total_(acked), open_(open), spacing_nanos_(spacing_nanos) {}

  Result<size_t> Read(agent_store::Lane lane, uint64_t after, size_t max_events, size_t max_bytes,
                      std::vector<OutboxEntry>* out) override {
    size_t n = 0, bytes = 0;
    const uint64_t last = Last();
    for (uint64_t seq = after + 1; seq <= last && n < max_events && bytes < max_bytes; ++seq) {
      const bool alert = seq % 50 == 0;
      if (lane == agent_store::Lane::kAlerts && !alert) continue;
      OutboxEntry e;
      e.sequence = seq;
      e.alert = alert;
      e.event = alert ? alert_ : flow_;
      AppendVarint(&e.event, (3 << 3) | 0);  // observed_unix_nanos
      AppendVarint(&e.event, static_cast<uint64_t>(base_ + static_cast<int64_t>(seq) * spacing_nanos_));
      AppendVarint(&e.event, (2 << 3) | 0);  // sequence
      AppendVarint(&e.event, seq);
      bytes += e.event.size();
      out->push_back(std::move(e));
      ++n;
    }
    return n;
  }
  Status Ack(std::span<const SeqRange> ranges) override {
    MutexLock lock(&mu_);
    // Ranges may repeat (the Welcome's watermark); count each sequence once.
    for (const SeqRange& r : ranges) {
      const uint64_t last = std::min(r.last, total_);
      if (acked_.empty() && r.first <= acked_through_ + 1) {
        if (last > acked_through_) {
          acked_total_->fetch_add(last - acked_through_);
          acked_through_ = last;
        }
        continue;
      }
      for (uint64_t s = r.first; s <= last; ++s) {
        if (s > acked_through_ && acked_.insert(s).second) acked_total_->fetch_add(1);
      }
    }
    while (acked_.contains(acked_through_ + 1)) acked_.erase(++acked_through_);
    return Status::Ok();
  }
  std::vector<SeqRange> Gone() override { return {}; }
  bool WaitForAppend(uint64_t, std::chrono::milliseconds timeout) override {
    std::this_thread::sleep_for(timeout);
    return false;
  }
  Status Renumber(uint64_t) override { return Status::Ok(); }
  agent_store::OutboxStats Stats() const override {
    MutexLock lock(&mu_);
    agent_store::OutboxStats s;
    s.last_sequence = Last();
    s.depth = s.last_sequence - std::min(s.last_sequence, acked_through_ + acked_.size());
    s.appended = s.last_sequence;
    return s;
  }

 private:
  uint64_t Last() const { return open_ == nullptr || open_->load() ? total_ : 0; }

  const uint64_t total_;
  const std::string& flow_;
  const std::string& alert_;
  std::atomic<uint64_t>* acked_total_;
  const std::atomic<bool>* open_;
  const int64_t spacing_nanos_;
  const int64_t base_ = WallNanos();
  mutable Mutex mu_;
  uint64_t acked_through_ GUARDED_BY(mu_) = 0;
  std::set<uint64_t> acked_ GUARDED_BY(mu_);
};

struct Controller {
  std::string dir;
  std::unique_ptr<cs::Store> store;
  std::unique_ptr<fleet::Fleet> fleet;
  std::unique_ptr<links::Monitor> links;
  std::unique_ptr<ingest::Server> server;
  std::string address;
};

Status MakePki(const std::string& dir) {
  RAMPART_ASSIGN_OR_RETURN(auto ca, tls::CreateCertificateAuthority("bench CA", std::chrono::hours(24)));
  RAMPART_ASSIGN_OR_RETURN(auto key, tls::GeneratePrivateKeyPem());
  tls::Subject subject;
  subject.common_name = "localhost";
  subject.ip_addresses = {"127.0.0.1"};
  RAMPART_ASSIGN_OR_RETURN(auto csr, tls::CreateCsrPem(key, subject));
  tls::SignOptions so;
  so.usage = tls::Usage::kServer;
  RAMPART_ASSIGN_OR_RETURN(auto cert, tls::SignCsr(ca, csr, so));
  std::filesystem::create_directories(dir);
  RAMPART_RETURN_IF_ERROR(tls::WriteSecretFile(dir + "/ca.key", ca.key_pem));
  RAMPART_RETURN_IF_ERROR(tls::WriteFileAtomically(dir + "/ca.crt", ca.certificate_pem, 0644));
  RAMPART_RETURN_IF_ERROR(tls::WriteSecretFile(dir + "/server.key", key));
  return tls::WriteFileAtomically(dir + "/server.crt", cert, 0644);
}

Status StartController(Controller* c) {
  RAMPART_RETURN_IF_ERROR(MakePki(c->dir + "/pki"));
  cs::Options so;
  so.path = c->dir + "/store";
  RAMPART_ASSIGN_OR_RETURN(c->store, cs::Store::Open(so));
  fleet::Options fo;
  fo.pki_dir = c->dir + "/pki";
  RAMPART_ASSIGN_OR_RETURN(c->fleet, fleet::Fleet::Open(fo, c->store->registry()));
  links::Options lo;
  lo.reflector_listen = "127.0.0.1:0";
  lo.secret_path = c->dir + "/links.key";
  // Simulated agents do not probe (what is measured is the stream) and
  // heartbeat every 10 s, so an agent done with its events would count as
  // silent after the default 5 s, and the stored events would fill with
  // its up/down changes.
  lo.dead_after = std::chrono::seconds(120);
  RAMPART_ASSIGN_OR_RETURN(c->links, links::Monitor::Start(lo, c->store->registry(), *c->store));
  ingest::Options io;
  io.listen = "127.0.0.1:0";
  RAMPART_ASSIGN_OR_RETURN(c->server,
                           ingest::Server::Start(io, c->store->registry(), *c->store, *c->fleet, c->links.get()));
  c->address = "127.0.0.1:" + std::to_string(c->server->port());
  return Status::Ok();
}

Result<ship::Identity> EnrollOne(Controller& c, const std::string& data_dir, int i) {
  RAMPART_ASSIGN_OR_RETURN(auto token, c.fleet->CreateToken({.site = "site-" + std::to_string(i % 150),
                                                             .create_site = true}));
  ship::EnrollOptions eo;
  eo.controller = c.address;
  eo.token = token.token;
  eo.ca_sha256 = c.fleet->ca_sha256();
  eo.data_dir = data_dir;
  eo.hostname = "sim-" + std::to_string(i);
  return ship::Enroll(eo);
}

uint64_t Stored(Controller& c) { return cs::WriterOf(*c.store).counters().stored; }

// CPU seconds of this process, and of its threads named `name` (the
// machine is shared: CPU per event is steadier than a rate).
double ThreadCpuSeconds(const std::string& name) {
  double total = 0;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string c;
    std::getline(comm, c);
    if (!name.empty() && c != name) continue;
    std::ifstream stat(task.path() / "stat");
    std::string s((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const size_t close = s.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream in(s.substr(close + 2));
    std::string f;
    for (int i = 3; i <= 15 && in >> f; ++i) {
      if (i == 14 || i == 15) total += static_cast<double>(std::strtoull(f.c_str(), nullptr, 10));
    }
  }
  return total / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double LoadAverage() {
  double l[1] = {0};
  return getloadavg(l, 1) == 1 ? l[0] : 0;
}

int Throughput(Controller& c, int agents, uint64_t per_agent, int wave, int64_t spacing_nanos) {
  const std::string flow = Template(false), alert = Template(true);
  std::printf("enrolling %d simulated agents (one-time tokens, CSR, TLS 1.3)...\n", agents);
  std::fflush(stdout);
  std::vector<ship::Identity> ids(static_cast<size_t>(agents));
  const int64_t t_enrol = MonotonicNanos();
  for (int i = 0; i < agents; ++i) {
    auto id = EnrollOne(c, c.dir + "/sim/" + std::to_string(i), i);
    if (!id) {
      std::fprintf(stderr, "enrolment %d failed: %s\n", i, id.error().ToString().c_str());
      return 1;
    }
    ids[static_cast<size_t>(i)] = *id;
  }
  std::printf("  %d agents enrolled in %.1f s (%.0f enrolments/s)\n", agents, Seconds(MonotonicNanos() - t_enrol),
              agents / Seconds(MonotonicNanos() - t_enrol));

  std::atomic<uint64_t> acked{0};
  std::atomic<bool> open{false};
  std::vector<std::unique_ptr<MemoryOutbox>> outboxes;
  std::vector<std::unique_ptr<ship::Shipper>> shippers;
  const uint64_t total = per_agent * static_cast<uint64_t>(agents);
  auto connected = [&](size_t from, size_t to) {
    return std::all_of(shippers.begin() + static_cast<ptrdiff_t>(from), shippers.begin() + static_cast<ptrdiff_t>(to),
                       [](const auto& s) { return s->Stats().connected; });
  };
  // Every agent connects first (TLS 1.3 handshake, Hello, Welcome), then
  // all queues fill at once: the figure is streaming, not connecting.
  const int64_t t_connect = MonotonicNanos();
  for (int i = 0; i < agents; ++i) {
    if (wave > 0 && i > 0 && i % wave == 0) {
      // Agents start in waves, each after the previous one connected (or
      // 60 s): a fleet does not start in the same millisecond, and 500
      // clients' TLS handshakes on the controller's two cores would
      // otherwise time out and retry.
      const int64_t wave_deadline = MonotonicNanos() + 60'000'000'000;
      while (MonotonicNanos() < wave_deadline && !connected(shippers.size() - static_cast<size_t>(wave), shippers.size())) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    outboxes.push_back(std::make_unique<MemoryOutbox>(per_agent, flow, alert, &acked, &open, spacing_nanos));
    ship::ShipperOptions o;
    o.identity = ids[static_cast<size_t>(i)];
    o.version = "transport_bench";
    o.probes = false;
    o.backlog_events_per_second = 0;  // Throughput, not pacing.
    o.batch_max_events = 1000;
    auto s = ship::Shipper::Start(o, *outboxes.back());
    if (!s) {
      std::fprintf(stderr, "shipper %d: %s\n", i, s.error().ToString().c_str());
      return 1;
    }
    shippers.push_back(std::move(*s));
  }
  const int64_t all_deadline = MonotonicNanos() + 120'000'000'000;
  while (MonotonicNanos() < all_deadline && !connected(0, shippers.size())) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!connected(0, shippers.size())) {
    std::fprintf(stderr, "not every agent connected within 120 s\n");
    return 1;
  }
  std::printf("  %d agents connected in %.1f s\n", agents, Seconds(MonotonicNanos() - t_connect));
  const uint64_t stored0 = Stored(c);
  const double cpu0 = ProcessCpuSeconds(), writer_cpu0 = ThreadCpuSeconds("store-writer");
  const int64_t t0 = MonotonicNanos();
  open = true;
  // The steady rate is between 10% and 90% of the events acknowledged: no
  // ramp-up, no tail. A per-second median would be coarse here: one group
  // commit can hold 65,536 events.
  int64_t t10 = 0, t90 = 0, next_trace = t0 + 1'000'000'000;
  const int64_t deadline = t0 + 600'000'000'000;
  while (acked.load() < total && MonotonicNanos() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const int64_t now = MonotonicNanos();
    const uint64_t a = acked.load();
    if (t10 == 0 && a * 10 >= total) t10 = now;
    if (t90 == 0 && a * 10 >= total * 9) t90 = now;
    if (std::getenv("TRANSPORT_BENCH_TRACE") && now >= next_trace) {
      std::printf("    t=%.1fs stored %llu acked %llu\n", Seconds(now - t0),
                  static_cast<unsigned long long>(Stored(c) - stored0), static_cast<unsigned long long>(a));
      next_trace += 1'000'000'000;
    }
  }
  const double elapsed = Seconds(MonotonicNanos() - t0);
  const double cpu = ProcessCpuSeconds() - cpu0, writer_cpu = ThreadCpuSeconds("store-writer") - writer_cpu0;
  const uint64_t stored = Stored(c) - stored0;
  for (auto& s : shippers) s->Stop(std::chrono::seconds(2));
  const auto counters = cs::WriterOf(*c.store).counters();
  std::printf("throughput: %d agents x %llu events over mTLS on loopback (2%% alerts, ~%zu B/event, observed "
              "%.0f/s per agent)\n",
              agents, static_cast<unsigned long long>(per_agent), flow.size(), 1e9 / static_cast<double>(spacing_nanos));
  std::printf("  stored %llu and acknowledged %llu of %llu events in %.1f s, all agents streaming\n",
              static_cast<unsigned long long>(stored), static_cast<unsigned long long>(acked.load()),
              static_cast<unsigned long long>(total), elapsed);
  std::printf("  overall: %.0f events/s stored and acknowledged (first event queued to last one acknowledged)\n",
              static_cast<double>(acked.load()) / elapsed);
  if (t90 > t10) {
    std::printf("  steady (10%% to 90%% acknowledged): %.0f events/s stored and acknowledged\n",
                static_cast<double>(total) * 0.8 / Seconds(t90 - t10));
  }
  std::printf("  CPU per event: %.2f us in all (agents and controller in this process), %.2f us in the store's "
              "writer; load average %.1f\n",
              cpu * 1e6 / static_cast<double>(std::max<uint64_t>(acked.load(), 1)),
              writer_cpu * 1e6 / static_cast<double>(std::max<uint64_t>(stored, 1)), LoadAverage());
  std::printf("  group commits (fsyncs): %llu, %.0f events per commit\n",
              static_cast<unsigned long long>(counters.commits),
              counters.commits ? static_cast<double>(counters.stored) / static_cast<double>(counters.commits) : 0.0);
  return acked.load() == total ? 0 : 1;
}

// The store alone: batches of 1000 events straight into the ingest writer
// (what the agent port does after parsing), to separate the store's cost
// from TLS, gRPC and protobuf parsing.
int StoreOnly(Controller& c, int agents, uint64_t per_agent, int64_t spacing_nanos) {
  const std::string flow = Template(false), alert = Template(true);
  for (int i = 0; i < agents; ++i) {
    registry::Agent a;
    a.id = "store-only-" + std::to_string(i);
    a.site = "site-" + std::to_string(i % 150);
    if (!c.store->registry().GetSite(a.site).has_value()) (void)c.store->registry().CreateSite({.id = a.site});
    if (!c.store->registry().PutAgentIdentity(a).ok()) return 1;
  }
  cs::EventWriter& w = cs::WriterOf(*c.store);
  std::atomic<uint64_t> done{0};
  const uint64_t total = per_agent * static_cast<uint64_t>(agents);
  const double writer_cpu0 = ThreadCpuSeconds("store-writer");
  const int64_t t0 = MonotonicNanos();
  for (uint64_t first = 1; first <= per_agent; first += 1000) {
    for (int i = 0; i < agents; ++i) {
      MemoryOutbox box(per_agent, flow, alert, &done, nullptr, spacing_nanos);
      std::vector<OutboxEntry> entries;
      (void)box.Read(agent_store::Lane::kAll, first - 1, 1000, 1u << 30, &entries);
      cs::IngestBatch b;
      b.agent_id = "store-only-" + std::to_string(i);
      for (const OutboxEntry& e : entries) b.batch.add_events()->ParseFromString(e.event);
      const uint64_t n = entries.size();
      b.done = [&done, n](Result<cs::IngestResult>) { done += n; };
      while (w.Submit(std::move(b)) > 200000) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  w.Drain();
  const double secs = Seconds(MonotonicNanos() - t0);
  const double writer_cpu = ThreadCpuSeconds("store-writer") - writer_cpu0;
  std::printf("store only: %llu events (%d agents, batches of 1000) in %.1f s = %.0f events/s (load %.1f)\n",
              static_cast<unsigned long long>(total), agents, secs, static_cast<double>(total) / secs, LoadAverage());
  std::printf("  writer thread: %.2f us CPU per event (%.0f events/s per core)\n",
              writer_cpu * 1e6 / static_cast<double>(total), static_cast<double>(total) / writer_cpu);
  return 0;
}

// Queries on what the throughput phase stored (5,000,000 events of 150
// sites with the default flags): the first page of 50 rows, median of 21
// calls each. The list of all events merges every site's index range.
int Queries(Controller& c) {
  std::string site = "site-7";  // site-0 when fewer than 8 agents ran.
  auto agents = c.store->registry().ListAgents(site);
  if (agents.has_value() && agents->empty()) agents = c.store->registry().ListAgents(site = "site-0");
  if (!agents.has_value() || agents->empty()) return 1;
  struct Named {
    const char* name;
    cs::Query query;
    bool alerts = false;
  };
  std::vector<Named> queries(6);
  queries[0].name = "all events";
  queries[1].name = "flows";
  queries[1].query.kinds = {cs::EventKind::kFlow};
  queries[2].name = "one site's events";
  queries[2].query.sites = {site};
  queries[3].name = "one agent's events";
  queries[3].query.agents = {agents->front().id};
  queries[4].name = "alerts";
  queries[4].alerts = true;
  queries[5].name = "all events, page 21 (keyset cursor)";
  std::printf("queries on the stored events (first page of 50 rows, median of 21 calls):\n");
  for (Named& n : queries) {
    n.query.limit = 50;
    if (std::string_view(n.name).starts_with("all events, page")) {
      for (int page = 1; page < 21; ++page) {
        auto p = c.store->QueryEvents(n.query);
        if (!p.has_value()) return 1;
        if (p->next_cursor.empty()) break;  // Fewer than 21 pages stored.
        n.query.cursor = p->next_cursor;
      }
    }
    std::vector<double> ms;
    size_t rows = 0;
    uint64_t examined = 0;
    for (int i = 0; i < 21; ++i) {
      const int64_t t0 = MonotonicNanos();
      auto p = n.alerts ? c.store->QueryAlerts(n.query) : c.store->QueryEvents(n.query);
      ms.push_back(static_cast<double>(MonotonicNanos() - t0) / 1e6);
      if (!p.has_value()) return 1;
      rows = p->rows.size();
      examined = p->examined;
    }
    std::sort(ms.begin(), ms.end());
    std::printf("  %-38s %6.2f ms (%zu rows, %llu index rows examined)\n", n.name, ms[ms.size() / 2], rows,
                static_cast<unsigned long long>(examined));
  }
  return 0;
}

int Drain(Controller& c, uint64_t backlog) {
  auto id = EnrollOne(c, c.dir + "/drain", 0);
  if (!id) return 1;
  agent_store::SpoolOptions sp;
  sp.path = c.dir + "/drain/spool";
  auto spool = agent_store::Spool::Open(sp);
  if (!spool) return 1;
  std::printf("backlog: spooling %llu events (fsynced) while no stream is open...\n",
              static_cast<unsigned long long>(backlog));
  std::fflush(stdout);
  std::vector<std::string> lines;
  for (int i = 0; i < 1000; ++i) {
    lines.push_back(
        "{\"timestamp\":\"2026-11-21T10:00:00.123456+0000\",\"flow_id\":" + std::to_string(i) +
        ",\"event_type\":\"" + (i % 50 == 0 ? "alert" : "flow") +
        "\",\"src_ip\":\"10.20.30.40\",\"src_port\":51514,\"dest_ip\":\"192.0.2.80\",\"dest_port\":443,\"proto\":\"TCP\","
        "\"flow\":{\"pkts_toserver\":12,\"pkts_toclient\":10,\"bytes_toserver\":1830,\"bytes_toclient\":5120},"
        "\"alert\":{\"signature_id\":2019401,\"signature\":\"ET POLICY test\",\"severity\":2}}");
  }
  std::vector<std::string_view> views(lines.begin(), lines.end());
  const int64_t t_spool = MonotonicNanos();
  for (uint64_t n = 0; n < backlog; n += 1000) {
    if (!(*spool)->Append(views).has_value()) return 1;
  }
  std::printf("  spool append: %.0f events/s (1000-event appends, each fsynced)\n",
              static_cast<double>(backlog) / Seconds(MonotonicNanos() - t_spool));
  ship::ShipperOptions o;
  o.identity = *id;
  o.version = "transport_bench";
  o.probes = false;
  o.backlog_events_per_second = 0;
  const int64_t t0 = MonotonicNanos();
  auto shipper = ship::Shipper::Start(o, **spool);
  if (!shipper) return 1;
  while ((*spool)->Stats().depth > 0 && MonotonicNanos() - t0 < 600'000'000'000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double secs = Seconds(MonotonicNanos() - t0);
  const ship::ShipperStats st = (*shipper)->Stats();
  (*shipper)->Stop(std::chrono::seconds(2));
  std::printf("  drain: %llu events from a real spool in %.1f s = %.0f events/s (unpaced; alerts first: %llu)\n",
              static_cast<unsigned long long>(backlog), secs, static_cast<double>(backlog) / secs,
              static_cast<unsigned long long>(st.alerts_ahead));
  return (*spool)->Stats().depth == 0 ? 0 : 1;
}

std::string SelfDir() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  buf[n] = '\0';
  return std::filesystem::path(buf).parent_path().string();
}

bool ReadProc(pid_t pid, uint64_t* rss_kib, uint64_t* cpu_ticks) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) *rss_kib = std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t close = s.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream in(s.substr(close + 2));
  std::string f;
  uint64_t ut = 0, st = 0;
  for (int i = 3; i <= 15 && in >> f; ++i) {
    if (i == 14) ut = std::strtoull(f.c_str(), nullptr, 10);
    if (i == 15) st = std::strtoull(f.c_str(), nullptr, 10);
  }
  *cpu_ticks = ut + st;
  return true;
}

int Idle(Controller& c, int seconds) {
  const std::string agent = SelfDir() + "/rampart-agent";
  if (access(agent.c_str(), X_OK) != 0) {
    std::printf("idle agent: %s not built; skipped\n", agent.c_str());
    return 0;
  }
  const std::string dir = c.dir + "/idle";
  auto id = EnrollOne(c, dir, 1);
  if (!id) return 1;
  const std::string cfg = dir + "/agent.yaml";
  std::ofstream(cfg) << "agent:\n  name: idle\n  data_dir: " << dir
                     << "\n  host:\n    processes: {enabled: false}\n    logins: {enabled: false}\n"
                        "    sockets: {enabled: false}\n    resources: {enabled: false}\n";
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string log = dir + "/agent.log";
    FILE* f = std::freopen(log.c_str(), "w", stdout);
    (void)f;
    dup2(STDOUT_FILENO, STDERR_FILENO);
    execl(agent.c_str(), agent.c_str(), "run", "--config", cfg.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Connected, heartbeating and probing before measuring.
  std::this_thread::sleep_for(std::chrono::seconds(10));
  uint64_t rss0 = 0, cpu0 = 0, rss1 = 0, cpu1 = 0;
  ReadProc(pid, &rss0, &cpu0);
  const int64_t t0 = MonotonicNanos();
  uint64_t rss_max = rss0;
  for (int i = 0; i < seconds; ++i) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    uint64_t r = 0, cpu = 0;
    if (ReadProc(pid, &r, &cpu)) rss_max = std::max(rss_max, r);
  }
  ReadProc(pid, &rss1, &cpu1);
  const double secs = Seconds(MonotonicNanos() - t0);
  const double cpu = 100.0 * static_cast<double>(cpu1 - cpu0) / static_cast<double>(sysconf(_SC_CLK_TCK)) / secs;
  auto agent_state = c.store->registry().GetAgent(id->agent_id);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  std::printf("idle agent (rampart-agent run: connected, heartbeats every 10 s, probes 5/s, host sensors off):\n");
  std::printf("  RSS %.1f MiB (max %.1f MiB), CPU %.2f%% of one core over %.0f s; connected: %s\n", rss1 / 1024.0,
              rss_max / 1024.0, cpu, secs, agent_state && agent_state->connected ? "yes" : "no");
  return 0;
}

}  // namespace
}  // namespace rampart

int main(int argc, char** argv) {
  int agents = 500;
  uint64_t per_agent = 2000, backlog = 200000;
  int idle_seconds = 30;
  int wave = 50;
  bool skip_idle = false;
  bool store_only = false;
  double agent_rate = 600;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : "0"; };
    if (a == "--agents") agents = std::atoi(next());
    else if (a == "--events-per-agent") per_agent = std::strtoull(next(), nullptr, 10);
    else if (a == "--backlog") backlog = std::strtoull(next(), nullptr, 10);
    else if (a == "--idle-seconds") idle_seconds = std::atoi(next());
    else if (a == "--wave") wave = std::atoi(next());
    else if (a == "--skip-idle") skip_idle = true;
    else if (a == "--store-only") store_only = true;
    else if (a == "--agent-rate") agent_rate = std::atof(next());
    else {
      std::fprintf(stderr,
                   "usage: transport_bench [--agents N] [--events-per-agent N] [--backlog N] [--idle-seconds S] "
                   "[--wave N] [--skip-idle] [--store-only] [--agent-rate EVENTS_PER_S]\n");
      return 2;
    }
  }
  if (!(agent_rate > 0)) {
    std::fprintf(stderr, "--agent-rate must be a positive number of events per second\n");
    return 2;
  }
  const auto spacing_nanos = std::max<int64_t>(1, static_cast<int64_t>(1e9 / agent_rate));
  rampart::log::SetLevel(rampart::log::Level::kWarn);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // Figures appear as they are measured, also into a file.
  char tmpl[] = "/tmp/transport-bench-XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  rampart::Controller c;
  c.dir = tmpl;
  if (auto s = rampart::StartController(&c); !s.ok()) {
    std::fprintf(stderr, "controller: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("controller on %s (store fsyncs every group commit) in %s\n", c.address.c_str(), c.dir.c_str());
  if (store_only) {
    const int rc = rampart::StoreOnly(c, agents, per_agent, spacing_nanos);
    c.server->Shutdown(std::chrono::seconds(2));
    c.server.reset();
    c.links.reset();
    c.fleet.reset();
    c.store.reset();
    std::error_code ec;
    std::filesystem::remove_all(c.dir, ec);
    return rc;
  }
  int rc = rampart::Throughput(c, agents, per_agent, wave, spacing_nanos);
  if (rc == 0) rc = rampart::Queries(c);
  if (rc == 0) rc = rampart::Drain(c, backlog);
  if (rc == 0 && !skip_idle) rc = rampart::Idle(c, idle_seconds);
  c.server->Shutdown(std::chrono::seconds(2));
  c.server.reset();
  c.links.reset();
  c.fleet.reset();
  c.store.reset();
  std::error_code ec;
  std::filesystem::remove_all(c.dir, ec);
  return rc;
}
