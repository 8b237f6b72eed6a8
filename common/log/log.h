#pragma once
// The project's logging facade over spdlog: levels, a component name and
// key=value fields, one line per record:
//
//   2026-11-21T23:59:00.123Z INFO  capture: opened interface iface=eth0 snaplen=65535
//
//   log::Info("capture", "opened interface", {{"iface", name}, {"snaplen", snaplen}});
//
// Never log per packet: count instead, and log the counters at an interval.
// Thread-safe. Until Init() is called, records at Info and above go to stderr.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/status/status.h"

namespace rampart::log {

enum class Level : uint8_t { kTrace, kDebug, kInfo, kWarn, kError, kOff };

// "trace", "debug", "info", "warn"/"warning", "error", "off".
Result<Level> ParseLevel(std::string_view name);
std::string_view LevelName(Level level);

struct Options {
  Level level = Level::kInfo;
  // Empty logs to stderr. A file is appended to and never rotated here;
  // systemd's journal or logrotate own rotation.
  std::string file;
  // "text" (key=value) or "json" (one object per line, for log shippers).
  std::string format = "text";
};

// (Re)configures the process logger. kInvalidArgument for a bad format,
// kPermissionDenied / kNotFound when the file cannot be opened.
Status Init(const Options& options);
void SetLevel(Level level);
bool Enabled(Level level);
// Flushes buffered records (called at exit and after errors).
void Flush();

// One key=value field. Values are stored as text; strings with blanks,
// quotes or '=' are quoted when printed.
struct Field {
  template <typename T>
    requires std::is_arithmetic_v<T>
  Field(std::string_view k, T v) : key(k), value(ToText(v)) {}
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
  Field(std::string_view k, const Status& s) : key(k), value(s.ToString()) {}

  std::string_view key;
  std::string value;

 private:
  template <typename T>
  static std::string ToText(T v) {
    if constexpr (std::is_same_v<T, bool>) {
      return v ? "true" : "false";
    } else {
      return std::to_string(v);
    }
  }
};

void Write(Level level, std::string_view component, std::string_view message,
           std::initializer_list<Field> fields = {});

inline void Trace(std::string_view component, std::string_view message,
                  std::initializer_list<Field> fields = {}) {
  if (Enabled(Level::kTrace)) Write(Level::kTrace, component, message, fields);
}
inline void Debug(std::string_view component, std::string_view message,
                  std::initializer_list<Field> fields = {}) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, component, message, fields);
}
inline void Info(std::string_view component, std::string_view message,
                 std::initializer_list<Field> fields = {}) {
  if (Enabled(Level::kInfo)) Write(Level::kInfo, component, message, fields);
}
inline void Warn(std::string_view component, std::string_view message,
                 std::initializer_list<Field> fields = {}) {
  if (Enabled(Level::kWarn)) Write(Level::kWarn, component, message, fields);
}
inline void Error(std::string_view component, std::string_view message,
                  std::initializer_list<Field> fields = {}) {
  if (Enabled(Level::kError)) Write(Level::kError, component, message, fields);
}

// The text of one record as Write() prints it in "text" format, without the
// timestamp and level (exposed for tests and for callers that embed it).
std::string FormatFields(std::string_view message, std::initializer_list<Field> fields);

}  // namespace rampart::log
