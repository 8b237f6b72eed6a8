#include "agent/detect/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "agent/detect/ruleset.h"

namespace rampart::detect {
namespace {

// A transaction made of plain buffers, the way an app-layer parser would
// present one.
class BufferTx final : public TxView {
 public:
  BufferTx(uint64_t id, AppProto proto) : id_(id), proto_(proto) {}
  uint64_t id() const override { return id_; }
  AppProto proto() const override { return proto_; }
  // Set as TxProgress's values (1 line, 2 headers, 4 complete).
  TxProgress progress(Dir d) const override { return static_cast<TxProgress>(progress_[static_cast<int>(d)]); }
  bool GetBuffer(BufferId b, Dir side, uint32_t index, std::string* scratch,
                 std::span<const uint8_t>* out) const override {
    (void)scratch;
    auto it = buffers_.find({b, static_cast<int>(side)});
    if (it == buffers_.end() || index >= it->second.size()) return false;
    const std::string& s = it->second[index];
    *out = {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
    return true;
  }
  bool FileSize(Dir side, uint64_t* size, bool* complete) const override {
    *size = file_size_[static_cast<int>(side)];
    *complete = progress_[static_cast<int>(side)] >= 4;
    return *size > 0;
  }
  bool HasEvent(std::string_view name) const override {
    for (const std::string& e : events_) {
      if (e == name) return true;
    }
    return false;
  }
  uint32_t EventCount() const override { return static_cast<uint32_t>(events_.size()); }
  void Set(BufferId b, Dir side, std::vector<std::string> v) { buffers_[{b, static_cast<int>(side)}] = std::move(v); }
  void AddEvent(std::string e) { events_.push_back(std::move(e)); }
  void SetProgress(Dir d, int p) { progress_[static_cast<int>(d)] = p; }
  void SetFileSize(Dir d, uint64_t n) { file_size_[static_cast<int>(d)] = n; }

 private:
  uint64_t id_;
  AppProto proto_;
  int progress_[2] = {0, 0};
  uint64_t file_size_[2] = {0, 0};
  std::map<std::pair<BufferId, int>, std::vector<std::string>> buffers_;
  std::vector<std::string> events_;
};

class EngineTest : public ::testing::Test {
 protected:
  void Load(const std::string& rules) {
    RuleVars vars = RuleVars::Defaults();
    Classifications classes = Classifications::Builtin();
    RuleLoader loader(vars, classes);
    loader.LoadText(rules, "test.rules");
    ASSERT_EQ(loader.report().failed, 0u) << loader.report().errors.front();
    auto e = Engine::Build(loader.Take());
    ASSERT_TRUE(e) << e.error();
    engine_ = std::move(*e);
    auto d = Detector::Create(*engine_);
    ASSERT_TRUE(d) << d.error();
    det_ = std::move(*d);
    flow_ = det_->NewFlowState();
  }

  // A TCP packet of the test flow 10.0.0.1:40000 -> 192.0.2.1:80.
  PacketInput Tcp(Dir dir, std::string_view payload, bool with_flow = true) {
    PacketInput p;
    p.timestamp_nanos = (++ts_) * 1000000000LL;
    p.ip_version = 4;
    p.proto = 6;
    p.client = IpAddr::V4(0x0a000001);
    p.server = IpAddr::V4(0xc0000201);
    p.client_port = 40000;
    p.server_port = 80;
    p.src = dir == Dir::kToServer ? p.client : p.server;
    p.dst = dir == Dir::kToServer ? p.server : p.client;
    p.sport = dir == Dir::kToServer ? 40000 : 80;
    p.dport = dir == Dir::kToServer ? 80 : 40000;
    p.has_ports = true;
    p.tcp_flags = 0x18;
    p.payload = {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()};
    p.dir = dir;
    if (with_flow) {
      p.flow = flow_.get();
      p.established = true;
    }
    return p;
  }

