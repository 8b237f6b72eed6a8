// Any bytes written as an EVE string give valid JSON that decodes back to the
// same bytes where they were valid UTF-8.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/eve/json_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string out;
  rampart::eve::JsonWriter w(&out);
  w.BeginObject().String("k", text).EndObject();
  auto parsed = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) __builtin_trap();
  // Pure ASCII without control characters must round-trip exactly.
  bool plain = true;
  for (unsigned char c : text) plain &= (c >= 0x20 && c < 0x80);
  if (plain && parsed["k"].get<std::string>() != text) __builtin_trap();
  return 0;
}
