// The sensor pipeline end to end on capture files made here: EVE records,
// checksum handling, timeouts, worker threads, truncated files, and the
// inspector (detection hook) contract.

#include "agent/sensor/sensor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/testing/packets.h"
#include "tests/testing/temp_dir.h"

namespace rampart::sensor {
namespace {

using nlohmann::json;
using testing::Bytes;

std::vector<json> Replay(const std::string& pcap, SensorOptions o = {}, Status* status = nullptr) {
  auto src = capture::OpenFile(pcap);
  EXPECT_TRUE(src) << src.error();
  if (!src) return {};
  eve::MemorySink sink;
  auto sensor = Sensor::Create(o, (*src)->link_type(), &sink);
  EXPECT_TRUE(sensor) << sensor.error();
  if (!sensor) return {};
  const Status s = (*sensor)->Run(**src);
  if (status != nullptr) {
    *status = s;
  } else {
    EXPECT_TRUE(s.ok()) << s;
  }
  std::vector<json> out;
  for (const std::string& line : sink.Lines()) out.push_back(json::parse(line));
  return out;
}

std::vector<json> OfType(const std::vector<json>& recs, const std::string& type) {
  std::vector<json> out;
  for (const json& r : recs) {
    if (r["event_type"] == type) out.push_back(r);
  }
  return out;
}

constexpr std::string_view kGet = "GET /index.html?x=1 HTTP/1.1\r\nHost: www.example.vn\r\nUser-Agent: t/1\r\n\r\n";
constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world";

class SensorTest : public ::testing::Test {
 protected:
  std::string HttpPcap(const std::string& name, bool bad_checksum = false, int conversations = 1) {
    testing::PcapWriter w(dir_.File(name));
    for (int i = 0; i < conversations; ++i) {
      testing::TcpConversation c("10.0.0.1", static_cast<uint16_t>(40000 + i), "10.0.0.2", 80);
      w.Add(c.Handshake());
      c.base().bad_l4_checksum = bad_checksum;
      w.Add(c.Client(kGet, 20));
      c.base().bad_l4_checksum = false;
      w.Add(c.Server(kOk));
      w.Add(c.Close());
    }
    EXPECT_TRUE(w.Close().ok());
    return dir_.File(name);
  }
  testing::ScopedTempDir dir_{"sensor"};
};

TEST_F(SensorTest, HttpConversationGivesHttpFlowAndStatsRecords) {
  const auto recs = Replay(HttpPcap("http.pcap"));
  const auto http = OfType(recs, "http");
  ASSERT_EQ(http.size(), 1u);
  EXPECT_EQ(http[0]["http"]["hostname"], "www.example.vn");
  EXPECT_EQ(http[0]["http"]["url"], "/index.html?x=1");
  EXPECT_EQ(http[0]["http"]["http_method"], "GET");
  EXPECT_EQ(http[0]["http"]["http_user_agent"], "t/1");
  EXPECT_EQ(http[0]["http"]["status"], 200);
  EXPECT_EQ(http[0]["http"]["length"], 11);
  EXPECT_EQ(http[0]["http"]["http_content_type"], "text/plain");
  EXPECT_EQ(http[0]["src_ip"], "10.0.0.1");
  EXPECT_EQ(http[0]["dest_port"], 80);
  EXPECT_TRUE(http[0].contains("pcap_cnt"));
  const auto flows = OfType(recs, "flow");
  ASSERT_EQ(flows.size(), 1u);
  const json& f = flows[0];
  EXPECT_EQ(f["app_proto"], "http");
  EXPECT_EQ(f["flow_id"], http[0]["flow_id"]);
  EXPECT_EQ(f["community_id"], http[0]["community_id"]);
  EXPECT_EQ(f["flow"]["state"], "closed");
  EXPECT_EQ(f["flow"]["reason"], "shutdown");
  EXPECT_EQ(f["flow"]["pkts_toserver"], 2 + 4 + 2);  // SYN, ACK, 4 data segments, FIN, last ACK
  EXPECT_EQ(f["flow"]["pkts_toclient"], 3);
  EXPECT_EQ(f["flow"]["alerted"], false);
  EXPECT_EQ(f["tcp"]["tcp_flags"], "1b");
  EXPECT_EQ(f["tcp"]["state"], "time_wait");
  const auto stats = OfType(recs, "stats");
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(recs.back()["event_type"], "stats");
  EXPECT_EQ(stats[0]["stats"]["decoder"]["pkts"], 11);
  EXPECT_EQ(stats[0]["stats"]["app_layer"]["flow"]["http"], 1);
}

TEST_F(SensorTest, BadChecksumsAreNotReassembledUnlessChecksAreOff) {
  const std::string pcap = HttpPcap("bad.pcap", /*bad_checksum=*/true);
  const auto on = Replay(pcap);
  EXPECT_TRUE(OfType(on, "http").empty() || !OfType(on, "http")[0]["http"].contains("http_method"));
  EXPECT_EQ(OfType(on, "stats")[0]["stats"]["tcp"]["invalid_checksum"], 4);
  SensorOptions off;
  off.decoder.checksum_checks = false;
  const auto http = OfType(Replay(pcap, off), "http");
  ASSERT_EQ(http.size(), 1u);
  EXPECT_EQ(http[0]["http"]["http_method"], "GET");
}

TEST_F(SensorTest, DnsQueryAndAnswerShareATransaction) {
  testing::PcapWriter w(dir_.File("dns.pcap"));
  Bytes q = {0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 2, 'v', 'n', 0, 0, 1, 0, 1};
  Bytes a = q;
  a[2] = 0x81;
  a[3] = 0x80;
  a[7] = 1;
  a.insert(a.end(), {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 203, 0, 113, 9});
  testing::PacketSpec s;
  s.proto = 17;
  s.sport = 5353;
  s.dport = 53;
  s.payload = q;
  w.Add(testing::BuildEthernet(s));
  std::swap(s.src, s.dst);
  std::swap(s.sport, s.dport);
  s.payload = a;
  w.Add(testing::BuildEthernet(s));
  ASSERT_TRUE(w.Close().ok());
  const auto dns = OfType(Replay(dir_.File("dns.pcap")), "dns");
  ASSERT_EQ(dns.size(), 2u);
  EXPECT_EQ(dns[0]["dns"]["type"], "query");
  EXPECT_EQ(dns[0]["dns"]["rrname"], "www.vn");
  EXPECT_EQ(dns[0]["dns"]["rrtype"], "A");
  EXPECT_EQ(dns[1]["dns"]["type"], "answer");
  EXPECT_EQ(dns[1]["dns"]["rcode"], "NOERROR");
  EXPECT_EQ(dns[1]["dns"]["answers"][0]["rdata"], "203.0.113.9");
  EXPECT_EQ(dns[0]["dns"]["tx_id"], dns[1]["dns"]["tx_id"]);
  EXPECT_EQ(dns[1]["src_ip"], "10.0.0.2");  // Answers are written in their own direction.
}

TEST_F(SensorTest, FlowsTimeOutInPacketTime) {
  testing::PcapWriter w(dir_.File("t.pcap"));
  testing::PacketSpec a;
  a.proto = 17;
  a.sport = 1000;
  w.AddAt(1'000'000'000'000'000'000, testing::BuildEthernet(a));
  testing::PacketSpec b = a;
  b.sport = 2000;
  w.AddAt(1'000'000'100'000'000'000, testing::BuildEthernet(b));  // 100 s later
  ASSERT_TRUE(w.Close().ok());
  const auto flows = OfType(Replay(dir_.File("t.pcap")), "flow");
  ASSERT_EQ(flows.size(), 2u);
  EXPECT_EQ(flows[0]["src_port"], 1000);
  EXPECT_EQ(flows[0]["flow"]["reason"], "timeout");
  EXPECT_EQ(flows[1]["flow"]["reason"], "shutdown");
}

TEST_F(SensorTest, WorkerThreadsWriteTheSameRecords) {
  const std::string pcap = HttpPcap("many.pcap", false, 40);
  auto strip = [](std::vector<json> recs) {
    std::multiset<std::string> out;
    for (json& r : recs) {
      if (r["event_type"] == "stats") continue;
      r.erase("flow_id");
      out.insert(r.dump());
    }
    return out;
  };
  SensorOptions two;
  two.workers = 2;
  const auto one = strip(Replay(pcap));
  EXPECT_EQ(one.size(), 80u);
  EXPECT_EQ(strip(Replay(pcap, two)), one);
}

TEST_F(SensorTest, TruncatedFileFailsAfterWritingWhatItDecoded) {
  const std::string pcap = HttpPcap("t.pcap");
  std::string data;
  {
    std::ifstream in(pcap, std::ios::binary);
    data.assign(std::istreambuf_iterator<char>(in), {});
  }
  data.resize(data.size() - 10);
  {
    std::ofstream out(dir_.File("cut.pcap"), std::ios::binary);
    out << data;
  }
  Status s;
  const auto recs = Replay(dir_.File("cut.pcap"), {}, &s);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(OfType(recs, "http").size(), 1u);
  EXPECT_EQ(OfType(recs, "flow").size(), 1u);
  EXPECT_EQ(OfType(recs, "stats").size(), 1u);
}

// Accepts records, fails to make them durable.
class FlushFailsSink final : public eve::EveSink {
 public:
  Status Write(std::string_view) override { return Status::Ok(); }
  Status Flush() override { return ErrnoError(ENOSPC, "eve.json"); }
};

TEST_F(SensorTest, SourceErrorIsKeptApartFromOutputErrors) {
  const std::string pcap = HttpPcap("t.pcap");
  std::string data;
  {
    std::ifstream in(pcap, std::ios::binary);
    data.assign(std::istreambuf_iterator<char>(in), {});
  }
  data.resize(data.size() - 10);
  {
    std::ofstream out(dir_.File("cut.pcap"), std::ios::binary);
    out << data;
  }
  {
    auto src = capture::OpenFile(dir_.File("cut.pcap"));
    ASSERT_TRUE(src) << src.error();
    eve::MemorySink sink;
    auto sensor = Sensor::Create({}, (*src)->link_type(), &sink);
    ASSERT_TRUE(sensor) << sensor.error();
    const Status s = (*sensor)->Run(**src);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss);
    EXPECT_EQ((*sensor)->totals().source_error, s);
    EXPECT_GT((*sensor)->totals().packets, 0u);
  }
  {
    // Lost output is the error to report, the damaged input stays known.
    auto src = capture::OpenFile(dir_.File("cut.pcap"));
    ASSERT_TRUE(src) << src.error();
    FlushFailsSink sink;
    auto sensor = Sensor::Create({}, (*src)->link_type(), &sink);
    ASSERT_TRUE(sensor) << sensor.error();
    const Status s = (*sensor)->Run(**src);
    EXPECT_NE(s.message().find("writing EVE output"), std::string::npos) << s;
    EXPECT_EQ((*sensor)->totals().source_error.code(), StatusCode::kDataLoss);
  }
  {
    auto src = capture::OpenFile(pcap);
    ASSERT_TRUE(src) << src.error();
    eve::MemorySink sink;
    auto sensor = Sensor::Create({}, (*src)->link_type(), &sink);
    ASSERT_TRUE(sensor) << sensor.error();
    EXPECT_TRUE((*sensor)->Run(**src).ok());
    EXPECT_TRUE((*sensor)->totals().source_error.ok());
  }
}

TEST_F(SensorTest, MalformedPacketBecomesAnAnomalyRecord) {
  testing::PcapWriter w(dir_.File("bad.pcap"));
  testing::PacketSpec s;
  Bytes frame = testing::BuildEthernet(s);
  frame[14] = 0x43;  // IPv4 header length 12 bytes
  w.Add(frame);
  ASSERT_TRUE(w.Close().ok());
  const auto an = OfType(Replay(dir_.File("bad.pcap")), "anomaly");
  ASSERT_EQ(an.size(), 1u);
  EXPECT_EQ(an[0]["anomaly"]["type"], "decode");
  EXPECT_EQ(an[0]["anomaly"]["event"], "decoder.ipv4.hlen_too_small");
  EXPECT_EQ(an[0]["pcap_cnt"], 1);
}

TEST_F(SensorTest, FragmentedDatagramIsReassembled) {
  testing::PacketSpec s;
  s.proto = 17;
  s.dport = 53;
  Bytes q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  const std::string label(60, 'a');
  for (int i = 0; i < 3; ++i) {
    q.push_back(60);
    q.insert(q.end(), label.begin(), label.end());
  }
  q.insert(q.end(), {0, 0, 16, 0, 1});
  s.payload = q;
  testing::PcapWriter w(dir_.File("frag.pcap"));
  w.Add(testing::FragmentIpv4(testing::BuildIp(s), 64));
  ASSERT_TRUE(w.Close().ok());
  const auto recs = Replay(dir_.File("frag.pcap"));
  const auto dns = OfType(recs, "dns");
  ASSERT_EQ(dns.size(), 1u);
  EXPECT_EQ(dns[0]["dns"]["rrtype"], "TXT");
  EXPECT_EQ(OfType(recs, "stats")[0]["stats"]["defrag"]["ipv4"]["reassembled"], 1);
}

// An inspector that records what it sees and alerts on every HTTP request.
struct Seen {
  int packets = 0;
  int with_flow = 0;
  std::map<uint64_t, std::string> stream[2];
  std::vector<uint8_t> http_progress;
  int flow_ends = 0;
  int states_created = 0;
  int states_destroyed = 0;
  std::string uri;
  std::vector<std::string> request_headers;
};

struct CountedState final : FlowInspectorState {
  explicit CountedState(Seen* s) : seen(s) { ++seen->states_created; }
  ~CountedState() override { ++seen->states_destroyed; }
  Seen* seen;
};

class RecordingInspector final : public Inspector {
 public:
  explicit RecordingInspector(Seen* s) : s_(s) {}
  void OnPacket(const PacketEvent& ev, AlertSink& alerts) override {
    ++s_->packets;
    if (ev.flow == nullptr) return;
    ++s_->with_flow;
    if (!ev.flow->inspector_state()) ev.flow->inspector_state() = std::make_unique<CountedState>(s_);
    if (ev.stream != nullptr) {
      const auto nb = ev.stream->new_bytes();
      s_->stream[static_cast<int>(ev.flow->direction)][ev.flow->flow_id].append(
          reinterpret_cast<const char*>(nb.data()), nb.size());
      EXPECT_EQ(ev.stream->new_offset, 0u);
    }
    for (const HttpTxView* tx : ev.app.http) {
      s_->http_progress.push_back(tx->progressed);
      if (tx->progressed & kHttpRequestHeaders) {
        s_->uri = std::string(tx->uri_raw);
        for (const HeaderView& h : tx->request_headers) s_->request_headers.push_back(std::string(h.name));
        EXPECT_EQ(tx->RequestHeader("host").value_or(""), "www.example.vn");
        AlertInfo a;
        a.signature_id = 1000001;
        a.rev = 2;
        a.signature = "test: HTTP request";
        a.category = "Test";
        a.severity = 2;
        a.http = tx;
        a.tx_id = tx->tx_id;
        alerts.Alert(a);
      }
    }
  }
  void OnFlowEnd(FlowView& flow, const AppLayerView&, AlertSink&) override {
    ++s_->flow_ends;
    EXPECT_TRUE(flow.alerted);
  }

