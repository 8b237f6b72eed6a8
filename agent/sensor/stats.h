#pragma once
// The EVE `stats` record: Suricata's counter names (decoder, flow, tcp,
// defrag, app_layer, detect), so dashboards built for Suricata read it.

#include <cstdint>
#include <string>

#include "agent/capture/capture.h"
#include "agent/sensor/worker_stats.h"

namespace rampart::sensor {

// Appends one stats record (without newline) to *out. `capture` adds the
// kernel's packet and drop counts (live capture only).
void WriteStatsRecord(std::string* out, int64_t timestamp_nanos, int64_t uptime_seconds, const WorkerStats& s,
                      const capture::SourceStats* capture);

}  // namespace rampart::sensor
