// The transport end to end on loopback, in one process: a real controller
// (store, fleet, link monitor, ingest on a TLS 1.3 mTLS port) and real agents
// (spool, shipper) that enrol with one-time tokens.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <deque>
#include <filesystem>
#include <set>
#include <thread>

#include "agent/ship/identity.h"
#include "agent/ship/shipper.h"
#include "agent/store/spool.h"
#include "common/tls/files.h"
#include "common/tls/pki.h"
#include "common/util/clock.h"
#include "controller/fleet/admin.h"
#include "controller/fleet/fleet.h"
#include "controller/ingest/server.h"
#include "controller/links/monitor.h"
#include "controller/store/store.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

namespace rampart {
namespace {

using ::testing::HasSubstr;
namespace cs = controller_store;
namespace reg = registry;

constexpr auto kWait = std::chrono::seconds(30);

// Polls `cond` every 20 ms until it holds or `timeout` passes.
template <typename F>
bool Eventually(F cond, std::chrono::milliseconds timeout = kWait) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

std::string Flow(int i) {
  return "{\"timestamp\":\"2026-11-21T10:00:00.000001+0000\",\"flow_id\":" + std::to_string(i) +
         ",\"event_type\":\"flow\",\"src_ip\":\"10.0.0.1\",\"src_port\":1234,\"dest_ip\":\"10.0.0.2\","
         "\"dest_port\":80,\"proto\":\"TCP\",\"flow\":{\"pkts_toserver\":1}}";
}

std::string Alert(int i) {
  return "{\"timestamp\":\"2026-11-21T10:00:01+0000\",\"flow_id\":" + std::to_string(i) +
         ",\"event_type\":\"alert\",\"src_ip\":\"10.0.0.9\",\"dest_ip\":\"10.0.0.2\",\"proto\":\"UDP\","
         "\"alert\":{\"signature_id\":9000001,\"signature\":\"RAMPART TEST alert\",\"severity\":1}}";
}

// Writes a CA and a server certificate as `rampartctl pki init` does.
void MakePki(const std::string& dir) {
  auto ca = tls::CreateCertificateAuthority("test CA", std::chrono::hours(24));
  ASSERT_TRUE(ca.has_value());
  auto key = tls::GeneratePrivateKeyPem();
  tls::Subject subject;
  subject.common_name = "localhost";
  subject.dns_names = {"localhost"};
  subject.ip_addresses = {"127.0.0.1"};
  auto csr = tls::CreateCsrPem(*key, subject);
  tls::SignOptions so;
  so.usage = tls::Usage::kServer;
  auto cert = tls::SignCsr(*ca, *csr, so);
  ASSERT_TRUE(cert.has_value());
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(tls::WriteSecretFile(dir + "/ca.key", ca->key_pem).ok());
  ASSERT_TRUE(tls::WriteFileAtomically(dir + "/ca.crt", ca->certificate_pem, 0644).ok());
  ASSERT_TRUE(tls::WriteSecretFile(dir + "/server.key", *key).ok());
  ASSERT_TRUE(tls::WriteFileAtomically(dir + "/server.crt", *cert, 0644).ok());
}

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MakePki(dir_.File("pki"));
    StartController();
  }
  void TearDown() override {
    for (auto& a : agents_) {
      if (a.shipper) a.shipper->Stop(std::chrono::milliseconds(500));
    }
    StopController();
  }

  void StartController(bool with_server = true) {
    cs::Options so;
    so.path = dir_.File("store");
    auto store = cs::Store::Open(so);
    ASSERT_TRUE(store.has_value()) << store.error();
    store_ = std::move(*store);
    fleet::Options fo;
    fo.pki_dir = dir_.File("pki");
    fo.agent_certificate_validity = cert_validity_;
    auto fleet = fleet::Fleet::Open(fo, store_->registry());
    ASSERT_TRUE(fleet.has_value()) << fleet.error();
    fleet_ = std::move(*fleet);
    links::Options lo;
    lo.reflector_listen = "127.0.0.1:" + std::to_string(reflector_port_);
    lo.secret_path = dir_.File("links.key");
    lo.dead_after = std::chrono::milliseconds(2000);
    lo.clear_after = std::chrono::milliseconds(1000);
    lo.evaluate_every = std::chrono::milliseconds(200);
    auto links = links::Monitor::Start(lo, store_->registry(), *store_);
    ASSERT_TRUE(links.has_value()) << links.error();
    links_ = std::move(*links);
    reflector_port_ = links_->reflector_port();
    if (with_server) StartServer();
  }