 private:
  Seen* s_;
};

class RecordingFactory final : public InspectorFactory {
 public:
  explicit RecordingFactory(Seen* s) : s_(s) {}
  Result<std::unique_ptr<Inspector>> Create(int) override {
    return std::unique_ptr<Inspector>(std::make_unique<RecordingInspector>(s_));
  }

 private:
  Seen* s_;
};

TEST_F(SensorTest, InspectorSeesPacketsStreamsTransactionsAndWritesAlerts) {
  Seen seen;
  RecordingFactory factory(&seen);
  SensorOptions o;
  o.inspector = &factory;
  const auto recs = Replay(HttpPcap("insp.pcap"), o);
  EXPECT_EQ(seen.packets, 11);
  EXPECT_EQ(seen.with_flow, 11);
  ASSERT_EQ(seen.stream[0].size(), 1u);
  EXPECT_EQ(seen.stream[0].begin()->second, kGet);
  EXPECT_EQ(seen.stream[1].begin()->second, kOk);
  EXPECT_EQ(seen.uri, "/index.html?x=1");
  EXPECT_EQ(seen.request_headers, (std::vector<std::string>{"Host", "User-Agent"}));
  // Request line, headers and completion, then the response's.
  uint8_t all = 0;
  for (uint8_t p : seen.http_progress) all |= p;
  EXPECT_EQ(all, 0x3f);
  EXPECT_EQ(seen.flow_ends, 1);
  EXPECT_EQ(seen.states_created, 1);
  EXPECT_EQ(seen.states_destroyed, 1);
  const auto alerts = OfType(recs, "alert");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["alert"]["signature_id"], 1000001);
  EXPECT_EQ(alerts[0]["alert"]["severity"], 2);
  EXPECT_EQ(alerts[0]["http"]["url"], "/index.html?x=1");
  EXPECT_EQ(alerts[0]["app_proto"], "http");
  EXPECT_EQ(alerts[0]["src_ip"], "10.0.0.1");
  EXPECT_TRUE(alerts[0].contains("pcap_cnt"));
  EXPECT_EQ(OfType(recs, "flow")[0]["flow"]["alerted"], true);
  EXPECT_EQ(OfType(recs, "stats")[0]["stats"]["detect"]["alert"], 1);
}

