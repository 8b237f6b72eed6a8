#include "tests/testing/controller_seed.h"

#include <map>
#include <mutex>

#include "common/eve/eve.h"
#include "common/eve/json_writer.h"
#include "common/util/clock.h"
#include "controller/store/event_writer.h"

namespace rampart::testing {
namespace {

namespace cs = controller_store;

std::string Eve(const SeedAlert& a, std::string_view type, int64_t t) {
  std::string line;
  eve::JsonWriter w(&line);
  eve::EveHeader h;
  h.timestamp_nanos = t;
  h.event_type = type;
  if (a.flow_id) h.flow_id = a.flow_id;
  h.in_iface = "eth0";
  h.src_ip = a.src_ip;
  h.src_port = a.src_port;
  h.dest_ip = a.dest_ip;
  h.dest_port = a.dest_port;
  h.has_ports = true;
  h.proto = "TCP";
  if (a.dest_port == 443) h.app_proto = "tls";
  eve::BeginEveRecord(w, h);
  if (type == "alert") {
    w.BeginObject("alert");
    w.String("action", "allowed").Uint("gid", 1).Uint("signature_id", a.sid).Uint("rev", 1);
    w.String("signature", a.signature).String("category", a.category).Int("severity", a.severity);
    w.EndObject();
  } else if (type == "flow") {
    w.BeginObject("flow");
    w.Uint("pkts_toserver", 12).Uint("pkts_toclient", 10).Uint("bytes_toserver", 2048).Uint("bytes_toclient", 9000);
    w.String("start", FormatEveTimestamp(t - 2'000'000'000)).String("end", FormatEveTimestamp(t));
    w.String("state", "closed").String("reason", "timeout").Bool("alerted", true);
    w.EndObject();
  } else if (type == "tls") {
    w.BeginObject("tls");
    w.String("sni", "beacon.example.net").String("version", "TLS 1.2");
    w.EndObject();
  }
  w.EndObject();
  return line;
}

void Fill(rampart::v1::Event* e, const SeedAlert& a, uint64_t seq, int64_t t, std::string_view type) {
  e->set_sequence(seq);
  e->set_observed_unix_nanos(t);
  e->set_spooled_unix_nanos(t);
  e->set_site(a.site);
  e->set_eve_json(Eve(a, type, t));
  auto* ep = e->mutable_endpoints();
  ep->set_src_ip(a.src_ip);
  ep->set_src_port(a.src_port);
  ep->set_dest_ip(a.dest_ip);
  ep->set_dest_port(a.dest_port);
  ep->set_proto("TCP");
  ep->set_flow_id(a.flow_id);
  if (type == "alert") {
    e->set_kind(rampart::v1::EVENT_KIND_ALERT);
    e->set_severity(static_cast<rampart::v1::Severity>(a.severity));
    auto* al = e->mutable_alert();
    al->set_source(rampart::v1::Alert::SOURCE_NETWORK_RULE);
    al->set_action("allowed");
    al->set_gid(1);
    al->set_signature_id(a.sid);
    al->set_rev(1);
    al->set_signature(a.signature);
    al->set_category(a.category);
    al->set_severity(static_cast<uint32_t>(a.severity));
    *al->mutable_endpoints() = *ep;
  } else if (type == "flow") {
    e->set_kind(rampart::v1::EVENT_KIND_FLOW);
    e->set_severity(rampart::v1::SEVERITY_INFO);
    *e->mutable_flow()->mutable_endpoints() = *ep;
  } else {
    e->set_kind(rampart::v1::EVENT_KIND_TLS);
    e->set_severity(rampart::v1::SEVERITY_INFO);
    auto* tls = e->mutable_tls();
    *tls->mutable_endpoints() = *ep;
    tls->set_sni("beacon.example.net");
  }
}

}  // namespace

Status SeedAgent(cs::Store& store, const std::string& site, const std::string& agent_id,
                 const std::string& agent_name) {
  registry::Site s;
  s.id = site;
  s.description = site;
  s.created_unix_nanos = WallNanos();
  if (auto st = store.registry().CreateSite(s); !st.ok() && st.code() != StatusCode::kAlreadyExists) return st;
  registry::Agent a;
  a.id = agent_id;
  a.name = agent_name;
  a.site = site;
  a.version = "rampart-agent 0.1.0";
  a.enrolled_unix_nanos = WallNanos();
  a.certificate_serial = "01";
  return store.registry().PutAgentIdentity(a);
}

Result<std::vector<cs::EventId>> SeedAlerts(cs::Store& store, const std::vector<SeedAlert>& alerts) {
  cs::EventWriter& writer = cs::WriterOf(store);
  std::map<std::string, cs::IngestBatch> batches;
  std::map<std::string, uint64_t> next;
  std::vector<cs::EventId> ids;
  for (const SeedAlert& a : alerts) {
    if (!next.contains(a.agent_id)) {
      RAMPART_ASSIGN_OR_RETURN(cs::AgentResume r, writer.OpenAgent(a.agent_id, UINT64_MAX));
      next[a.agent_id] = r.stored_through + 1;
      batches[a.agent_id].agent_id = a.agent_id;
    }
    const int64_t t = a.time_nanos ? a.time_nanos : WallNanos();
    auto& batch = batches[a.agent_id].batch;
    if (a.flow_id) {
      Fill(batch.add_events(), a, next[a.agent_id]++, t - 1'000'000, "tls");
      Fill(batch.add_events(), a, next[a.agent_id]++, t + 1'000'000, "flow");
    }
    ids.push_back({a.agent_id, next[a.agent_id]});
    Fill(batch.add_events(), a, next[a.agent_id]++, t, "alert");
  }
  std::mutex mu;
  Status failed;
  for (auto& [agent, b] : batches) {
    b.done = [&mu, &failed](Result<cs::IngestResult> r) {
      if (!r) {
        std::lock_guard lock(mu);
        failed = r.error();
      }
    };
    writer.Submit(std::move(b));
  }
  writer.Drain();
  RAMPART_RETURN_IF_ERROR(failed);
  return ids;
}

}  // namespace rampart::testing
