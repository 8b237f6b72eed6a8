#include "agent/sensor/live.h"

#include <thread>

#include "agent/capture/capture.h"
#include "common/config/config.h"
#include "common/log/log.h"
#include "common/util/mutex.h"

namespace rampart::sensor {
namespace {

// Writes every line to the daemon's sink and to a file.
class TeeSink final : public eve::EveSink {
 public:
  TeeSink(eve::EveSink* a, std::unique_ptr<eve::EveSink> b) : a_(a), b_(std::move(b)) {}
  Status Write(std::string_view lines) override {
    Status s = a_->Write(lines);
    Status t = b_->Write(lines);
    return s.ok() ? t : s;
  }
  Status Flush() override {
    Status s = a_->Flush();
    Status t = b_->Flush();
    return s.ok() ? t : s;
  }

 private:
  eve::EveSink* a_;
  std::unique_ptr<eve::EveSink> b_;
};

class LiveSensorImpl final : public LiveSensor {
 public:
  ~LiveSensorImpl() override { Stop(); }

  Status Begin(const CaptureConfig& c, eve::EveSink* sink, InspectorFactory* inspector) {
    if (!c.eve_file.empty()) {
      auto file = eve::OpenFileSink(c.eve_file, eve::OpenMode::kAppend);
      if (!file) return file.error().WithContext("agent.capture.eve_file");
      tee_ = std::make_unique<TeeSink>(sink, std::move(*file));
      sink = tee_.get();
    }
    capture::LiveOptions lo;
    lo.interface = c.interface;
    lo.snap_length = c.snaplen;
    lo.buffer_bytes = static_cast<size_t>(c.buffer_size);
    lo.immediate = c.immediate;
    lo.promiscuous = c.promiscuous;
    lo.bpf_filter = c.bpf_filter;
    lo.buffers = 2 + 2 * c.workers;
    auto src = capture::OpenLive(lo);
    if (!src) return src.error();
    source_ = std::move(*src);
    SensorOptions so = ToSensorOptions(c);
    so.inspector = inspector;
    auto s = Sensor::Create(so, source_->link_type(), sink);
    if (!s) return s.error();
    sensor_ = std::move(*s);
    interface_ = c.interface;
    thread_ = std::thread([this] {
      Status st;
      try {
        st = sensor_->Run(*source_);
      } catch (const std::exception& e) {
        st = InternalError(std::string("network sensor stopped on an exception: ") + e.what());
      }
      const SensorTotals t = sensor_->totals();
      log::Info("capture", "capture stopped",
                {{"interface", interface_}, {"packets", t.packets}, {"flows", t.flows}, {"records", t.records},
                 {"kernel_drops", t.kernel_drops}});
      if (!st.ok()) log::Error("capture", "capture failed", {{"interface", interface_}, {"error", st}});
      MutexLock lock(&mu_);
      status_ = st;
    });
    log::Info("capture", "capturing", {{"interface", c.interface}, {"workers", c.workers},
                                        {"filter", c.bpf_filter}, {"snaplen", c.snaplen}});
    return Status::Ok();
  }

  void Stop() override {
    if (!thread_.joinable()) return;
    sensor_->Stop();
    thread_.join();
  }

  Status status() override EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return status_;
  }

  SensorTotals totals() const override { return sensor_ ? sensor_->totals() : SensorTotals{}; }

 private:
  std::unique_ptr<TeeSink> tee_;
  std::unique_ptr<capture::PacketSource> source_;
  std::unique_ptr<Sensor> sensor_;
  std::thread thread_;
  std::string interface_;
  Mutex mu_;
  Status status_ GUARDED_BY(mu_);  // The capture thread's result, once it stopped.
};

}  // namespace

void ReadCaptureConfig(config::Section s, CaptureConfig* out) {
  s.Bool("enabled", &out->enabled);
  s.String("interface", &out->interface);
  if (out->enabled && out->interface.empty()) s.Problem("interface", "is required when capture is enabled");
  s.Int("snaplen", &out->snaplen, 64, 262144);
  s.ByteSize("buffer_size", &out->buffer_size, 1u << 20, 1ull << 30);
  s.Bool("immediate", &out->immediate);
  s.Bool("promiscuous", &out->promiscuous);
  s.String("bpf_filter", &out->bpf_filter);
  s.Int("workers", &out->workers, 1, 64);
  std::string checks = out->checksum_checks ? "all" : "none";
  s.OneOf("checksum_checks", &checks, {"all", "none"});
  out->checksum_checks = checks == "all";
  s.Bool("midstream", &out->midstream);
  s.ByteSize("flow_memcap", &out->flow_memcap, 1u << 20, 64ull << 30);
  s.ByteSize("reassembly_depth", &out->reassembly_depth, 0, 1ull << 30);
  s.ByteSize("reassembly_memcap", &out->reassembly_memcap, 1u << 20, 64ull << 30);
  s.ByteSize("defrag_memcap", &out->defrag_memcap, 64u << 10, 16ull << 30);
  s.Duration("stats_interval", &out->stats_interval, std::chrono::seconds(1), std::chrono::hours(24));
  s.Bool("log_stream_anomalies", &out->log_stream_anomalies);
  s.String("eve_file", &out->eve_file);
}

SensorOptions ToSensorOptions(const CaptureConfig& c) {
  SensorOptions o;
  o.workers = c.workers;
  o.decoder.checksum_checks = c.checksum_checks;
  o.flows.midstream = c.midstream;
  o.flows.memcap = static_cast<size_t>(c.flow_memcap);
  o.reassembly.depth = static_cast<uint32_t>(std::min<uint64_t>(c.reassembly_depth, UINT32_MAX));
  o.reassembly.memcap = static_cast<size_t>(c.reassembly_memcap);
  o.defrag.memcap = static_cast<size_t>(c.defrag_memcap);
  o.stats_interval = c.stats_interval;
  o.pcap_cnt = false;
  o.capture_stats = true;
  o.log_stream_anomalies = c.log_stream_anomalies;
  return o;
}

Result<std::unique_ptr<LiveSensor>> LiveSensor::Start(const CaptureConfig& config, eve::EveSink* sink,
                                                      InspectorFactory* inspector) {
  if (sink == nullptr) return InvalidArgumentError("capture: no EVE sink");
  auto s = std::make_unique<LiveSensorImpl>();
  RAMPART_RETURN_IF_ERROR(s->Begin(config, sink, inspector));
  return std::unique_ptr<LiveSensor>(std::move(s));
}

}  // namespace rampart::sensor