class ContextFactory final : public InspectorFactory {
 public:
  InspectorNeeds Needs() const override { return {.stream_context = 8, .http_body_limit = 64}; }
  Result<std::unique_ptr<Inspector>> Create(int) override {
    struct I final : Inspector {
      void OnPacket(const PacketEvent& ev, AlertSink&) override {
        for (const HttpTxView* tx : ev.app.http) {
          if (tx->progressed & kHttpResponseBody) bodies->push_back(std::string(tx->response_body));
        }
        if (ev.stream == nullptr || ev.flow->direction != Direction::kToServer) return;
        const std::string all(reinterpret_cast<const char*>(ev.stream->data.data()), ev.stream->data.size());
        if (ev.stream->stream_offset > 0) {
          EXPECT_EQ(ev.stream->new_offset, std::min<uint64_t>(8, ev.stream->stream_offset));
        }
        windows->push_back(all);
      }
      void OnFlowEnd(FlowView&, const AppLayerView&, AlertSink&) override {}
      std::vector<std::string>* windows;
      std::vector<std::string>* bodies;
    };
    auto i = std::make_unique<I>();
    i->windows = &windows;
    i->bodies = &bodies;
    return std::unique_ptr<Inspector>(std::move(i));
  }
  std::vector<std::string> windows;
  std::vector<std::string> bodies;
};

