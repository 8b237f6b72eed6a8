#include "common/log/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

#include "common/util/clock.h"
#include "common/util/mutex.h"

namespace rampart::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::atomic<bool> g_json{false};
Mutex g_mu;  // Guards replacing the logger (spdlog's loggers lock their own sinks).
std::shared_ptr<spdlog::logger> g_logger GUARDED_BY(g_mu);

spdlog::level::level_enum ToSpd(Level level) {
  switch (level) {
    case Level::kTrace: return spdlog::level::trace;
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarn: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
    case Level::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

std::shared_ptr<spdlog::logger> Logger() {
  MutexLock lock(&g_mu);
  if (!g_logger) {
    g_logger = std::make_shared<spdlog::logger>("rampart", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    g_logger->set_pattern("%v");
    g_logger->set_level(spdlog::level::trace);
  }
  return g_logger;
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\t' || c == '\n' || c == '\r') return true;
  }
  return false;
}

void AppendQuoted(std::string& out, std::string_view v) {
  out += '"';
  for (char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: out += c;
    }
  }
  out += '"';
}

void AppendJsonString(std::string& out, std::string_view v) {
  out += '"';
  for (unsigned char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

}  // namespace

Result<Level> ParseLevel(std::string_view name) {
  if (name == "trace") return Level::kTrace;
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn" || name == "warning") return Level::kWarn;
  if (name == "error") return Level::kError;
  if (name == "off") return Level::kOff;
  return InvalidArgumentError("unknown log level '" + std::string(name) +
                              "' (use trace, debug, info, warn, error or off)");
}

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kTrace: return "trace";
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
    case Level::kOff: return "off";
  }
  return "info";
}

Status Init(const Options& options) {
  if (options.format != "text" && options.format != "json") {
    return InvalidArgumentError("log format must be text or json, got '" + options.format + "'");
  }
  std::shared_ptr<spdlog::logger> logger;
  if (options.file.empty()) {
    logger = std::make_shared<spdlog::logger>("rampart", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  } else {
    std::FILE* probe = std::fopen(options.file.c_str(), "a");
    if (probe == nullptr) return ErrnoError(errno, "cannot open log file " + options.file);
    std::fclose(probe);
    try {
      logger = std::make_shared<spdlog::logger>(
          "rampart", std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file, false));
    } catch (const spdlog::spdlog_ex& e) {
      return UnavailableError(std::string("cannot open log file: ") + e.what());
    }
  }
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::trace);
  logger->flush_on(spdlog::level::warn);
  {
    MutexLock lock(&g_mu);
    if (g_logger) g_logger->flush();
    g_logger = std::move(logger);
  }
  g_json.store(options.format == "json");
  g_level.store(options.level);
  return Status::Ok();
}

void SetLevel(Level level) { g_level.store(level); }
bool Enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed) && level != Level::kOff; }
void Flush() { Logger()->flush(); }

std::string FormatFields(std::string_view message, std::initializer_list<Field> fields) {
  std::string out(message);
  for (const Field& f : fields) {
    out += ' ';
    out += f.key;
    out += '=';
    if (NeedsQuotes(f.value)) {
      AppendQuoted(out, f.value);
    } else {
      out += f.value;
    }
  }
  return out;
}

void Write(Level level, std::string_view component, std::string_view message,
           std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  std::string line;
  const std::string ts = FormatRfc3339(WallNanos());
  if (g_json.load(std::memory_order_relaxed)) {
    line = "{\"ts\":\"" + ts + "\",\"level\":\"" + std::string(LevelName(level)) + "\",\"component\":";
    AppendJsonString(line, component);
    line += ",\"msg\":";
    AppendJsonString(line, message);
    for (const Field& f : fields) {
      line += ',';
      AppendJsonString(line, f.key);
      line += ':';
      AppendJsonString(line, f.value);
    }
    line += '}';
  } else {
    static constexpr const char* kNames[] = {"TRACE", "DEBUG", "INFO ", "WARN ", "ERROR", "OFF  "};
    line.reserve(64 + message.size());
    line += ts;
    line += ' ';
    line += kNames[static_cast<int>(level)];
    line += ' ';
    line += component;
    line += ": ";
    line += FormatFields(message, fields);
  }
  Logger()->log(ToSpd(level), "{}", line);
}

}  // namespace rampart::log
