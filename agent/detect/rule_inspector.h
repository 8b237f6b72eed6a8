#pragma once
// The rule engine on the network sensor's detection hook
// (agent/sensor/inspector.h): one RuleInspector per worker runs its
// Detector over every packet, the stream bytes and app-layer transactions
// the sensor hands over, and writes alerts through the sensor's AlertSink.
//
// What the sensor does not track for detection, the inspector keeps per
// flow in the hook's state slot: the stream offsets the peer acknowledged
// (Suricata inspects stream data once it is acknowledged) and the engine's
// FlowDetectState (flowbits, stream windows, per-transaction progress).

#include <memory>
#include <string>
#include <vector>

#include "agent/detect/engine.h"
#include "agent/sensor/inspector.h"
#include "common/status/status.h"

namespace rampart::detect {

struct RuleInspectorOptions {
  // Decoded HTTP body bytes the sensor keeps per transaction and direction
  // for http.request_body / file.data (Suricata's default body limit).
  uint32_t http_body_limit = 100 * 1024;
  // Report drop rules as "blocked" (inline deployments only).
  bool inline_mode = false;
};

// Shares one Engine among the workers. `engine` must outlive the factory
// and every inspector it creates.
class RuleInspectorFactory final : public sensor::InspectorFactory {
 public:
  RuleInspectorFactory(const Engine& engine, const RuleInspectorOptions& options = {});
  sensor::InspectorNeeds Needs() const override;
  Result<std::unique_ptr<sensor::Inspector>> Create(int worker) override;

 private:
  const Engine& engine_;
  RuleInspectorOptions options_;
  std::shared_ptr<const std::vector<std::string>> metadata_json_;  // By rule num.
};

}  // namespace rampart::detect
