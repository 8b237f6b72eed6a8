// Any bytes as a YAML config: parsing and typed reads never crash, and a
// document with problems always yields a non-OK status.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = rampart::config::Document::LoadString(text, "fuzz.yaml");
  if (!doc) return 0;
  rampart::config::Section root = doc->Root();
  rampart::config::Section agent = root.Child("agent");
  int snaplen = 65535;
  agent.Child("capture").Int("snaplen", &snaplen, 64, 262144);
  std::string s;
  agent.String("name", &s);
  agent.OneOf("mode", &s, {"a", "b"});
  bool b = false;
  agent.Bool("enabled", &b);
  std::chrono::milliseconds d{0};
  agent.Duration("interval", &d, std::chrono::milliseconds(0), std::chrono::hours(24));
  uint64_t bytes = 0;
  agent.ByteSize("quota", &bytes, 0, UINT64_MAX);
  std::vector<std::string> list;
  agent.StringList("paths", &list);
  std::map<std::string, std::string> vars;
  root.StringMap("vars", &vars);
  double ratio = 0;
  agent.Double("ratio", &ratio, 0, 1);
  for (auto& item : root.List("links")) item.String("name", &s, rampart::config::kRequired);
  const bool had_problems = !doc->Problems().empty();
  const rampart::Status status = doc->Finish();
  if (had_problems && status.ok()) __builtin_trap();
  return 0;
}
