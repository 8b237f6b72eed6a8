#pragma once
// Live capture in the daemon: the `agent.capture` section of agent.yaml and
// a sensor that captures on an interface on its own thread until stopped.
//
//   agent:
//     capture:
//       enabled: true
//       interface: eth0
//       snaplen: 65535            # bytes kept per packet
//       buffer_size: 32MiB        # kernel ring (TPACKET_V3)
//       immediate: false          # true: every packet at once (libpcap then uses TPACKET_V2)
//       promiscuous: true
//       bpf_filter: ""            # e.g. "not port 22"
//       workers: 1                # 1: capture and analysis on one thread
//       checksum_checks: all      # all | none (capture before checksum offload fills them)
//       midstream: true           # reassemble connections whose handshake was not seen
//       flow_memcap: 32MiB
//       reassembly_depth: 1MiB    # per direction of a flow
//       reassembly_memcap: 64MiB
//       defrag_memcap: 16MiB
//       stats_interval: 60s       # stats records (and a log line) this often
//       log_stream_anomalies: false
//       eve_file: ""              # also write EVE here (appended); records always go to the daemon's sink
//
// Stop() may be called from any thread; the final flow and stats records
// are written before it returns.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "agent/sensor/inspector.h"
#include "agent/sensor/sensor.h"
#include "common/eve/sink.h"
#include "common/status/status.h"

namespace rampart::config {
class Section;
}

namespace rampart::sensor {

struct CaptureConfig {
  bool enabled = false;
  std::string interface;
  int snaplen = 65535;
  uint64_t buffer_size = 32u << 20;
  bool immediate = false;
  bool promiscuous = true;
  std::string bpf_filter;
  int workers = 1;
  bool checksum_checks = true;
  bool midstream = true;
  uint64_t flow_memcap = 32u << 20;
  uint64_t reassembly_depth = 1u << 20;
  uint64_t reassembly_memcap = 64u << 20;
  uint64_t defrag_memcap = 16u << 20;
  std::chrono::milliseconds stats_interval{60000};
  bool log_stream_anomalies = false;
  std::string eve_file;
};

// Reads agent.capture into *out; problems are recorded in the section's
// document (reported by Document::Finish()), e.g. "agent.capture.interface:
// is required when capture is enabled (line 12)".
void ReadCaptureConfig(config::Section section, CaptureConfig* out);

// The SensorOptions a capture configuration stands for.
SensorOptions ToSensorOptions(const CaptureConfig& c);

class LiveSensor {
 public:
  // Opens the interface and starts capturing into `sink` (and eve_file).
  // `sink` and `inspector` (may be null) must outlive the LiveSensor.
  // kPermissionDenied without CAP_NET_RAW, kNotFound for a missing
  // interface, kInvalidArgument for a bad filter.
  static Result<std::unique_ptr<LiveSensor>> Start(const CaptureConfig& config, eve::EveSink* sink,
                                                   InspectorFactory* inspector);
  virtual ~LiveSensor() = default;
  // Stops capturing, ends every flow and writes the final records; waits.
  virtual void Stop() = 0;
  // The error that stopped capture on its own (interface gone), if any.
  virtual Status status() = 0;
  virtual SensorTotals totals() const = 0;
};

}  // namespace rampart::sensor
