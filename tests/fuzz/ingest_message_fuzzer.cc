// Any bytes as what the controller's agent port accepts: an AgentMessage on
// a stream (Hello, EventBatch, Heartbeat, Goodbye), an EnrollRequest and a
// RenewRequest. Batches go through the real ingest path (controller/store's
// group commit into RocksDB, exactly-once accounting, indexes) and are read
// back through the query API; CSRs go through the CA's signing checks.
// Nothing may crash, and every stored event must read back.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>

#include "common/log/log.h"
#include "common/tls/pki.h"
#include "controller/store/event_writer.h"
#include "controller/store/store.h"
#include "rampart/v1/agent_service.pb.h"

namespace {

namespace cs = rampart::controller_store;

struct Fixture {
  Fixture() {
    rampart::log::SetLevel(rampart::log::Level::kError);
    char tmpl[] = "/tmp/ingest-fuzz-XXXXXX";
    dir = mkdtemp(tmpl);
    cs::Options o;
    o.path = dir + "/store";
    o.sync = false;
    store = std::move(*cs::Store::Open(o));
    (void)store->registry().CreateSite({.id = "site-f"});
    rampart::registry::Agent a;
    a.id = "a-fuzz";
    a.site = "site-f";
    (void)store->registry().PutAgentIdentity(a);
    ca = *rampart::tls::CreateCertificateAuthority("fuzz CA", std::chrono::hours(1));
  }
  ~Fixture() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string dir;
  std::unique_ptr<cs::Store> store;
  rampart::tls::CertificateAuthority ca;
};

Fixture& F() {
  static Fixture* f = new Fixture();  // Lives for the process (libFuzzer never returns).
  return *f;
}

void Ingest(rampart::v1::EventBatch* batch) {
  cs::IngestBatch b;
  b.agent_id = "a-fuzz";
  for (const auto& g : batch->gone()) b.gone.push_back({g.first(), g.last()});
  b.batch.Swap(batch);
  // Owned by the callback: set_value may still run when get() returns.
  auto p = std::make_shared<std::promise<rampart::Result<cs::IngestResult>>>();
  auto fut = p->get_future();
  b.done = [p](rampart::Result<cs::IngestResult> r) { p->set_value(std::move(r)); };
  cs::WriterOf(*F().store).Submit(std::move(b));
  auto r = fut.get();
  if (!r.has_value()) return;
  // Every sequence the batch was acknowledged for is readable (or was gone).
  for (const cs::SequenceRange& range : r->accounted) {
    for (uint64_t s = range.first; s <= range.last && s < range.first + 64; ++s) {
      auto e = F().store->GetEvent({"a-fuzz", s});
      if (e.has_value() && e->summary.id.sequence != s) std::abort();
    }
  }
  cs::Query q;
  q.limit = 10;
  (void)F().store->QueryEvents(q);
  (void)F().store->QueryAlerts(q);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int kind = data[0] % 3;
  const std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (kind) {
    case 0: {
      rampart::v1::AgentMessage m;
      if (!m.ParseFromString(bytes)) return 0;
      if (m.has_batch()) Ingest(m.mutable_batch());
      if (m.has_hello()) (void)cs::WriterOf(*F().store).OpenAgent("a-fuzz", m.hello().last_sequence());
      if (m.has_heartbeat()) {
        rampart::registry::AgentHealth h;
        h.queue_depth = m.heartbeat().queue_depth();
        h.cpu_percent = m.heartbeat().cpu_percent();
        (void)F().store->registry().UpdateAgentHealth("a-fuzz", h, m.heartbeat().version());
      }
      break;
    }
    case 1: {
      rampart::v1::EnrollRequest r;
      if (!r.ParseFromString(bytes)) return 0;
      rampart::tls::SignOptions so;
      so.common_name = "a-fuzz";
      (void)rampart::tls::SignCsr(F().ca, r.csr_pem(), so);
      (void)F().store->registry().ConsumeToken(std::string(64, 'f'), "a-fuzz");
      break;
    }
    default: {
      rampart::v1::RenewRequest r;
      if (!r.ParseFromString(bytes)) return 0;
      (void)rampart::tls::SignCsr(F().ca, r.csr_pem(), {});
      break;
    }
  }
  return 0;
}