  void StartServer() {
    ingest::Options io;
    io.listen = "127.0.0.1:" + std::to_string(port_);
    io.heartbeat_interval = std::chrono::seconds(1);
    auto server = ingest::Server::Start(io, store_->registry(), *store_, *fleet_, links_.get());
    ASSERT_TRUE(server.has_value()) << server.error();
    server_ = std::move(*server);
    port_ = server_->port();
  }

  void StopController() {
    if (server_) server_->Shutdown(std::chrono::seconds(2));
    server_.reset();
    links_.reset();
    fleet_.reset();
    store_.reset();
  }

  std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }

  struct Agent {
    std::string dir;
    ship::Identity identity;
    std::unique_ptr<agent_store::Spool> spool;
    std::unique_ptr<ship::Shipper> shipper;
  };

  // Enrols a new agent of `site` and opens its spool (no shipper yet).
  Agent& NewAgent(const std::string& site) {
    auto token = fleet_->CreateToken({.site = site, .create_site = true});
    EXPECT_TRUE(token.has_value());
    Agent& a = agents_.emplace_back();
    a.dir = dir_.File("agent" + std::to_string(agents_.size()));
    ship::EnrollOptions eo;
    eo.controller = Address();
    eo.token = token->token;
    eo.ca_sha256 = fleet_->ca_sha256();
    eo.data_dir = a.dir;
    eo.hostname = "host" + std::to_string(agents_.size());
    auto id = ship::Enroll(eo);
    EXPECT_TRUE(id.has_value()) << id.error();
    if (id.has_value()) a.identity = *id;
    agent_store::SpoolOptions sp;
    sp.path = a.dir + "/spool";
    auto spool = agent_store::Spool::Open(sp);
    EXPECT_TRUE(spool.has_value());
    a.spool = std::move(*spool);
    return a;
  }

  void StartShipper(Agent& a, uint32_t backlog_rate = 0) {
    ship::ShipperOptions o;
    o.identity = a.identity;
    o.data_dir = a.dir;
    o.version = "test-agent";
    o.reconnect_initial = std::chrono::milliseconds(100);
    o.reconnect_max = std::chrono::milliseconds(500);
    o.backlog_events_per_second = backlog_rate;
    o.backlog_threshold = 100;
    o.batch_max_events = 200;
    auto s = ship::Shipper::Start(o, *a.spool);
    ASSERT_TRUE(s.has_value()) << s.error();
    a.shipper = std::move(*s);
  }

  static void Append(Agent& a, int from, int to, bool alerts_every_10 = false) {
    std::vector<std::string> owned;
    for (int i = from; i < to; ++i) owned.push_back(alerts_every_10 && i % 10 == 0 ? Alert(i) : Flow(i));
    std::vector<std::string_view> lines(owned.begin(), owned.end());
    ASSERT_TRUE(a.spool->Append(lines).has_value());
  }

  uint64_t Stored(const Agent& a) {
    return store_->IngestOf(a.identity.agent_id).events_stored;
  }

  // Every stored event of the agent, checked for sequences 1..n exactly once
  // and for flow ids from..to exactly once.
  void ExpectExactlyOnce(const Agent& a, int n) {
    auto all = store_->AgentEvents(a.identity.agent_id, 1, 1000000);
    ASSERT_TRUE(all.has_value());
    ASSERT_EQ(all->size(), static_cast<size_t>(n));
    std::set<std::string> lines;
    for (size_t i = 0; i < all->size(); ++i) {
      EXPECT_EQ((*all)[i].summary.id.sequence, i + 1);
      lines.insert((*all)[i].eve_json);
    }
    EXPECT_EQ(lines.size(), static_cast<size_t>(n)) << "every record once";
  }

  testing::ScopedTempDir dir_{"transport"};
  std::chrono::seconds cert_validity_{90 * 24 * 3600};
  int port_ = 0;
  int reflector_port_ = 0;
  std::unique_ptr<cs::Store> store_;
  std::unique_ptr<fleet::Fleet> fleet_;
  std::unique_ptr<links::Monitor> links_;
  std::unique_ptr<ingest::Server> server_;
  std::deque<Agent> agents_;
};

