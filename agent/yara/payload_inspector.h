#pragma once
// YARA on network payloads, through the network sensor's inspector hook
// (agent/sensor/inspector.h): reassembled TCP stream data, up to a depth
// per flow and direction, and decoded (de-chunked, decompressed) HTTP
// request and response bodies, up to a depth per transaction. A match
// becomes an EVE `alert` record whose alert.yara object carries the rule,
// namespace, tags, meta and the buffer it matched in; each rule alerts at
// most once per flow and buffer.
//
// The factory may wrap another inspector factory (the rule engine's), so
// one sensor runs both; the wrapped inspectors keep their own per-flow state.
// Inspectors are per worker thread, as the hook requires.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include "agent/sensor/inspector.h"
#include "agent/yara/rules.h"

namespace rampart::yara {

struct PayloadScanOptions {
  // Stream bytes scanned per flow and direction; 0 turns stream scanning off.
  uint32_t stream_depth = 1u << 20;
  // Bytes of earlier stream data scanned again with the new bytes, so that a
  // string split across segments still matches. More finds longer strings,
  // costs a rescan of that much per packet.
  uint32_t stream_context = 2048;
  // Decoded HTTP body bytes scanned per transaction and direction; 0 off.
  uint32_t http_body_depth = 1u << 20;
  // Per scan; a payload that takes longer is counted, not alerted on.
  std::chrono::seconds timeout{1};
  // gid of the alerts; the signature id is derived from namespace:rule.
  uint32_t gid = 1;
};

struct PayloadScanCounters {
  std::atomic<uint64_t> scans{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> alerts{0};
  std::atomic<uint64_t> errors{0};  // Timeouts and other scan failures.
};

class PayloadInspectorFactory final : public sensor::InspectorFactory {
 public:
  // `next` (optional, not owned) is another factory whose inspectors run
  // alongside on every packet.
  PayloadInspectorFactory(std::shared_ptr<const RuleSet> rules, PayloadScanOptions options,
                          sensor::InspectorFactory* next = nullptr);
  sensor::InspectorNeeds Needs() const override;
  Result<std::unique_ptr<sensor::Inspector>> Create(int worker) override;

  const PayloadScanCounters& counters() const { return counters_; }

 private:
  std::shared_ptr<const RuleSet> rules_;
  PayloadScanOptions options_;
  sensor::InspectorFactory* next_;
  PayloadScanCounters counters_;
};

// The signature id of a YARA rule's alerts: stable for a namespace and rule
// name, in 3,000,000,000..3,999,999,999 (clear of ET/Suricata ranges).
uint32_t YaraSignatureId(const std::string& ns, const std::string& rule);

}  // namespace rampart::yara
