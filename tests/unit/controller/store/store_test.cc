#include "controller/store/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>
#include <memory>
#include <set>

#include "common/rocks/rocks.h"
#include "controller/store/codec.h"
#include "controller/store/event_writer.h"
#include "controller/store/store_impl.h"
#include "rampart/v1/event.pb.h"
#include "tests/testing/paths.h"
#include "tests/testing/process.h"
#include "tests/testing/temp_dir.h"

namespace rampart::controller_store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kBase = 1'795'000'000 * kSec;

rampart::v1::Event MakeEvent(uint64_t seq, bool alert, int64_t ts, uint64_t sid = 0,
                             const std::string& src = "10.0.0.1", const std::string& dest = "10.0.0.2",
                             int severity = 2) {
  rampart::v1::Event e;
  e.set_sequence(seq);
  e.set_observed_unix_nanos(ts);
  e.set_kind(alert ? rampart::v1::EVENT_KIND_ALERT : rampart::v1::EVENT_KIND_FLOW);
  e.set_severity(alert ? static_cast<rampart::v1::Severity>(severity) : rampart::v1::SEVERITY_INFO);
  e.set_eve_json(std::string("{\"event_type\":\"") + (alert ? "alert" : "flow") + "\",\"seq\":" +
                 std::to_string(seq) + "}");
  auto* ep = e.mutable_endpoints();
  ep->set_src_ip(src);
  ep->set_dest_ip(dest);
  ep->set_src_port(1234);
  ep->set_dest_port(80);
  ep->set_proto("TCP");
  if (alert) {
    e.mutable_alert()->set_signature_id(sid);
    e.mutable_alert()->set_signature("ET TEST signature " + std::to_string(sid));
    e.mutable_alert()->set_category("Test");
    e.mutable_alert()->set_severity(static_cast<uint32_t>(severity));
  }
  return e;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    Options o;
    o.path = dir_.File("store");
    o.clock = &clock_;
    auto s = Store::Open(o);
    ASSERT_TRUE(s.has_value()) << s.error();
    store_ = std::move(*s);
  }
  void Enrol(const std::string& agent, const std::string& site) {
    if (!store_->registry().GetSite(site).has_value()) {
      ASSERT_TRUE(store_->registry().CreateSite({.id = site}).ok());
    }
    registry::Agent a;
    a.id = agent;
    a.name = agent + "-host";
    a.site = site;
    ASSERT_TRUE(store_->registry().PutAgentIdentity(a).ok());
  }
  Result<IngestResult> Ingest(const std::string& agent, std::vector<rampart::v1::Event> events,
                              std::vector<SequenceRange> gone = {}) {
    IngestBatch b;
    b.agent_id = agent;
    for (auto& e : events) *b.batch.add_events() = std::move(e);
    b.gone = std::move(gone);
    // Owned by the callback: set_value may still run when get() returns.
    auto p = std::make_shared<std::promise<Result<IngestResult>>>();
    auto f = p->get_future();
    b.done = [p](Result<IngestResult> r) { p->set_value(std::move(r)); };
    WriterOf(*store_).Submit(std::move(b));
    return f.get();
  }

  testing::ScopedTempDir dir_{"cstore"};
  ManualClock clock_{kBase + 1000 * kSec};
  std::unique_ptr<Store> store_;
};

TEST(IngestStateTest, AddMergesAndAdvances) {
  detail::IngestState s;
  EXPECT_EQ(s.Add(3, 3), 1u);
  EXPECT_EQ(s.Add(7, 9), 3u);
  EXPECT_EQ(s.through, 0u);
  EXPECT_TRUE(s.Contains(8));
  EXPECT_FALSE(s.Contains(5));
  EXPECT_EQ(s.Add(1, 2), 2u);
  EXPECT_EQ(s.through, 3u);
  EXPECT_EQ(s.Add(2, 8), 3u);  // 4, 5, 6 are new.
  EXPECT_EQ(s.through, 9u);
  EXPECT_TRUE(s.above.empty());
  EXPECT_EQ(s.Add(5, 5), 0u);
  EXPECT_EQ(s.Add(20, 30), 11u);
  EXPECT_EQ(s.Add(15, 25), 5u);
  EXPECT_EQ(s.above.size(), 1u);
  EXPECT_EQ(s.above.begin()->first, 15u);
  EXPECT_EQ(s.above.begin()->second, 30u);
}