TEST_F(TransportTest, EnrolsAndStreamsEverythingExactlyOnce) {
  Agent& a = NewAgent("site-a");
  EXPECT_THAT(a.identity.agent_id, ::testing::StartsWith("a-"));
  EXPECT_EQ(a.identity.site, "site-a");
  // The key is private to the agent.
  EXPECT_EQ(std::filesystem::status(a.dir + "/pki/agent.key").permissions() &
                (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
  Append(a, 0, 3000, true);
  StartShipper(a);
  ASSERT_TRUE(Eventually([&] { return Stored(a) == 3000; })) << Stored(a);
  Append(a, 3000, 5000);
  ASSERT_TRUE(Eventually([&] { return Stored(a) == 5000; })) << Stored(a);
  ASSERT_TRUE(Eventually([&] { return a.spool->Stats().depth == 0; }));
  ExpectExactlyOnce(a, 5000);
  EXPECT_EQ(store_->IngestOf(a.identity.agent_id).stored_through, 5000u);
  auto agent = store_->registry().GetAgent(a.identity.agent_id);
  ASSERT_TRUE(agent.has_value());
  EXPECT_EQ(agent->name, "host1");
  // Heartbeats carry health; probes make the agent and its site "up".
  ASSERT_TRUE(Eventually([&] {
    auto ag = store_->registry().GetAgent(a.identity.agent_id);
    return ag.has_value() && ag->health.reported_unix_nanos > 0 && ag->state == reg::AgentState::kUp &&
           ag->health.link.rtt_ms > 0;
  }));
  agent = store_->registry().GetAgent(a.identity.agent_id);
  EXPECT_EQ(agent->version, "test-agent");
  EXPECT_GT(agent->health.rss_bytes, 0u);
  EXPECT_TRUE(agent->connected);
  // The site follows its agents' states, recorded just after them.
  EXPECT_TRUE(Eventually([&] { return store_->registry().GetSite("site-a")->link.state == reg::LinkState::kUp; }));
  ASSERT_TRUE(Eventually([&] { return a.shipper->Stats().probes_received > 0; }));
  // A clean stop says goodbye: "stopped", not "down".
  a.shipper->Stop(std::chrono::seconds(2));
  ASSERT_TRUE(Eventually([&] { return store_->registry().GetAgent(a.identity.agent_id)->state == reg::AgentState::kStopped; }));
}

// The agent's spool, recording how many events the shipper asked for in
// each in-order read (the size of the batch it was building).
class RecordingOutbox final : public agent_store::Outbox {
 public:
  explicit RecordingOutbox(agent_store::Outbox& spool) : spool_(spool) {}
  Result<size_t> Read(agent_store::Lane lane, uint64_t after, size_t max_events, size_t max_bytes,
                      std::vector<agent_store::OutboxEntry>* out) override {
    if (lane == agent_store::Lane::kAll) {
      std::lock_guard lock(mu_);
      limits_.push_back(max_events);
    }
    return spool_.Read(lane, after, max_events, max_bytes, out);
  }
  Status Ack(std::span<const agent_store::SeqRange> ranges) override { return spool_.Ack(ranges); }
  std::vector<agent_store::SeqRange> Gone() override { return spool_.Gone(); }
  bool WaitForAppend(uint64_t after, std::chrono::milliseconds timeout) override {
    return spool_.WaitForAppend(after, timeout);
  }
  Status Renumber(uint64_t next) override { return spool_.Renumber(next); }
  agent_store::OutboxStats Stats() const override { return spool_.Stats(); }
  std::vector<size_t> limits() const {
    std::lock_guard lock(mu_);
    return limits_;
  }

 private:
  agent_store::Outbox& spool_;
  mutable std::mutex mu_;
  std::vector<size_t> limits_;
};

TEST_F(TransportTest, AStreamStartsWithSmallBatchesThatGrowWithEachAck) {
  Agent& a = NewAgent("site-a");
  Append(a, 0, 3000);
  RecordingOutbox outbox(*a.spool);
  ship::ShipperOptions o;
  o.identity = a.identity;
  o.data_dir = a.dir;
  o.reconnect_initial = std::chrono::milliseconds(100);
  o.backlog_events_per_second = 0;  // Unpaced: the limit is the slow start's alone.
  o.batch_max_events = 500;
  auto s = ship::Shipper::Start(o, outbox);
  ASSERT_TRUE(s.has_value()) << s.error();
  ASSERT_TRUE(Eventually([&] { return Stored(a) == 3000; })) << Stored(a);
  (*s)->Stop(std::chrono::seconds(2));
  ExpectExactlyOnce(a, 3000);
  // 64 events first; each acknowledged batch doubles it up to the maximum.
  // Several batches are in flight, and acks that arrive together double it
  // more than once between two reads, so a step may be skipped; no other
  // size is ever asked for.
  const std::vector<size_t> limits = outbox.limits();
  ASSERT_FALSE(limits.empty());
  EXPECT_EQ(limits.front(), 64u);
  EXPECT_TRUE(std::is_sorted(limits.begin(), limits.end()));
  EXPECT_EQ(limits.back(), 500u);
  EXPECT_THAT(limits, ::testing::Each(::testing::AnyOf(64u, 128u, 256u, 500u)));
}

TEST_F(TransportTest, ControllerRestartMidStreamLosesAndDuplicatesNothing) {
  Agent& a = NewAgent("site-a");
  Agent& b = NewAgent("site-a");
  StartShipper(a);
  StartShipper(b);
  std::atomic<bool> stop{false};
  int appended = 0;
  std::thread writer([&] {
    while (!stop && appended < 200000) {
      Append(a, appended, appended + 100, true);
      Append(b, appended, appended + 100);
      appended += 100;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  for (int round = 0; round < 3; ++round) {
    // Streaming (again), then the controller goes away mid-stream.
    const uint64_t before = Stored(a);
    ASSERT_TRUE(Eventually([&] { return Stored(a) > before + 300 && a.shipper->Stats().connected; }));
    StopController();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    StartController();
  }
  const uint64_t before = Stored(a);
  ASSERT_TRUE(Eventually([&] { return Stored(a) > before + 300; }));
  stop = true;
  writer.join();
  const uint64_t n = static_cast<uint64_t>(appended);
  ASSERT_TRUE(Eventually([&] { return Stored(a) == n && Stored(b) == n; })) << Stored(a) << " " << Stored(b);
  ExpectExactlyOnce(a, appended);
  ExpectExactlyOnce(b, appended);
  EXPECT_GE(a.shipper->Stats().connects, 4u);
}

TEST_F(TransportTest, AfterAnOutageAlertsArriveFirstAndTheBacklogIsPaced) {
  Agent& a = NewAgent("site-a");
  server_->Shutdown(std::chrono::seconds(1));
  server_.reset();
  StartShipper(a, 4000);
  Append(a, 0, 4000, true);  // 400 alerts among 3600 flows, all queued.
  StartServer();
  ASSERT_TRUE(Eventually([&] { return Stored(a) == 4000; })) << Stored(a);
  auto all = store_->AgentEvents(a.identity.agent_id, 1, 10000);
  ASSERT_TRUE(all.has_value());
  int64_t last_alert = 0, first_flow = INT64_MAX, last_flow = 0;
  for (const cs::EventRecord& r : *all) {
    if (r.summary.kind == cs::EventKind::kAlert) {
      last_alert = std::max(last_alert, r.summary.stored_unix_nanos);
    } else {
      first_flow = std::min(first_flow, r.summary.stored_unix_nanos);
      last_flow = std::max(last_flow, r.summary.stored_unix_nanos);
    }
  }
  EXPECT_LT(last_alert, first_flow) << "every alert stored before the first backlog flow";
  EXPECT_GT(a.shipper->Stats().alerts_ahead, 0u);
  // 3600 flows at 4000/s take most of a second (the bucket starts empty).
  EXPECT_GT(last_flow - first_flow, 500'000'000) << "the backlog was not paced";
  ExpectExactlyOnce(a, 4000);
}

TEST_F(TransportTest, TokenIsOneTimeAndExpires) {
  auto token = fleet_->CreateToken({.site = "site-a", .create_site = true});
  ASSERT_TRUE(token.has_value());
  ship::EnrollOptions eo;
  eo.controller = Address();
  eo.token = token->token;
  eo.ca_sha256 = fleet_->ca_sha256();
  eo.data_dir = dir_.File("first");
  ASSERT_TRUE(ship::Enroll(eo).has_value());
  eo.data_dir = dir_.File("replay");
  auto replay = ship::Enroll(eo);
  ASSERT_FALSE(replay.has_value());
  EXPECT_EQ(replay.error().code(), StatusCode::kUnauthenticated);
  EXPECT_FALSE(std::filesystem::exists(dir_.File("replay/pki/agent.crt")));

  auto short_lived = fleet_->CreateToken({.site = "site-a", .ttl = std::chrono::seconds(1)});
  ASSERT_TRUE(short_lived.has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  eo.token = short_lived->token;
  eo.data_dir = dir_.File("late");
  auto late = ship::Enroll(eo);
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().code(), StatusCode::kUnauthenticated);

  eo.token = "made-up-token";
  eo.data_dir = dir_.File("guess");
  EXPECT_EQ(ship::Enroll(eo).error().code(), StatusCode::kUnauthenticated);
}

TEST_F(TransportTest, AWrongPinNeverSendsTheToken) {
  auto token = fleet_->CreateToken({.site = "site-a", .create_site = true});
  ship::EnrollOptions eo;
  eo.controller = Address();
  eo.token = token->token;
  eo.ca_sha256 = std::string(64, 'a');
  eo.data_dir = dir_.File("pinned");
  auto r = ship::Enroll(eo);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(r.error().message(), HasSubstr("refusing to send the token"));
  // The token is still good.
  eo.ca_sha256 = tls::FormatFingerprint(fleet_->ca_sha256());
  auto enrolled = ship::Enroll(eo);
  EXPECT_TRUE(enrolled.has_value()) << enrolled.error();
}

TEST_F(TransportTest, ASelfSignedAgentCertificateIsRefused) {
  Agent& real = NewAgent("site-a");
  // A certificate with the real agent's CN, signed by a CA of its own.
  auto ca = tls::CreateCertificateAuthority("impostor CA", std::chrono::hours(1));
  auto key = tls::GeneratePrivateKeyPem();
  tls::Subject subject;
  subject.common_name = real.identity.agent_id;
  auto csr = tls::CreateCsrPem(*key, subject);
  auto cert = tls::SignCsr(*ca, *csr, {});
  ASSERT_TRUE(cert.has_value());
  Agent& fake = agents_.emplace_back();
  fake.dir = dir_.File("impostor");
  fake.identity = real.identity;
  fake.identity.key_pem = *key;
  fake.identity.certificate_pem = *cert;
  agent_store::SpoolOptions sp;
  sp.path = fake.dir + "/spool";
  fake.spool = std::move(*agent_store::Spool::Open(sp));
  Append(fake, 0, 10);
  StartShipper(fake);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const ship::ShipperStats st = fake.shipper->Stats();
  EXPECT_EQ(st.connects, 0u);
  EXPECT_GT(st.failures, 0u);
  EXPECT_EQ(Stored(real), 0u);
  EXPECT_EQ(server_->counters().streams_total, 0u) << "refused in the TLS handshake";
}

TEST_F(TransportTest, RevocationEndsTheLiveStreamAndRefusesReconnects) {
  Agent& a = NewAgent("site-a");
  StartShipper(a);
  Append(a, 0, 10);
  ASSERT_TRUE(Eventually([&] { return Stored(a) == 10 && a.shipper->Stats().connected; }));
  ASSERT_TRUE(fleet_->Revoke(a.identity.agent_id, "test").ok());
  ASSERT_TRUE(Eventually([&] { return !a.shipper->Stats().connected; }, std::chrono::seconds(5)));
  Append(a, 10, 20);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(Stored(a), 10u);
  EXPECT_THAT(a.shipper->Stats().last_error, HasSubstr("revoked"));
  EXPECT_GE(server_->counters().streams_refused, 1u);
  EXPECT_EQ(store_->registry().GetAgent(a.identity.agent_id)->state, reg::AgentState::kRevoked);
}

TEST_F(TransportTest, TheAgentPortSpeaksOnlyTls13) {
  const std::string target = "127.0.0.1:" + std::to_string(port_);
  auto tls12 = testing::RunProcess({"/usr/bin/openssl", "s_client", "-connect", target, "-tls1_2"},
                                   std::chrono::seconds(20), "");
  EXPECT_NE(tls12.exit_code, 0) << tls12.out;
  auto tls13 = testing::RunProcess({"/usr/bin/openssl", "s_client", "-connect", target, "-tls1_3", "-alpn", "h2"},
                                   std::chrono::seconds(20), "");
  EXPECT_THAT(tls13.out, HasSubstr("TLSv1.3")) << tls13.err;
}

TEST_F(TransportTest, CertificatesAreRenewedBeforeTheyExpire) {
  StopController();
  // Certificates start 5 min in the past (clock skew): 400 s of validity
  // leaves 100 s, under a third, so renewal is due at once.
  cert_validity_ = std::chrono::seconds(400);
  StartController();
  Agent& a = NewAgent("site-a");
  const std::string first = a.identity.certificate_pem;
  const std::string serial = store_->registry().GetAgent(a.identity.agent_id)->certificate_serial;
  StartShipper(a);
  Append(a, 0, 5);
  ASSERT_TRUE(Eventually([&] { return Stored(a) == 5; }));
  ASSERT_TRUE(Eventually([&] { return store_->registry().GetAgent(a.identity.agent_id)->certificate_serial != serial; }));
  auto reloaded = ship::LoadIdentity(a.dir);
  ASSERT_TRUE(reloaded.has_value()) << reloaded.error();
  EXPECT_NE(reloaded->certificate_pem, first);
  EXPECT_EQ(reloaded->agent_id, a.identity.agent_id);
}

TEST_F(TransportTest, AdminSocketCreatesTokensAndRevokes) {
  auto admin_server = fleet::AdminServer::Start(dir_.File("admin.sock"), fleet_.get(), store_->registry(), *store_);
  ASSERT_TRUE(admin_server.has_value()) << admin_server.error();
  auto client = fleet::AdminClient::Create(dir_.File("admin.sock"));
  EXPECT_EQ(std::filesystem::status(dir_.File("admin.sock")).permissions() & std::filesystem::perms::others_all,
            std::filesystem::perms::none);
  EXPECT_EQ(client->CreateToken("no-such-site", std::chrono::seconds(60), false).error().code(),
            StatusCode::kNotFound);
  auto token = client->CreateToken("site-x", std::chrono::seconds(60), true);
  ASSERT_TRUE(token.has_value()) << token.error();
  EXPECT_EQ(token->ca_sha256, fleet_->ca_sha256());
  ship::EnrollOptions eo;
  eo.controller = Address();
  eo.token = token->token;
  eo.ca_sha256 = token->ca_sha256;
  eo.data_dir = dir_.File("adm");
  auto id = ship::Enroll(eo);
  ASSERT_TRUE(id.has_value());
  auto agents = client->List(fleet::ListWhat::kAgents);
  ASSERT_TRUE(agents.has_value());
  EXPECT_THAT(*agents, HasSubstr(id->agent_id));
  auto sites = client->List(fleet::ListWhat::kSites);
  EXPECT_THAT(*sites, HasSubstr("site-x"));
  EXPECT_THAT(*client->List(fleet::ListWhat::kTokens), HasSubstr("\"used\":true"));
  ASSERT_TRUE(client->RevokeAgent(id->agent_id, "test").ok());
  EXPECT_TRUE(store_->registry().GetAgent(id->agent_id)->revoked);
  EXPECT_EQ(client->RevokeAgent("a-nobody", "").code(), StatusCode::kNotFound);
  (*admin_server)->Shutdown(std::chrono::seconds(1));
  auto down = fleet::AdminClient::Create(dir_.File("admin.sock"))->List(fleet::ListWhat::kSites);
  ASSERT_FALSE(down.has_value());
  EXPECT_EQ(down.error().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace rampart
