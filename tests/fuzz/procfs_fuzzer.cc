// Any bytes as /proc content (stat, status, cmdline, net/tcp lines,
// meminfo, loadavg, the cpu line of /proc/stat): the parsers never crash
// and what they return is consistent (a comm never longer than the input,
// ports in range).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/host/procfs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto st = rampart::host::ParseProcStat(text); st && st->comm.size() > size) std::abort();
  (void)rampart::host::ParseProcStatus(text);
  size_t total = 0;
  for (const auto& a : rampart::host::ParseCmdline(text)) total += a.size();
  if (total > size) std::abort();
  for (bool v6 : {false, true}) {
    if (auto e = rampart::host::ParseProcNetLine(text, v6); e && e->local_ip.empty()) std::abort();
  }
  (void)rampart::host::ParseMeminfo(text);
  (void)rampart::host::ParseProcStatCpu(text);
  (void)rampart::host::ParseLoadavg(text);
  return 0;
}