TEST(CodecTest, SummaryAndPositionRoundTrip) {
  detail::Summary s;
  s.kind = 1;
  s.severity = 2;
  s.site = 7;
  s.signature_id = 2100498;
  s.proto = 6;
  s.src_port = 1;
  s.dest_port = 65535;
  s.src = detail::ParseAddress("192.0.2.1");
  s.dest = detail::ParseAddress("2001:db8::5");
  s.stored_nanos = 42;
  auto back = detail::DecodeSummary(detail::EncodeSummary(s));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->signature_id, 2100498u);
  EXPECT_EQ(detail::FormatAddress(*back->src), "192.0.2.1");
  EXPECT_EQ(detail::FormatAddress(*back->dest), "2001:db8::5");
  EXPECT_EQ(back->stored_nanos, 42);
  EXPECT_FALSE(detail::DecodeSummary("").has_value());
  EXPECT_FALSE(detail::DecodeSummary(detail::EncodeSummary(s) + "x").has_value());
  // An IPv4 address takes 4 bytes (length 4); stores written before that
  // hold it IPv4-mapped in 16 bytes, and both read back the same.
  detail::Summary v4 = s;
  v4.dest = detail::ParseAddress("198.51.100.7");
  const std::string compact = detail::EncodeSummary(v4);
  EXPECT_EQ(compact.size(), detail::EncodeSummary(s).size() - 12);
  std::string legacy = compact;
  const size_t dest_at = compact.size() - 8 - 5;  // Before stored_nanos: length byte and 4 bytes.
  ASSERT_EQ(legacy[dest_at], 4);
  legacy.replace(dest_at, 5, std::string("\x10\0\0\0\0\0\0\0\0\0\0\xff\xff", 13) + compact.substr(dest_at + 1, 4));
  for (const std::string& bytes : {compact, legacy}) {
    auto read = detail::DecodeSummary(bytes);
    ASSERT_TRUE(read.has_value());
    EXPECT_EQ(detail::FormatAddress(*read->src), "192.0.2.1");
    EXPECT_EQ(detail::FormatAddress(*read->dest), "198.51.100.7");
    EXPECT_EQ(read->stored_nanos, 42);
  }
  EXPECT_FALSE(detail::DecodeSummary(compact.substr(0, compact.size() - 10)).has_value());
  // Negative and positive times keep their order in keys.
  EXPECT_LT(detail::EncodePosition(-5, 9, 9), detail::EncodePosition(3, 0, 0));
  auto p = detail::DecodePosition(detail::EncodePosition(-5, 3, 77));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->ts, -5);
  EXPECT_EQ(p->agent, 3u);
  EXPECT_EQ(p->seq, 77u);
  EXPECT_FALSE(detail::ParseAddress("10.0.0.300").has_value());
  EXPECT_EQ(detail::ProtoNumber("IPv6-ICMP"), 58);
  EXPECT_EQ(detail::ProtoNumber("47"), 47);
  EXPECT_EQ(detail::ProtoNumber("bogus"), 0);
  EXPECT_FALSE(detail::DecodeCursor("!!", false).has_value());
}

TEST(CodecTest, EveryEventHasOneSiteRowAndOnlySelectiveKindsAKindRow) {
  auto tags = [](const detail::Summary& s) {
    std::string out;
    for (const std::string& k : detail::IndexKeys(s, 5, 1, 2)) out.push_back(k[0]);
    return out;
  };
  detail::Summary s;
  s.site = 3;
  for (EventKind bulk : {EventKind::kFlow, EventKind::kDns, EventKind::kHttp, EventKind::kTls, EventKind::kStats,
                         EventKind::kLinkProbe}) {
    s.kind = static_cast<uint8_t>(bulk);
    EXPECT_FALSE(detail::KindHasOwnIndex(s.kind)) << EventKindName(bulk);
    EXPECT_EQ(tags(s), "S") << EventKindName(bulk);
  }
  for (EventKind selective : {EventKind::kUnspecified, EventKind::kAnomaly, EventKind::kFile, EventKind::kProcess,
                              EventKind::kAuth, EventKind::kSocket, EventKind::kLinkState}) {
    s.kind = static_cast<uint8_t>(selective);
    EXPECT_TRUE(detail::KindHasOwnIndex(s.kind)) << EventKindName(selective);
    EXPECT_EQ(tags(s), "SK") << EventKindName(selective);
  }
  s.kind = static_cast<uint8_t>(EventKind::kAlert);
  s.src = detail::ParseAddress("192.0.2.1");
  s.dest = detail::ParseAddress("192.0.2.2");
  EXPECT_EQ(tags(s), "SKVGALII");
  EXPECT_EQ(detail::IndexKeys(s, 5, 1, 2).size(), detail::kMaxIndexKeys);
}