TEST_F(SensorTest, StreamContextCarriesEarlierBytes) {
  ContextFactory factory;
  SensorOptions o;
  o.inspector = &factory;
  Replay(HttpPcap("ctx.pcap"), o);
  ASSERT_EQ(factory.windows.size(), 4u);  // The request in 20-byte segments.
  EXPECT_EQ(factory.windows[0], kGet.substr(0, 20));
  EXPECT_EQ(factory.windows[1], kGet.substr(12, 28));  // 8 bytes of context + 20 new.
  // The body limit asked for is applied without the caller setting it.
  EXPECT_EQ(factory.bodies, std::vector<std::string>{"hello world"});
}

TEST_F(SensorTest, InspectorFactoryErrorStopsCreation) {
  struct Failing final : InspectorFactory {
    Result<std::unique_ptr<Inspector>> Create(int) override { return InvalidArgumentError("no rules"); }
  } failing;
  SensorOptions o;
  o.inspector = &failing;
  eve::MemorySink sink;
  auto s = Sensor::Create(o, capture::LinkType::kEthernet, &sink);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "no rules");
  SensorOptions bad;
  bad.workers = 0;
  EXPECT_FALSE(Sensor::Create(bad, capture::LinkType::kEthernet, &sink));
}

}  // namespace
}  // namespace rampart::sensor
