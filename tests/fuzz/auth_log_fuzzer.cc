// Any bytes as auth.log lines (BSD, ISO and RFC 5424 syslog; sshd, sudo, su
// messages): parsing never crashes, and every event it does produce is
// complete enough to write (service and outcome set, a port only with an
// address) and renders as JSON the EVE writer accepts.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/host/auth_log.h"
#include "agent/host/event_writer.h"
#include "common/eve/sink.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static rampart::eve::MemorySink* sink = new rampart::eve::MemorySink();
  static rampart::host::EventWriter* writer = new rampart::host::EventWriter(sink, {"fuzz"});
  constexpr int64_t kNow = 1795219200LL * 1000000000;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    auto e = rampart::host::ParseAuthLine(line, kNow, 7 * 3600, "fuzz");
    if (!e) continue;
    if (e->service.empty() || (e->outcome != "success" && e->outcome != "failure")) std::abort();
    if (e->src_port != 0 && e->src_ip.empty()) std::abort();
    const std::string json = writer->FormatAuth(*e);
    if (json.empty() || json.front() != '{' || json.back() != '}') std::abort();
  }
  return 0;
}