TEST(NamesTest, EventIdsKindsAndSeverities) {
  auto id = EventId::Parse("ag-1:42");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->agent_id, "ag-1");
  EXPECT_EQ(id->sequence, 42u);
  EXPECT_EQ(id->ToString(), "ag-1:42");
  EXPECT_FALSE(EventId::Parse("ag-1").has_value());
  EXPECT_FALSE(EventId::Parse("ag-1:0").has_value());
  EXPECT_FALSE(EventId::Parse("ag-1:x").has_value());
  EXPECT_EQ(*ParseEventKind("dns"), EventKind::kDns);
  EXPECT_FALSE(ParseEventKind("nope").has_value());
  EXPECT_EQ(*ParseSeverity("high"), Severity::kHigh);
  EXPECT_EQ(*ParseSeverity("1"), Severity::kCritical);
  EXPECT_FALSE(ParseSeverity("urgent").has_value());
}

TEST_F(StoreTest, IngestIsIdempotentAcrossRetriesAndReopen) {
  Enrol("a1", "site-a");
  auto r = Ingest("a1", {MakeEvent(1, false, kBase), MakeEvent(2, false, kBase + 1), MakeEvent(3, true, kBase + 2, 9)});
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_EQ(r->stored, 3u);
  EXPECT_EQ(r->stored_through, 3u);
  ASSERT_EQ(r->accounted.size(), 1u);
  EXPECT_EQ(r->accounted[0].first, 1u);
  EXPECT_EQ(r->accounted[0].last, 3u);
  // The same batch again (an ack lost in a crash): duplicates only.
  r = Ingest("a1", {MakeEvent(2, false, kBase + 1), MakeEvent(3, true, kBase + 2, 9), MakeEvent(4, false, kBase + 3)});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->stored, 1u);
  EXPECT_EQ(r->duplicates, 2u);
  EXPECT_EQ(r->stored_through, 4u);
  Reopen();
  auto resume = WriterOf(*store_).OpenAgent("a1", 4);
  ASSERT_TRUE(resume.has_value());
  EXPECT_EQ(resume->stored_through, 4u);
  EXPECT_FALSE(resume->sequence_reset);
  r = Ingest("a1", {MakeEvent(1, false, kBase), MakeEvent(4, false, kBase + 3)});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->stored, 0u);
  EXPECT_EQ(r->duplicates, 2u);
  auto all = store_->AgentEvents("a1", 1, 100);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ((*all)[i].summary.id.sequence, i + 1);
  const AgentIngest agent = store_->IngestOf("a1");
  EXPECT_EQ(agent.events_stored, 4u);
  EXPECT_EQ(agent.stored_through, 4u);
  // Index entries are not duplicated either.
  Query q;
  q.limit = 1000;
  EXPECT_EQ(store_->QueryEvents(q)->rows.size(), 4u);
  EXPECT_EQ(store_->QueryAlerts(q)->rows.size(), 1u);
}

TEST_F(StoreTest, WriterShardsKeepEveryAgentExactlyOnceAndTheCatalogueSummed) {
  // Eight agents spread over the writer threads, submitting at once; each
  // batch is sent twice, as after a lost ack.
  constexpr int kAgents = 8, kBatches = 20, kPerBatch = 50;
  for (int a = 0; a < kAgents; ++a) Enrol("s" + std::to_string(a), "site-" + std::to_string(a % 3));
  std::vector<std::thread> senders;
  std::atomic<uint64_t> stored{0}, duplicates{0};
  for (int a = 0; a < kAgents; ++a) {
    senders.emplace_back([&, a] {
      const std::string agent = "s" + std::to_string(a);
      for (int b = 0; b < kBatches; ++b) {
        std::vector<rampart::v1::Event> events;
        for (int i = 0; i < kPerBatch; ++i) {
          const uint64_t seq = static_cast<uint64_t>(b * kPerBatch + i + 1);
          events.push_back(MakeEvent(seq, seq % 10 == 0, kBase + static_cast<int64_t>(seq), 500 + seq % 3));
        }
        for (int twice = 0; twice < 2; ++twice) {
          auto r = Ingest(agent, events);
          ASSERT_TRUE(r.has_value()) << r.error();
          stored += r->stored;
          duplicates += r->duplicates;
        }
      }
    });
  }
  for (auto& t : senders) t.join();
  const uint64_t total = uint64_t{kAgents} * kBatches * kPerBatch;
  EXPECT_EQ(stored.load(), total);
  EXPECT_EQ(duplicates.load(), total);
  auto alerts_of = [&] {
    uint64_t n = 0;
    auto sigs = store_->Signatures("", 100);
    if (sigs.has_value()) {
      for (const auto& s : *sigs) n += s.alerts;
    }
    return n;
  };
  EXPECT_EQ(alerts_of(), total / 10);
  Reopen();
  EXPECT_EQ(alerts_of(), total / 10) << "each writer's share of the catalogue is persisted and summed";
  auto sigs = store_->Signatures("", 100);
  ASSERT_TRUE(sigs.has_value());
  ASSERT_EQ(sigs->size(), 3u);
  EXPECT_EQ(sigs->front().signature.rfind("ET TEST signature 5", 0), 0u);
  for (int a = 0; a < kAgents; ++a) {
    const AgentIngest agent = store_->IngestOf("s" + std::to_string(a));
    EXPECT_EQ(agent.events_stored, uint64_t{kBatches} * kPerBatch);
    EXPECT_EQ(agent.stored_through, uint64_t{kBatches} * kPerBatch);
  }
}