  std::vector<uint32_t> Run(const PacketInput& p, std::vector<const TxView*> txs = {}) {
    std::vector<Alert> alerts;
    det_->Inspect(p, txs, &alerts);
    std::vector<uint32_t> sids;
    for (const Alert& a : alerts) sids.push_back(a.rule->sid);
    return sids;
  }

  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Detector> det_;
  std::unique_ptr<FlowDetectState> flow_;
  int64_t ts_ = 1000;
};

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST_F(EngineTest, PrefilterThenVerifyOncePerPacket) {
  Load("alert udp any any -> any any (content:\"evil\"; sid:1;)\n"
       "alert udp any any -> any any (content:\"evil\"; content:\"more\"; distance:0; sid:2;)\n"
       "alert udp any any -> any any (content:\"other\"; sid:3;)\n");
  PacketInput p = Tcp(Dir::kToServer, "an evil evil packet", false);
  p.proto = 17;
  EXPECT_THAT(Run(p), ElementsAre(1u));
  PacketInput q = Tcp(Dir::kToServer, "evil and more", false);
  q.proto = 17;
  EXPECT_THAT(Run(q), ElementsAre(1u, 2u));
  PacketInput tcp = Tcp(Dir::kToServer, "evil", false);
  EXPECT_THAT(Run(tcp), IsEmpty());  // udp rules ignore TCP packets
  EXPECT_GT(det_->stats().candidates, 0u);
}

TEST_F(EngineTest, PortsAndRulesWithoutFastPattern) {
  Load("alert tcp any any -> any 80 (dsize:>3; sid:1;)\n"
       "alert tcp any any -> any 8080 (dsize:>3; sid:2;)\n"
       "alert tcp any 80 -> any any (content:\"HTTP/\"; sid:3;)\n");
  EXPECT_THAT(Run(Tcp(Dir::kToServer, "hello")), ElementsAre(1u));
  PacketInput resp = Tcp(Dir::kToClient, "HTTP/1.1 200 OK");
  resp.stream_added = false;
  EXPECT_THAT(Run(resp), ElementsAre(3u));
}

TEST_F(EngineTest, FlowDirectionAndEstablished) {
  Load("alert tcp any any -> any any (flow:to_client,established; content:\"x\"; sid:1;)\n"
       "alert tcp any any -> any any (flow:to_server; content:\"x\"; sid:2;)\n"
       "alert tcp any any -> any any (flow:not_established; content:\"x\"; sid:3;)\n");
  EXPECT_THAT(Run(Tcp(Dir::kToServer, "x")), ElementsAre(2u));
  EXPECT_THAT(Run(Tcp(Dir::kToClient, "x")), ElementsAre(1u));
  PacketInput early = Tcp(Dir::kToServer, "x");
  early.established = false;
  EXPECT_THAT(Run(early), ElementsAre(2u, 3u));
}

TEST_F(EngineTest, FlowbitsSetterRunsBeforeReader) {
  // The reader is listed first; Suricata's order still runs the setter first.
  Load("alert tcp any any -> any any (flowbits:isset,login; content:\"secret\"; sid:2;)\n"
       "alert tcp any any -> any any (content:\"USER\"; flowbits:set,login; flowbits:noalert; sid:1;)\n"
       "alert tcp any any -> any any (flowbits:isnotset,login; content:\"secret\"; sid:3;)\n");
  EXPECT_THAT(Run(Tcp(Dir::kToServer, "secret")), ElementsAre(3u));
  EXPECT_THAT(Run(Tcp(Dir::kToServer, "USER bob secret")), ElementsAre(2u));
  EXPECT_THAT(Run(Tcp(Dir::kToServer, "secret")), ElementsAre(2u));
}

TEST_F(EngineTest, FlowintCountsAcrossPackets) {
  Load("alert tcp any any -> any any (content:\"fail\"; flowint:fails,+,1; noalert; sid:1;)\n"
       "alert tcp any any -> any any (content:\"fail\"; flowint:fails,>,2; sid:2;)\n");
  EXPECT_THAT(Run(Tcp(Dir::kToServer, "fail")), IsEmpty());
  EXPECT_THAT(Run(Tcp(Dir::kToServer, "fail")), IsEmpty());
  EXPECT_THAT(Run(Tcp(Dir::kToServer, "fail")), ElementsAre(2u));
}

TEST_F(EngineTest, PassRuleSuppressesAndPassesFlow) {
  Load("alert tcp any any -> any any (content:\"bad\"; sid:1;)\n"
       "pass tcp any any -> any any (content:\"trusted\"; sid:2;)\n");
  EXPECT_THAT(Run(Tcp(Dir::kToServer, "bad")), ElementsAre(1u));
  EXPECT_THAT(Run(Tcp(Dir::kToServer, "trusted bad")), IsEmpty());
  EXPECT_FALSE(flow_->passed());  // A packet pass rule does not pass the flow...
  Load("alert tcp any any -> any any (content:\"bad\"; sid:1;)\n"
       "pass ip 10.0.0.1 any -> any any (sid:2;)\n");
  EXPECT_THAT(Run(Tcp(Dir::kToServer, "bad")), IsEmpty());
  EXPECT_TRUE(flow_->passed());  // ...an IP-only one does.
  EXPECT_THAT(Run(Tcp(Dir::kToClient, "bad")), IsEmpty());
}

TEST_F(EngineTest, IpOnlyRulesOncePerFlowDirection) {
  Load("alert ip 10.0.0.1 any -> any any (sid:1;)\n"
       "alert ip any any -> any any (sid:2;)\n");
  EXPECT_THAT(Run(Tcp(Dir::kToServer, "a")), ElementsAre(1u, 2u));
  EXPECT_THAT(Run(Tcp(Dir::kToServer, "b")), IsEmpty());
  EXPECT_THAT(Run(Tcp(Dir::kToClient, "c")), ElementsAre(2u));
  EXPECT_THAT(Run(Tcp(Dir::kToClient, "d")), IsEmpty());
}

// Address lists are indexed (narrow ranges, wide CIDRs, destination side
// when the source is "any"); the rest is checked rule by rule; alerts keep
// rule order either way.
TEST_F(EngineTest, IpOnlyAddressListsIndexed) {
  Load("alert ip [198.51.100.7,10.0.0.0/30] any -> any any (sid:1;)\n"
       "alert ip [10.0.0.0/8] any -> any any (sid:2;)\n"
       "alert ip any any -> [192.0.2.1,203.0.113.0/24] any (sid:3;)\n"
       "alert ip !10.0.0.0/8 any -> any any (sid:4;)\n"
       "alert ip [10.0.0.2,10.0.0.3] any -> any any (sid:5;)\n"
       "alert ip 192.0.2.1 any <> 10.0.0.1 any (sid:6;)\n");
  // 10.0.0.1 -> 192.0.2.1: sids 1 (in /30), 2 (/8), 3 (destination), 6 (<>); not 4, not 5.
  EXPECT_THAT(Run(Tcp(Dir::kToServer, "a")), ElementsAre(1u, 2u, 3u, 6u));
  // 192.0.2.1 -> 10.0.0.1: 4 (source outside 10/8) and 6 (either way).
  EXPECT_THAT(Run(Tcp(Dir::kToClient, "b")), ElementsAre(4u, 6u));
}

TEST_F(EngineTest, Thresholds) {
  Load("alert tcp any any -> any any (content:\"a\"; threshold:type limit, track by_src, count 2, seconds 60; sid:1;)\n"
       "alert tcp any any -> any any (content:\"b\"; threshold:type threshold, track by_src, count 3, seconds 60; "
       "sid:2;)\n"
       "alert tcp any any -> any any (content:\"c\"; threshold:type both, track by_dst, count 2, seconds 60; sid:3;)\n"
       "alert tcp any any -> any any (content:\"d\"; detection_filter:track by_src, count 2, seconds 60; sid:4;)\n");
  int n1 = 0, n2 = 0, n3 = 0, n4 = 0;
  for (int i = 0; i < 7; ++i) {
    for (uint32_t sid : Run(Tcp(Dir::kToServer, "abcd"))) {
      n1 += sid == 1;
      n2 += sid == 2;
      n3 += sid == 3;
      n4 += sid == 4;
    }
  }
  EXPECT_EQ(n1, 2);  // limit: the first 2
  EXPECT_EQ(n2, 2);  // threshold: the 3rd and the 6th
  EXPECT_EQ(n3, 1);  // both: once, at the 2nd
  EXPECT_EQ(n4, 5);  // detection_filter: from the 3rd on
}

TEST_F(EngineTest, StreamWindowFindsPatternAcrossSegments) {
  Load("alert tcp any any -> any any (content:\"malware\"; sid:1;)\n");
  // Two segments go into reassembly: the packets alone never hold the
  // whole pattern, the stream window does once the peer acknowledges.
  PacketInput::Chunk c1{Dir::kToServer, {reinterpret_cast<const uint8_t*>("get mal"), 7}, 0, false};
  PacketInput p1 = Tcp(Dir::kToServer, "get mal");
  p1.stream_added = true;
  p1.chunks = {&c1, 1};
  p1.acked[0] = 0;
  EXPECT_THAT(Run(p1), IsEmpty());
  PacketInput::Chunk c2{Dir::kToServer, {reinterpret_cast<const uint8_t*>("ware now"), 8}, 7, false};
  PacketInput p2 = Tcp(Dir::kToServer, "ware now");
  p2.stream_added = true;
  p2.chunks = {&c2, 1};
  p2.acked[0] = 15;
  p2.raw_trigger[0] = true;
  std::vector<Alert> alerts;
  det_->Inspect(p2, {}, &alerts);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_TRUE(alerts[0].stream_match);
  // Already inspected data is not inspected again.
  PacketInput p3 = Tcp(Dir::kToServer, "");
  p3.acked[0] = 15;
  p3.raw_trigger[0] = true;
  EXPECT_THAT(Run(p3), IsEmpty());
}

TEST_F(EngineTest, StreamDataWaitsForAckOrEnd) {
  Load("alert tcp any any -> any any (content:\"secret\"; sid:1;)\n");
  PacketInput::Chunk c{Dir::kToServer, {reinterpret_cast<const uint8_t*>("my secret"), 9}, 0, false};
  PacketInput p = Tcp(Dir::kToServer, "my secret");
  p.stream_added = true;
  p.chunks = {&c, 1};
  p.acked[0] = 0;
  EXPECT_THAT(Run(p), IsEmpty());  // Not acknowledged yet, and not in the packet either.
  PacketInput end = Tcp(Dir::kToServer, "");
  end.pseudo = true;
  EXPECT_THAT(Run(end), ElementsAre(1u));  // The flow end flushes it.
}

TEST_F(EngineTest, PacketPayloadWhenNotInStream) {
  Load("alert tcp any any -> any any (content:\"abc\"; sid:1;)\n"
       "alert tcp any any -> any any (flow:only_stream; content:\"abc\"; sid:2;)\n"
       "alert tcp-pkt any any -> any any (content:\"abc\"; sid:3;)\n");
  PacketInput p = Tcp(Dir::kToServer, "abc");
  p.stream_added = false;  // e.g. a retransmission or data before the handshake
  EXPECT_THAT(Run(p), ElementsAre(1u, 3u));
  PacketInput q = Tcp(Dir::kToServer, "abc");
  q.stream_added = true;
  EXPECT_THAT(Run(q), ElementsAre(3u));
}

TEST_F(EngineTest, TransactionRulesAlertOncePerTransaction) {
  Load("alert http any any -> any any (http.method; content:\"POST\"; http.uri; content:\"/upload\"; "
       "http.request_body; content:\"payload\"; sid:1;)\n"
       "alert http any any -> any any (http.uri; content:\"/upload\"; sid:2;)\n"
       "alert http any any -> any any (http.stat_code; content:\"500\"; sid:3;)\n");
  BufferTx tx(0, AppProto::kHttp1);
  tx.Set(BufferId::kHttpMethod, Dir::kToServer, {"POST"});
  tx.Set(BufferId::kHttpUri, Dir::kToServer, {"/upload"});
  tx.SetProgress(Dir::kToServer, 2);
  PacketInput p = Tcp(Dir::kToServer, "");
  p.app_proto = AppProto::kHttp1;
  EXPECT_THAT(Run(p, {&tx}), ElementsAre(2u));  // The body is not there yet.
  tx.Set(BufferId::kHttpRequestBody, Dir::kToServer, {"the payload"});
  tx.SetProgress(Dir::kToServer, 4);
  std::vector<Alert> alerts;
  det_->Inspect(p, std::vector<const TxView*>{&tx}, &alerts);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].rule->sid, 1u);
  EXPECT_TRUE(alerts[0].has_tx);
  EXPECT_EQ(alerts[0].tx_id, 0u);
  EXPECT_THAT(Run(p, {&tx}), IsEmpty());  // Done: never again for this transaction.
  tx.Set(BufferId::kHttpStatCode, Dir::kToClient, {"500"});
  tx.SetProgress(Dir::kToClient, 4);
  PacketInput r = Tcp(Dir::kToClient, "");
  r.app_proto = AppProto::kHttp1;
  EXPECT_THAT(Run(r, {&tx}), ElementsAre(3u));
  // A second transaction alerts again.
  BufferTx tx2(1, AppProto::kHttp1);
  tx2.Set(BufferId::kHttpUri, Dir::kToServer, {"/upload"});
  tx2.SetProgress(Dir::kToServer, 4);
  EXPECT_THAT(Run(p, {&tx2}), ElementsAre(2u));
}

// '=>': both sides of one transaction, inspected once the response is in;
// a two-sided buffer names its side.
TEST_F(EngineTest, TransactionalBothDirectionRules) {
  Load("alert http any any => any any (http.uri; content:\"/download\"; http.stat_code; content:\"200\"; sid:1;)\n"
       "alert http any any => any any (http.uri; content:\"/download\"; http.stat_code; content:\"404\"; sid:2;)\n"
       "alert http any any => any any (http.connection: to_client; content:\"close\"; "
       "http.connection: to_server; content:\"keep\"; sid:3;)\n"
       "alert http any any => any any (http.uri; content:\"/download\"; filesize: to_client, >100; sid:4;)\n"
       "alert http any any => any any (http.uri; content:\"/download\"; filesize: to_client, <100; sid:5;)\n");
  BufferTx tx(0, AppProto::kHttp1);
  tx.Set(BufferId::kHttpUri, Dir::kToServer, {"/download"});
  tx.Set(BufferId::kHttpConnection, Dir::kToServer, {"keep-alive"});
  tx.SetProgress(Dir::kToServer, 4);
  PacketInput p = Tcp(Dir::kToServer, "");
  p.app_proto = AppProto::kHttp1;
  EXPECT_THAT(Run(p, {&tx}), IsEmpty());  // Nothing before the response.
  tx.Set(BufferId::kHttpStatCode, Dir::kToClient, {"200"});
  tx.Set(BufferId::kHttpConnection, Dir::kToClient, {"close"});
  tx.SetProgress(Dir::kToClient, 2);
  tx.SetFileSize(Dir::kToClient, 150);
  PacketInput r = Tcp(Dir::kToClient, "");
  r.app_proto = AppProto::kHttp1;
  // An open file already exceeds 100; "< 100" waits for the end (and fails).
  EXPECT_THAT(Run(r, {&tx}), ElementsAre(1u, 3u, 4u));
  tx.SetProgress(Dir::kToClient, 4);
  EXPECT_THAT(Run(r, {&tx}), IsEmpty());
}

TEST_F(EngineTest, TransactionalRulesNeedBothSides) {
  RuleVars vars = RuleVars::Defaults();
  Classifications classes = Classifications::Builtin();
  RuleLoader loader(vars, classes);
  loader.LoadText("alert http any any => any any (http.uri; content:\"/a\"; sid:1;)\n"
                  "alert http any any -> any any (http.connection: to_client; content:\"x\"; sid:2;)\n"
                  "alert tcp any any => any any (content:\"x\"; sid:3;)\n",
                  "t.rules");
  EXPECT_EQ(loader.report().failed, 3u);
}

TEST_F(EngineTest, MultiBufferAndTransformPrefilter) {
  Load("alert dns any any -> any any (dns.query; dotprefix; content:\".evil.example\"; endswith; sid:1;)\n");
  BufferTx tx(7, AppProto::kDns);
  tx.Set(BufferId::kDnsQuery, Dir::kToServer, {"good.example", "x.evil.example"});
  tx.SetProgress(Dir::kToServer, 4);
  PacketInput p = Tcp(Dir::kToServer, "");
  p.proto = 17;
  p.app_proto = AppProto::kDns;
  EXPECT_THAT(Run(p, {&tx}), ElementsAre(1u));
  BufferTx tx2(8, AppProto::kDns);
  tx2.Set(BufferId::kDnsQuery, Dir::kToServer, {"notevil.example"});
  tx2.SetProgress(Dir::kToServer, 4);
  EXPECT_THAT(Run(p, {&tx2}), IsEmpty());
}

// An event the response raises belongs to the transaction: a to_server rule
// on it alerts though the request side was inspected already, once.
TEST_F(EngineTest, TransactionEventsReachSidesAlreadyInspected) {
  Load("alert http any any -> any any (flow:to_server,established; app-layer-event:http.too_many_encoding_layers; "
       "sid:1;)\n"
       "alert http any any -> any any (flow:to_client; app-layer-event:http.request_auth_unrecognized; sid:2;)\n"
       "alert http any any -> any any (http.uri; content:\"/x\"; sid:3;)\n");
  BufferTx tx(0, AppProto::kHttp1);
  tx.Set(BufferId::kHttpUri, Dir::kToServer, {"/x"});
  tx.SetProgress(Dir::kToServer, 4);
  PacketInput p = Tcp(Dir::kToServer, "");
  p.app_proto = AppProto::kHttp1;
  EXPECT_THAT(Run(p, {&tx}), ElementsAre(3u));
  tx.SetProgress(Dir::kToClient, 4);
  tx.AddEvent("http.too_many_encoding_layers");
  PacketInput r = Tcp(Dir::kToClient, "");
  r.app_proto = AppProto::kHttp1;
  EXPECT_THAT(Run(r, {&tx}), ElementsAre(1u));  // sid 3 does not alert again.
  EXPECT_THAT(Run(r, {&tx}), IsEmpty());
  EXPECT_THAT(Run(p, {&tx}), IsEmpty());
}

TEST_F(EngineTest, DatasetCommandsShareOneSet) {
  Load("alert http any any -> any any (http.uri; dataset:set,seen, type string; sid:1;)\n"
       "alert http any any -> any any (http.host; dataset:isset,seen,type string; sid:2;)\n"
       "alert http any any -> any any (http.host; dataset:isnotset,seen,type string; sid:3;)\n"
       "alert http any any -> any any (http.user_agent; dataset:unset,seen,type string; sid:4;)\n"
       "alert dns any any -> any any (dns.query; dotprefix; dataset:isset,seen,type string,match subdomain; "
       "sid:5;)\n");
  PacketInput p = Tcp(Dir::kToServer, "");
  p.app_proto = AppProto::kHttp1;
  auto tx = [](uint64_t id, std::string uri, std::string host, std::string ua) {
    auto t = std::make_unique<BufferTx>(id, AppProto::kHttp1);
    t->Set(BufferId::kHttpUri, Dir::kToServer, {std::move(uri)});
    t->Set(BufferId::kHttpHost, Dir::kToServer, {std::move(host)});
    t->Set(BufferId::kHttpUserAgent, Dir::kToServer, {std::move(ua)});
    t->SetProgress(Dir::kToServer, 4);
    return t;
  };
  auto t1 = tx(0, "a.example", "b.example", "zzz");
  EXPECT_THAT(Run(p, {t1.get()}), ElementsAre(1u, 3u));
  auto t2 = tx(1, ".b.example", "a.example", "a.example");
  EXPECT_THAT(Run(p, {t2.get()}), ElementsAre(1u, 2u, 4u));  // isset before the unset of a later rule.
  auto t3 = tx(2, ".b.example", "a.example", "q");
  EXPECT_THAT(Run(p, {t3.get()}), ElementsAre(3u));  // Already in the set: no second `set` match.
  BufferTx dns(3, AppProto::kDns);
  dns.Set(BufferId::kDnsQuery, Dir::kToServer, {"www.b.example"});
  dns.SetProgress(Dir::kToServer, 4);
  PacketInput q = Tcp(Dir::kToServer, "");
  q.app_proto = AppProto::kDns;
  EXPECT_THAT(Run(q, {&dns}), ElementsAre(5u));  // ".b.example" is a parent of ".www.b.example".
}

// app-layer-protocol with a direction names what that direction's data was
// detected as; rules of app-layer-protocol checks alone (PD-only) are
// looked at on the packets that complete a detection.
TEST_F(EngineTest, AppLayerProtocolPerDirectionOnDetectionPackets) {
  Load("alert tcp any any -> any any (flow:to_client; app-layer-protocol:http1,to_server; "
       "app-layer-protocol:ssh,to_client; sid:1;)\n"
       "alert tcp any any -> any any (app-layer-protocol:ssh,either; sid:2;)\n"
       "alert tcp any any -> any any (app-layer-protocol:ssh,to_server; content:\"x\"; sid:3;)\n"
       "alert tcp any any -> any any (app-layer-protocol:!tls,to_client; content:\"x\"; sid:4;)\n");
  PacketInput p = Tcp(Dir::kToClient, "");
  p.app_proto = AppProto::kHttp1;
  p.app_proto_dir[0] = AppProto::kHttp1;
  p.app_proto_dir[1] = AppProto::kSsh;
  EXPECT_THAT(Run(p), IsEmpty());  // Not a detection packet.
  p.proto_detected = 2;
  EXPECT_THAT(Run(p), ElementsAre(1u, 2u));
  PacketInput q = Tcp(Dir::kToServer, "x");
  q.app_proto = AppProto::kHttp1;
  q.app_proto_dir[0] = AppProto::kHttp1;
  q.proto_detected = 1;
  EXPECT_THAT(Run(q), ElementsAre(4u));  // to_client not detected yet: only a negation holds.
  q.app_proto_dir[1] = AppProto::kTls;
  q.proto_detected = 0;
  EXPECT_THAT(Run(q), IsEmpty());
}

TEST_F(EngineTest, IpAddressBuffersWithDatasets) {
  Load("alert tcp any any -> any any (ip.src; dataset:set,hosts,type ipv4; sid:1;)\n"
       "alert tcp any any -> any any (ip.dst; dataset:isset,hosts,type ipv4; sid:2;)\n"
       "alert tcp any any -> any any (ip.dst; content:\"|c0 00 02 01|\"; bsize:4; sid:3;)\n");
  EXPECT_THAT(Run(Tcp(Dir::kToServer, "a")), ElementsAre(1u, 3u));  // 10.0.0.1 added; to 192.0.2.1.
  EXPECT_THAT(Run(Tcp(Dir::kToClient, "b")), ElementsAre(1u, 2u));  // 192.0.2.1 added; to 10.0.0.1, in the set.
  PacketInput none = Tcp(Dir::kToServer, "c");
  none.ip_version = 0;
  none.src = IpAddr();
  none.dst = IpAddr();
  EXPECT_THAT(Run(none), IsEmpty());  // No addresses, no buffers.
}

TEST_F(EngineTest, OrderAndLimitOfAlerts) {
  std::string rules;
  for (int i = 1; i <= 20; ++i) {
    rules += "alert tcp any any -> any any (content:\"x\"; priority:" + std::to_string(i % 3 + 1) + "; sid:" +
             std::to_string(i) + ";)\n";
  }
  Load(rules);
  PacketInput p = Tcp(Dir::kToServer, "x");
  auto sids = Run(p);
  ASSERT_EQ(sids.size(), 15u);  // Suricata's per-packet alert limit.
  // Priority 1 first (sids 3, 6, 9 ...).
  EXPECT_EQ(sids[0], 3u);
  EXPECT_EQ(sids[1], 6u);
}

}  // namespace
}  // namespace rampart::detect
