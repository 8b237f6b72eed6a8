#include "agent/yara/payload_inspector.h"

#include <set>
#include <string>
#include <utility>

#include "agent/yara/scanner.h"
#include "common/eve/json_writer.h"

namespace rampart::yara {
namespace {

using sensor::AlertInfo;
using sensor::AlertSink;
using sensor::FlowView;

// Per flow: stream bytes scanned per direction, what already alerted, and
// the wrapped inspector's own state.
class PayloadFlowState final : public sensor::FlowInspectorState {
 public:
  uint64_t stream_scanned[2] = {0, 0};
  std::set<std::pair<uint32_t, int>> alerted;          // (sid, buffer)
  std::set<std::pair<uint64_t, int>> bodies_scanned;   // (tx_id, buffer)
  std::unique_ptr<sensor::FlowInspectorState> inner;
};

enum Buffer { kStream = 0, kRequestBody = 1, kResponseBody = 2 };
const char* BufferName(int b) {
  switch (b) {
    case kRequestBody: return "http_request_body";
    case kResponseBody: return "http_response_body";
    default: return "stream";
  }
}

int SeverityOf(const RuleMatch& m) {
  for (const auto& v : m.meta) {
    if (v.key != "severity") continue;
    int64_t s = v.integer_value;
    if (v.type == MetaValue::Type::kString) s = std::atoll(v.string_value.c_str());
    if (s >= 8) return 1;
    if (s >= 5) return 2;
    if (s > 0) return 3;
  }
  return 2;
}

std::string DescriptionOf(const RuleMatch& m) {
  for (const auto& v : m.meta) {
    if (v.key == "description" && v.type == MetaValue::Type::kString) return v.string_value;
  }
  return "";
}

std::string YaraJson(const RuleMatch& m, int buffer) {
  std::string out;
  eve::JsonWriter w(&out);
  w.BeginObject();
  w.String("rule", m.rule);
  w.String("namespace", m.ns);
  w.String("buffer", BufferName(buffer));
  w.BeginArray("tags");
  for (const auto& t : m.tags) w.String(t);
  w.EndArray();
  w.BeginObject("meta");
  std::set<std::string> seen;
  for (const auto& v : m.meta) {
    if (!seen.insert(v.key).second) continue;  // A repeated key keeps its first value here.
    switch (v.type) {
      case MetaValue::Type::kString: w.String(v.key, v.string_value); break;
      case MetaValue::Type::kInteger: w.Int(v.key, v.integer_value); break;
      case MetaValue::Type::kBoolean: w.Bool(v.key, v.integer_value != 0); break;
    }
  }
  w.EndObject();
  w.EndObject();
  return out;
}

class PayloadInspector final : public sensor::Inspector {
 public:
  PayloadInspector(std::unique_ptr<Scanner> scanner, const PayloadScanOptions& options, PayloadScanCounters* counters,
                   std::unique_ptr<sensor::Inspector> next)
      : scanner_(std::move(scanner)), options_(options), counters_(counters), next_(std::move(next)) {}

  void OnPacket(const sensor::PacketEvent& event, AlertSink& alerts) override {
    if (event.flow == nullptr) {
      if (next_) next_->OnPacket(event, alerts);
      return;
    }
    PayloadFlowState& st = State(*event.flow);
    if (next_) {
      FlowView inner = *event.flow;
      inner.state_slot = &st.inner;
      sensor::PacketEvent wrapped{event.packet, &inner, event.stream, event.app};
      next_->OnPacket(wrapped, alerts);
    }
    if (event.stream != nullptr && options_.stream_depth > 0) ScanStream(event, st, alerts);
    if (options_.http_body_depth > 0) {
      for (const sensor::HttpTxView* tx : event.app.http) ScanBodies(*tx, st, alerts, /*flow_end=*/false);
    }
  }

  void OnFlowEnd(FlowView& flow, const sensor::AppLayerView& app, AlertSink& alerts) override {
    PayloadFlowState& st = State(flow);
    if (next_) {
      FlowView inner = flow;
      inner.state_slot = &st.inner;
      next_->OnFlowEnd(inner, app, alerts);
    }
    if (options_.http_body_depth > 0) {
      for (const sensor::HttpTxView* tx : app.http) ScanBodies(*tx, st, alerts, /*flow_end=*/true);
    }
  }

 private:
  static PayloadFlowState& State(FlowView& flow) {
    auto& slot = flow.inspector_state();
    if (!slot) slot = std::make_unique<PayloadFlowState>();
    return static_cast<PayloadFlowState&>(*slot);
  }