TEST_F(StoreTest, AlertsAheadOfTheBacklogLeaveHolesThatCloseAfterReopen) {
  Enrol("a1", "site-a");
  // Alerts 5 and 9 arrive first, then the controller restarts.
  auto r = Ingest("a1", {MakeEvent(5, true, kBase + 5, 1), MakeEvent(9, true, kBase + 9, 1)});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->stored_through, 0u);
  Reopen();
  auto resume = WriterOf(*store_).OpenAgent("a1", 10);
  ASSERT_TRUE(resume.has_value());
  EXPECT_EQ(resume->stored_through, 0u);
  // The backlog, in order, including the alerts again.
  std::vector<rampart::v1::Event> backlog;
  for (uint64_t s = 1; s <= 10; ++s) backlog.push_back(MakeEvent(s, s == 5 || s == 9, kBase + static_cast<int64_t>(s), 1));
  r = Ingest("a1", backlog);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->stored, 8u);
  EXPECT_EQ(r->duplicates, 2u);
  EXPECT_EQ(r->stored_through, 10u);
  EXPECT_EQ(store_->AgentEvents("a1", 1, 100)->size(), 10u);
}

TEST_F(StoreTest, GoneRangesCloseGapsAndCountLoss) {
  Enrol("a1", "site-a");
  auto r = Ingest("a1", {MakeEvent(1, false, kBase), MakeEvent(5, false, kBase)}, {{2, 4}});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->stored_through, 5u);
  ASSERT_EQ(r->accounted.size(), 1u);
  EXPECT_EQ(r->accounted[0].last, 5u);
  // Gone above the watermark survives a restart.
  r = Ingest("a1", {MakeEvent(9, false, kBase)}, {{7, 8}});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->stored_through, 5u);
  Reopen();
  r = Ingest("a1", {MakeEvent(6, false, kBase)});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->stored_through, 9u);
  EXPECT_EQ(store_->IngestOf("a1").events_lost, 5u);
}

TEST_F(StoreTest, RejectsBadEventsAndUnknownAgents) {
  Enrol("a1", "site-a");
  auto bad = MakeEvent(0, false, kBase);
  auto empty = MakeEvent(2, false, kBase);
  empty.clear_eve_json();
  auto r = Ingest("a1", {bad, empty, MakeEvent(1, false, kBase)});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->rejected, 2u);
  EXPECT_EQ(r->stored, 1u);
  auto unknown = Ingest("nobody", {MakeEvent(1, false, kBase)});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), StatusCode::kNotFound);
  EXPECT_FALSE(WriterOf(*store_).OpenAgent("nobody", 0).has_value());
}

TEST_F(StoreTest, SpoolResetIsDetected) {
  Enrol("a1", "site-a");
  ASSERT_TRUE(Ingest("a1", {MakeEvent(1, false, kBase), MakeEvent(2, false, kBase)}).has_value());
  auto resume = WriterOf(*store_).OpenAgent("a1", 0);
  ASSERT_TRUE(resume.has_value());
  EXPECT_TRUE(resume->sequence_reset);
  EXPECT_EQ(resume->stored_through, 2u);
}

class QueryTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    Enrol("a1", "site-a");
    Enrol("a2", "site-b");
    // 300 events per agent, one a second; every 3rd is an alert with sid
    // 100 + (seq % 4) and severity 1 + (seq % 3), src 10.0.0.<seq % 5>.
    for (const std::string agent : {"a1", "a2"}) {
      std::vector<rampart::v1::Event> events;
      for (uint64_t s = 1; s <= 300; ++s) {
        const bool alert = s % 3 == 0;
        events.push_back(MakeEvent(s, alert, kBase + static_cast<int64_t>(s) * kSec, 100 + s % 4,
                                   "10.0.0." + std::to_string(s % 5), "192.0.2.1", 1 + static_cast<int>(s % 3)));
      }
      ASSERT_TRUE(Ingest(agent, events).has_value());
    }
  }
  // Every row of `q`, page after page by cursor (at most 100 pages).
  struct AllPages {
    std::vector<EventSummary> rows;
    int pages = 0;
  };
  AllPages ReadAllPages(Query q, bool alerts) {
    AllPages all;
    std::string cursor;
    do {
      q.cursor = cursor;
      auto page = alerts ? store_->QueryAlerts(q) : store_->QueryEvents(q);
      EXPECT_TRUE(page.has_value()) << page.error();
      if (!page.has_value()) break;
      all.rows.insert(all.rows.end(), page->rows.begin(), page->rows.end());
      cursor = page->next_cursor;
      ++all.pages;
    } while (!cursor.empty() && all.pages < 100);
    return all;
  }
};

