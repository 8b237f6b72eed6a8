#pragma once
// A streaming JSON writer that appends to a std::string: no tree, no
// allocation beyond the output's growth, so the packet path can afford one
// record per flow or transaction. Keys are written as given (callers use
// literal names); string values are escaped, and bytes that are not valid
// UTF-8 become \u00XX so every line stays valid JSON.
//
//   std::string line;
//   JsonWriter w(&line);
//   w.BeginObject();
//   w.String("event_type", "flow");
//   w.BeginObject("flow"); w.Uint("pkts_toserver", 3); w.EndObject();
//   w.EndObject();

#include <cstdint>
#include <string>
#include <string_view>

namespace rampart::eve {

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  // Containers. The keyed forms are for members of an object; the bare forms
  // for the top level and array elements.
  JsonWriter& BeginObject();
  JsonWriter& BeginObject(std::string_view key);
  JsonWriter& EndObject();
  JsonWriter& BeginArray(std::string_view key);
  JsonWriter& BeginArray();
  JsonWriter& EndArray();

  // Object members.
  JsonWriter& String(std::string_view key, std::string_view value);
  JsonWriter& Int(std::string_view key, int64_t value);
  JsonWriter& Uint(std::string_view key, uint64_t value);
  JsonWriter& Double(std::string_view key, double value);
  JsonWriter& Bool(std::string_view key, bool value);
  JsonWriter& Null(std::string_view key);
  // `json` must already be valid JSON text (a nested record).
  JsonWriter& Raw(std::string_view key, std::string_view json);

  // Array elements.
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Bool(bool value);

  // Nesting depth still open; 0 once the top-level value is closed.
  int depth() const { return depth_; }

 private:
  void Separator();
  void WriteKey(std::string_view key);

  std::string* out_;
  int depth_ = 0;
  // Bit d set: the container at depth d already holds an element. 64 levels
  // is far beyond any record we write.
  uint64_t has_element_ = 0;
};

// Appends `text` as a JSON string literal, quotes included.
void AppendJsonString(std::string* out, std::string_view text);

}  // namespace rampart::eve