  void ScanStream(const sensor::PacketEvent& event, PayloadFlowState& st, AlertSink& alerts) {
    const int dir = static_cast<int>(event.flow->direction);
    const uint64_t used = st.stream_scanned[dir];
    if (used >= options_.stream_depth) return;
    const sensor::StreamView& s = *event.stream;
    const size_t fresh = s.data.size() - s.new_offset;
    if (fresh == 0) return;
    const size_t take = static_cast<size_t>(std::min<uint64_t>(fresh, options_.stream_depth - used));
    st.stream_scanned[dir] += take;
    const size_t context = std::min<size_t>(s.new_offset, options_.stream_context);
    Scan(s.data.subspan(s.new_offset - context, context + take), kStream, nullptr, st, alerts);
  }

  void ScanBodies(const sensor::HttpTxView& tx, PayloadFlowState& st, AlertSink& alerts, bool flow_end) {
    // A body is scanned once, when it is complete (or when the flow ends
    // before it is).
    const bool req_done = (tx.progress & sensor::kHttpRequestBody) != 0;
    const bool resp_done = (tx.progress & sensor::kHttpResponseBody) != 0;
    if (!tx.request_body.empty() && (req_done || flow_end) &&
        st.bodies_scanned.insert({tx.tx_id, kRequestBody}).second) {
      Scan(AsBytes(tx.request_body), kRequestBody, &tx, st, alerts);
    }
    if (!tx.response_body.empty() && (resp_done || flow_end) &&
        st.bodies_scanned.insert({tx.tx_id, kResponseBody}).second) {
      Scan(AsBytes(tx.response_body), kResponseBody, &tx, st, alerts);
    }
  }

  std::span<const uint8_t> AsBytes(std::string_view body) const {
    const size_t n = std::min<size_t>(body.size(), options_.http_body_depth);
    return {reinterpret_cast<const uint8_t*>(body.data()), n};
  }

  void Scan(std::span<const uint8_t> data, int buffer, const sensor::HttpTxView* tx, PayloadFlowState& st,
            AlertSink& alerts) {
    counters_->scans.fetch_add(1, std::memory_order_relaxed);
    counters_->bytes.fetch_add(data.size(), std::memory_order_relaxed);
    auto matches = scanner_->ScanMemory(data);
    if (!matches) {
      counters_->errors.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    for (const RuleMatch& m : *matches) {
      const uint32_t sid = YaraSignatureId(m.ns, m.rule);
      if (!st.alerted.insert({sid, buffer}).second) continue;
      const std::string description = DescriptionOf(m);
      const std::string signature = "YARA " + m.rule + (description.empty() ? "" : ": " + description);
      const std::string json = YaraJson(m, buffer);
      AlertInfo a;
      a.gid = options_.gid;
      a.signature_id = sid;
      a.rev = 1;
      a.signature = signature;
      a.category = "YARA match";
      a.severity = SeverityOf(m);
      a.extra_key = "yara";
      a.extra_json = json;
      if (tx != nullptr) {
        a.http = tx;
        a.tx_id = tx->tx_id;
      }
      alerts.Alert(a);
      counters_->alerts.fetch_add(1, std::memory_order_relaxed);
    }
  }

  std::unique_ptr<Scanner> scanner_;
  PayloadScanOptions options_;
  PayloadScanCounters* counters_;
  std::unique_ptr<sensor::Inspector> next_;
};

}  // namespace

uint32_t YaraSignatureId(const std::string& ns, const std::string& rule) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (char c : ns + ":" + rule) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return 3000000000u + h % 1000000000u;
}

PayloadInspectorFactory::PayloadInspectorFactory(std::shared_ptr<const RuleSet> rules, PayloadScanOptions options,
                                                 sensor::InspectorFactory* next)
    : rules_(std::move(rules)), options_(options), next_(next) {}

sensor::InspectorNeeds PayloadInspectorFactory::Needs() const {
  sensor::InspectorNeeds n;
  n.stream_context = options_.stream_depth > 0 ? options_.stream_context : 0;
  n.http_body_limit = options_.http_body_depth;
  if (next_ != nullptr) {
    const sensor::InspectorNeeds other = next_->Needs();
    n.stream_context = std::max(n.stream_context, other.stream_context);
    n.http_body_limit = std::max(n.http_body_limit, other.http_body_limit);
  }
  return n;
}

Result<std::unique_ptr<sensor::Inspector>> PayloadInspectorFactory::Create(int worker) {
  std::unique_ptr<sensor::Inspector> next;
  if (next_ != nullptr) {
    RAMPART_ASSIGN_OR_RETURN(next, next_->Create(worker));
  }
  ScannerOptions so;
  so.timeout = options_.timeout;
  RAMPART_ASSIGN_OR_RETURN(auto scanner, Scanner::Create(rules_, so));
  return std::unique_ptr<sensor::Inspector>(
      std::make_unique<PayloadInspector>(std::move(scanner), options_, &counters_, std::move(next)));
}

}  // namespace rampart::yara