TEST_F(QueryTest, NewestFirstWithKeysetPagination) {
  Query q;
  q.limit = 70;
  const AllPages all = ReadAllPages(q, true);
  const std::vector<EventSummary>& seen = all.rows;
  ASSERT_EQ(seen.size(), 200u);
  EXPECT_EQ(all.pages, 3);
  std::set<std::string> ids;
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].kind, EventKind::kAlert);
    ids.insert(seen[i].id.ToString());
    if (i > 0) {
      EXPECT_GE(seen[i - 1].observed_unix_nanos, seen[i].observed_unix_nanos);
    }
  }
  EXPECT_EQ(ids.size(), 200u) << "no row twice across pages";
  EXPECT_EQ(seen[0].observed_unix_nanos, kBase + 300 * kSec);
  EXPECT_EQ(seen[0].signature, "ET TEST signature 100");
  EXPECT_EQ(seen[0].site == "site-a" || seen[0].site == "site-b", true);
  EXPECT_EQ(seen[0].agent_name.substr(2), "-host");
  EXPECT_EQ(seen[0].proto, "TCP");
  EXPECT_EQ(seen[0].dest_ip, "192.0.2.1");
}

TEST_F(QueryTest, OldestFirstAndTimeRange) {
  Query q;
  q.oldest_first = true;
  q.from_unix_nanos = kBase + 100 * kSec;
  q.to_unix_nanos = kBase + 110 * kSec;
  q.agents = {"a1"};
  q.limit = 4;
  auto page = store_->QueryEvents(q);
  ASSERT_TRUE(page.has_value());
  std::vector<uint64_t> seqs;
  for (auto& r : page->rows) seqs.push_back(r.id.sequence);
  EXPECT_THAT(seqs, ElementsAre(100, 101, 102, 103));
  q.cursor = page->next_cursor;
  page = store_->QueryEvents(q);
  seqs.clear();
  for (auto& r : page->rows) seqs.push_back(r.id.sequence);
  EXPECT_THAT(seqs, ElementsAre(104, 105, 106, 107));
  // A cursor made for the other direction is refused.
  q.oldest_first = false;
  EXPECT_EQ(store_->QueryEvents(q).error().code(), StatusCode::kInvalidArgument);
}

TEST_F(QueryTest, Filters) {
  auto count = [&](Query q, bool alerts) {
    q.limit = 1000;
    auto p = alerts ? store_->QueryAlerts(q) : store_->QueryEvents(q);
    EXPECT_TRUE(p.has_value()) << p.error();
    return p.has_value() ? p->rows.size() : 0;
  };
  Query q;
  q.sites = {"site-b"};
  EXPECT_EQ(count(q, false), 300u);
  EXPECT_EQ(count(q, true), 100u);
  q = {};
  q.agents = {"a1"};
  EXPECT_EQ(count(q, true), 100u);
  q = {};
  q.signature_id = 101;  // seq % 4 == 1 among multiples of 3: 25 per agent.
  EXPECT_EQ(count(q, true), 50u);
  q = {};
  q.signature_text = "signature 10";  // All four sids match.
  EXPECT_EQ(count(q, true), 200u);
  q.signature_text = "SIGNATURE 103";
  EXPECT_EQ(count(q, true), 50u);
  EXPECT_EQ(count(q, false), 50u) << "a signature filter implies alerts";
  q = {};
  q.severities = {Severity::kCritical};  // 1 + s % 3 == 1: s % 3 == 0: every alert.
  EXPECT_EQ(count(q, true), 200u);
  q.severities = {Severity::kHigh};
  EXPECT_EQ(count(q, true), 0u);
  q = {};
  q.address = "10.0.0.0";  // seq % 5 == 0 among alerts: 20 per agent.
  EXPECT_EQ(count(q, true), 40u);
  q.address = "192.0.2.1";
  EXPECT_EQ(count(q, true), 200u);
  q.address = "not-an-ip";
  EXPECT_FALSE(store_->QueryAlerts(q).has_value());
  q = {};
  q.kinds = {EventKind::kFlow};
  EXPECT_EQ(count(q, false), 400u);
  q.kinds = {EventKind::kDns};
  EXPECT_EQ(count(q, false), 0u);
  q = {};
  q.sites = {"no-such-site"};
  EXPECT_EQ(count(q, false), 0u);
  q = {};
  q.limit = 0;
  EXPECT_FALSE(store_->QueryEvents(q).has_value());
  q.limit = 10;
  q.from_unix_nanos = 5;
  q.to_unix_nanos = 5;
  EXPECT_FALSE(store_->QueryEvents(q).has_value());
}

TEST_F(QueryTest, ScansAreBoundedAndResumable) {
  Options o;
  o.path = dir_.File("store");
  o.clock = &clock_;
  o.query.max_examined = 50;
  store_.reset();
  auto s = Store::Open(o);
  ASSERT_TRUE(s.has_value());
  store_ = std::move(*s);
  // A third of the events match, found by merging both sites' ranges and
  // filtering: every call stops at 50 rows examined and the next resumes.
  Query q;
  q.severities = {Severity::kCritical};
  q.limit = 1000;
  size_t total = 0;
  int calls = 0;
  std::string cursor;
  do {
    q.cursor = cursor;
    auto page = store_->QueryEvents(q);
    ASSERT_TRUE(page.has_value());
    EXPECT_LE(page->examined, 50u);
    total += page->rows.size();
    cursor = page->next_cursor;
    ++calls;
  } while (!cursor.empty() && calls < 1000);
  EXPECT_EQ(total, 200u);
  EXPECT_GE(calls, 12);
}

TEST_F(QueryTest, AllEventsMergeEverySiteInTimeOrderAcrossPages) {
  Enrol("a3", "site-c");
  rampart::v1::Event login = MakeEvent(1, false, kBase + 150 * kSec + 1);
  login.set_kind(rampart::v1::EVENT_KIND_AUTH);
  login.clear_endpoints();
  ASSERT_TRUE(Ingest("a3", {login}).has_value());
  for (bool oldest_first : {false, true}) {
    Query q;
    q.limit = 97;
    q.oldest_first = oldest_first;
    const AllPages all = ReadAllPages(q, false);
    const std::vector<EventSummary>& seen = all.rows;
    ASSERT_EQ(seen.size(), 601u);
    EXPECT_EQ(all.pages, 7);
    std::set<std::string> ids, sites;
    for (size_t i = 0; i < seen.size(); ++i) {
      ids.insert(seen[i].id.ToString());
      sites.insert(seen[i].site);
      if (i == 0) continue;
      if (oldest_first) {
        EXPECT_LE(seen[i - 1].observed_unix_nanos, seen[i].observed_unix_nanos);
      } else {
        EXPECT_GE(seen[i - 1].observed_unix_nanos, seen[i].observed_unix_nanos);
      }
    }
    EXPECT_EQ(ids.size(), 601u) << "no row twice across pages";
    EXPECT_EQ(sites, (std::set<std::string>{"site-a", "site-b", "site-c"}));
  }
  // A selective kind through its own index; a bulk kind (flows) and an
  // agent through the site index, filtered.
  Query q;
  q.limit = 1000;
  q.kinds = {EventKind::kAuth};
  auto auth = store_->QueryEvents(q);
  ASSERT_TRUE(auth.has_value());
  ASSERT_EQ(auth->rows.size(), 1u);
  EXPECT_EQ(auth->rows[0].id.ToString(), "a3:1");
  EXPECT_EQ(auth->examined, 1u);
  q.kinds = {EventKind::kFlow};
  q.agents = {"a2"};
  auto flows = store_->QueryEvents(q);
  ASSERT_TRUE(flows.has_value());
  EXPECT_EQ(flows->rows.size(), 200u);
  EXPECT_EQ(flows->examined, 300u) << "only a2's site was read";
  q.kinds = {EventKind::kAuth, EventKind::kFlow};
  q.agents = {};
  EXPECT_EQ(store_->QueryEvents(q)->rows.size(), 401u);
}

TEST_F(QueryTest, DetailViewAndSignatures) {
  auto r = store_->GetEvent({"a1", 3});
  ASSERT_TRUE(r.has_value()) << r.error();
  EXPECT_EQ(r->eve_json, "{\"event_type\":\"alert\",\"seq\":3}");
  EXPECT_EQ(r->summary.kind, EventKind::kAlert);
  EXPECT_EQ(r->summary.site, "site-a");
  EXPECT_EQ(r->summary.signature_id, 103u);
  EXPECT_EQ(r->summary.signature, "ET TEST signature 103");
  EXPECT_GT(r->summary.stored_unix_nanos, 0);
  EXPECT_EQ(store_->GetEvent({"a1", 999}).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->GetEvent({"zz", 1}).error().code(), StatusCode::kNotFound);
  auto sigs = store_->Signatures("signature", 10);
  ASSERT_TRUE(sigs.has_value());
  ASSERT_EQ(sigs->size(), 4u);
  uint64_t total = 0;
  for (auto& s : *sigs) total += s.alerts;
  EXPECT_EQ(total, 200u);
  Reopen();
  EXPECT_EQ(store_->Signatures("", 10)->size(), 4u) << "the catalogue is persisted";
  EXPECT_EQ(store_->GetEvent({"a2", 300})->summary.signature, "ET TEST signature 100");
}

TEST_F(StoreTest, SubscribersSeeNewAlertsAfterTheyAreStored) {
  Enrol("a1", "site-a");
  std::vector<EventRecord> got;
  std::mutex mu;
  auto sub = store_->Subscribe({.kinds = {EventKind::kAlert}}, [&](const EventRecord& r) {
    std::lock_guard lock(mu);
    // Durable before the callback: visible to a query from here.
    EXPECT_TRUE(store_->GetEvent(r.summary.id).has_value());
    got.push_back(r);
  });
  ASSERT_TRUE(Ingest("a1", {MakeEvent(1, false, kBase), MakeEvent(2, true, kBase, 77)}).has_value());
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].summary.id.sequence, 2u);
    EXPECT_EQ(got[0].summary.signature, "ET TEST signature 77");
    EXPECT_EQ(got[0].summary.site, "site-a");
  }
  sub.Cancel();
  ASSERT_TRUE(Ingest("a1", {MakeEvent(3, true, kBase, 77)}).has_value());
  std::lock_guard lock(mu);
  EXPECT_EQ(got.size(), 1u);
}

TEST_F(StoreTest, LinkChangesAreEventsAndReachSubscribers) {
  Enrol("a1", "site-a");
  std::vector<LinkChange> changes;
  auto sub = store_->SubscribeLinkChanges([&](const LinkChange& c) { changes.push_back(c); });
  std::vector<EventRecord> events;
  auto esub = store_->Subscribe({.kinds = {EventKind::kLinkState}}, [&](const EventRecord& r) { events.push_back(r); });
  LinkChange c;
  c.site = "site-a";
  c.from_link = registry::LinkState::kUp;
  c.to_link = registry::LinkState::kDown;
  c.at_unix_nanos = kBase;
  c.reason = "no agent answered for 6s";
  ASSERT_TRUE(store_->RecordLinkChange(c).ok());
  EXPECT_EQ(c.event.agent_id, "controller");
  EXPECT_EQ(c.event.sequence, 1u);
  LinkChange d;
  d.site = "site-a";
  d.agent_id = "a1";
  d.from_agent = registry::AgentState::kUp;
  d.to_agent = registry::AgentState::kDown;
  d.at_unix_nanos = kBase + 1;
  ASSERT_TRUE(store_->RecordLinkChange(d).ok());
  EXPECT_EQ(d.event.sequence, 2u);
  ASSERT_EQ(changes.size(), 2u);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].summary.severity, Severity::kHigh);
  EXPECT_EQ(events[0].summary.site, "site-a");
  auto rec = store_->GetEvent(c.event);
  ASSERT_TRUE(rec.has_value());
  EXPECT_THAT(rec->eve_json, HasSubstr("\"event_type\":\"link\""));
  EXPECT_THAT(rec->eve_json, HasSubstr("\"to\":\"down\""));
  // Both records validate against Suricata's schema with the project's extension.
  const std::string eve = dir_.File("link.json");
  testing::WriteTextFile(eve, rec->eve_json + "\n" + store_->GetEvent(d.event)->eve_json + "\n");
  auto check = testing::RunProcess({testing::SystemPython(), testing::SourceDir() + "/tests/tools/eve_validate.py",
                                    "--schema", testing::SharedDataDir() + "/eve-schema/schema.json", "--extension",
                                    testing::SourceDir() + "/common/eve/rampart-eve-extension.json", eve});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  Query q;
  q.sites = {"site-a"};
  q.kinds = {EventKind::kLinkState};
  EXPECT_EQ(store_->QueryEvents(q)->rows.size(), 2u);
  sub.Cancel();  // Subscriptions end before their store does.
  esub.Cancel();
  Reopen();
  LinkChange e = c;
  ASSERT_TRUE(store_->RecordLinkChange(e).ok());
  EXPECT_EQ(e.event.sequence, 3u) << "sequence continues after restart";
}

TEST_F(StoreTest, SubscriptionsMayOutliveTheStore) {
  // A web session or notifier torn down after the store closed: cancelling
  // then must neither touch the closed store nor reach the new one's lists.
  int calls = 0;
  auto sub = store_->Subscribe({}, [&](const EventRecord&) { ++calls; });
  auto link_sub = store_->SubscribeLinkChanges([&](const LinkChange&) { ++calls; });
  Reopen();
  sub.Cancel();
  link_sub.Cancel();
  Enrol("a1", "site-a");
  ASSERT_TRUE(Ingest("a1", {MakeEvent(1, true, kBase, 9)}).has_value());
  EXPECT_EQ(calls, 0);
}

TEST_F(StoreTest, RetentionDeletesOldEventsBeforeOldAlerts) {
  Options o;
  o.path = dir_.File("store");
  o.clock = &clock_;
  o.retention = std::chrono::hours(1);
  o.alert_retention = std::chrono::hours(10);
  store_.reset();
  store_ = std::move(*Store::Open(o));
  Enrol("a1", "s");
  const int64_t now = clock_.NowNanos();
  ASSERT_TRUE(Ingest("a1", {MakeEvent(1, false, now - 5 * 3600 * kSec), MakeEvent(2, true, now - 5 * 3600 * kSec, 1),
                            MakeEvent(3, true, now - 20 * 3600 * kSec, 1), MakeEvent(4, false, now)})
                  .has_value());
  auto deleted = store_->RunRetention();
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(*deleted, 2u);
  Query q;
  q.limit = 100;
  std::vector<uint64_t> left;
  auto events = store_->QueryEvents(q);
  ASSERT_TRUE(events.has_value());
  for (auto& r : events->rows) left.push_back(r.id.sequence);
  EXPECT_THAT(left, ElementsAre(4, 2));
  EXPECT_FALSE(store_->GetEvent({"a1", 1}).has_value());
  EXPECT_EQ(store_->QueryAlerts(q)->rows.size(), 1u);
}

TEST_F(StoreTest, RetentionDeletesEveryKindAndTheOldLayoutsRows) {
  Options o;
  o.path = dir_.File("store");
  o.clock = &clock_;
  o.retention = std::chrono::hours(1);
  o.alert_retention = std::chrono::hours(2);
  store_.reset();
  store_ = std::move(*Store::Open(o));
  Enrol("a1", "s");
  Enrol("a2", "t");
  const int64_t old = clock_.NowNanos() - 5 * 3600 * kSec;
  std::vector<rampart::v1::Event> events;
  for (uint64_t seq = 1; seq <= 30; ++seq) events.push_back(MakeEvent(seq, seq % 10 == 0, old + static_cast<int64_t>(seq)));
  events[4].set_kind(rampart::v1::EVENT_KIND_DNS);
  events[5].set_kind(rampart::v1::EVENT_KIND_FILE);
  events.push_back(MakeEvent(31, false, clock_.NowNanos()));
  ASSERT_TRUE(Ingest("a1", events).has_value());
  ASSERT_TRUE(Ingest("a2", {MakeEvent(1, false, old)}).has_value());
  store_.reset();
  // Rows of the layout stores were written with before: every event in the
  // time index (T) and every kind in K.
  {
    rocks::Options ro;
    ro.path = dir_.File("store");
    auto db = rocks::Database::Open(ro);
    ASSERT_TRUE(db.has_value()) << db.error();
    rocksdb::ColumnFamilyHandle* idx = (*db)->Family("idx");
    ASSERT_NE(idx, nullptr);
    std::vector<std::pair<std::string, std::string>> site_rows;
    ASSERT_TRUE((*db)->Scan(idx, "S", "T", [&](std::string_view k, std::string_view v) {
      site_rows.emplace_back(k, v);
      return true;
    }).has_value());
    ASSERT_EQ(site_rows.size(), 32u);
    for (const auto& [key, value] : site_rows) {
      const std::string position = key.substr(key.size() - detail::kPositionSize);
      const auto summary = detail::DecodeSummary(value);
      ASSERT_TRUE(summary.has_value());
      ASSERT_TRUE((*db)->Put(idx, "T" + position, value).ok());
      ASSERT_TRUE((*db)->Put(idx, std::string{'K', static_cast<char>(summary->kind)} + position, value).ok());
    }
  }
  store_ = std::move(*Store::Open(o));
  auto deleted = store_->RunRetention();
  ASSERT_TRUE(deleted.has_value()) << deleted.error();
  EXPECT_EQ(*deleted, 31u);
  Query q;
  q.limit = 100;
  auto left = store_->QueryEvents(q);
  ASSERT_TRUE(left.has_value());
  ASSERT_EQ(left->rows.size(), 1u);
  EXPECT_EQ(left->rows[0].id.ToString(), "a1:31");
  store_.reset();
  rocks::Options ro;
  ro.path = dir_.File("store");
  auto db = rocks::Database::Open(ro);
  ASSERT_TRUE(db.has_value());
  std::vector<std::string> rows;
  ASSERT_TRUE((*db)->Scan((*db)->Family("idx"), "", "", [&](std::string_view k, std::string_view) {
    rows.emplace_back(1, k[0]);
    return true;
  }).has_value());
  // The recent flow's site row and its old-layout kind row (which goes when
  // it is old); no time index row at all.
  EXPECT_THAT(rows, ElementsAre("K", "S"));
  uint64_t events_left = 0;
  ASSERT_TRUE((*db)->Scan((*db)->Family("events"), "", "", [&](std::string_view, std::string_view) {
    ++events_left;
    return true;
  }).has_value());
  EXPECT_EQ(events_left, 1u);
}

}  // namespace
}  // namespace rampart::controller_store
