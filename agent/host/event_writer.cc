#include "agent/host/event_writer.h"

#include <sys/stat.h>

#include <cstdio>
#include <map>

#include "common/eve/eve.h"
#include "common/eve/json_writer.h"
#include "common/util/clock.h"
#include "common/util/ids.h"

namespace rampart::host {
namespace {

using eve::JsonWriter;

int64_t Now(int64_t ts) { return ts != 0 ? ts : WallNanos(); }

void Begin(JsonWriter& w, int64_t ts, std::string_view type, const std::string& host) {
  eve::EveHeader h;
  h.timestamp_nanos = Now(ts);
  h.event_type = type;
  h.host = host;
  eve::BeginEveRecord(w, h);
}

void WriteState(JsonWriter& w, std::string_view key, const FileState& s) {
  w.BeginObject(key);
  w.String("type", FileTypeName(s.mode));
  if (!s.sha256.empty()) w.String("sha256", s.sha256);
  w.Uint("size", s.size);
  w.String("mode", FormatMode(s.mode));
  w.Uint("uid", s.uid);
  w.Uint("gid", s.gid);
  w.String("mtime", FormatEveTimestamp(s.mtime_nanos));
  w.Uint("inode", s.inode);
  w.EndObject();
}

void WriteMatches(JsonWriter& w, const std::vector<yara::RuleMatch>& matches) {
  w.BeginArray("matches");
  for (const yara::RuleMatch& m : matches) {
    w.BeginObject();
    w.String("rule", m.rule);
    w.String("namespace", m.ns);
    w.BeginArray("tags");
    for (const auto& t : m.tags) w.String(t);
    w.EndArray();
    // Meta as an object; a key YARA repeats ("reference" twice) becomes an array.
    std::map<std::string, std::vector<const yara::MetaValue*>> by_key;
    std::vector<std::string> order;
    for (const auto& v : m.meta) {
      auto& slot = by_key[v.key];
      if (slot.empty()) order.push_back(v.key);
      slot.push_back(&v);
    }
    auto write_value = [&](const yara::MetaValue& v, bool keyed) {
      switch (v.type) {
        case yara::MetaValue::Type::kString:
          if (keyed) w.String(v.key, v.string_value); else w.String(v.string_value);
          break;
        case yara::MetaValue::Type::kInteger:
          if (keyed) w.Int(v.key, v.integer_value); else w.Int(v.integer_value);
          break;
        case yara::MetaValue::Type::kBoolean:
          if (keyed) w.Bool(v.key, v.integer_value != 0); else w.Bool(v.integer_value != 0);
          break;
      }
    };
    w.BeginObject("meta");
    for (const auto& key : order) {
      const auto& values = by_key[key];
      if (values.size() == 1) {
        write_value(*values[0], true);
      } else {
        w.BeginArray(key);
        for (const auto* v : values) write_value(*v, false);
        w.EndArray();
      }
    }
    w.EndObject();
    if (!m.strings.empty()) {
      w.BeginArray("strings");
      for (const auto& s : m.strings) {
        w.BeginObject();
        w.String("identifier", s.identifier);
        w.Uint("offset", s.offset);
        w.Uint("length", s.length);
        w.EndObject();
      }
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndArray();
}

void WriteSummary(JsonWriter& w, const yara::ScanSummary& s) {
  w.Uint("files_seen", s.files_seen);
  w.Uint("files_scanned", s.files_scanned);
  w.Uint("files_cached", s.files_cached);
  w.Uint("files_skipped", s.files_skipped);
  w.Uint("files_matched", s.files_matched);
  w.Uint("errors", s.errors);
  w.Uint("bytes_scanned", s.bytes_scanned);
  w.Uint("elapsed_ms", static_cast<uint64_t>(s.elapsed.count()));
  w.Uint("paused_ms", static_cast<uint64_t>(s.paused.count()));
}

}  // namespace

std::string NewScanId() { return "scan-" + NewUuidV7(WallNanos()); }

std::string FormatMode(uint32_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", mode & 07777);
  return buf;
}

std::string FileTypeName(uint32_t mode) {
  if (S_ISREG(mode)) return "file";
  if (S_ISDIR(mode)) return "dir";
  if (S_ISLNK(mode)) return "symlink";
  if (S_ISFIFO(mode)) return "fifo";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISCHR(mode)) return "char_device";
  if (S_ISBLK(mode)) return "block_device";
  return "unknown";
}

EventWriter::EventWriter(eve::EveSink* sink, Options options) : sink_(sink), options_(std::move(options)) {}

Status EventWriter::Emit(std::string line) {
  line.push_back('\n');
  Status s = sink_->Write(line);
  if (s.ok()) {
    records_.fetch_add(1, std::memory_order_relaxed);
  } else {
    write_errors_.fetch_add(1, std::memory_order_relaxed);
  }
  return s;
}

std::string EventWriter::FormatFile(const FileEvent& e) const {
  std::string line;
  JsonWriter w(&line);
  Begin(w, e.timestamp_nanos, "file", options_.host);
  w.BeginObject("file");
  w.String("action", e.action);
  w.String("path", e.path);
  if (!e.detected_by.empty()) w.String("detected_by", e.detected_by);
  const FileState* current = e.new_state ? &*e.new_state : (e.old_state ? &*e.old_state : nullptr);
  if (current != nullptr && !current->sha256.empty()) w.String("sha256", current->sha256);
  if (current != nullptr) w.Uint("size", current->size);
  if (e.old_state) WriteState(w, "old", *e.old_state);
  if (e.new_state) WriteState(w, "new", *e.new_state);
  if (!e.yara.empty()) {
    w.BeginObject("yara");
    WriteMatches(w, e.yara);
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  return line;
}

std::string EventWriter::FormatProcess(const ProcessEvent& e) const {
  std::string line;
  JsonWriter w(&line);
  Begin(w, e.timestamp_nanos, "process", options_.host);
  w.BeginObject("process");
  w.String("action", e.action);
  w.Int("pid", e.pid);
  w.Int("ppid", e.ppid);
  if (!e.name.empty()) w.String("name", e.name);
  if (!e.exe.empty()) w.String("exe", e.exe);
  if (!e.sha256.empty()) w.String("sha256", e.sha256);
  if (!e.args.empty()) {
    std::string cmdline;
    w.BeginArray("args");
    for (const auto& a : e.args) {
      w.String(a);
      if (!cmdline.empty()) cmdline.push_back(' ');
      cmdline += a;
    }
    w.EndArray();
    w.String("command_line", cmdline);
  }
  w.Uint("uid", e.uid);
  w.Uint("gid", e.gid);
  if (!e.user.empty()) w.String("user", e.user);
  if (e.start_time_nanos != 0) w.String("start", FormatEveTimestamp(e.start_time_nanos));
  if (e.exit_code) w.Int("exit_code", *e.exit_code);
  if (!e.source.empty()) w.String("source", e.source);
  w.EndObject();
  w.EndObject();
  return line;
}

std::string EventWriter::FormatAuth(const AuthEvent& e) const {
  std::string line;
  JsonWriter w(&line);
  eve::EveHeader h;
  h.timestamp_nanos = Now(e.timestamp_nanos);
  h.event_type = "auth";
  h.host = options_.host;
  eve::BeginEveRecord(w, h);
  if (!e.src_ip.empty()) {
    w.String("src_ip", e.src_ip);
    if (e.src_port != 0) w.Uint("src_port", e.src_port);
  }
  w.BeginObject("auth");
  w.String("service", e.service);
  w.String("outcome", e.outcome);
  if (!e.user.empty()) w.String("user", e.user);
  if (!e.target_user.empty()) w.String("target_user", e.target_user);
  if (!e.method.empty()) w.String("method", e.method);
  if (!e.tty.empty()) w.String("tty", e.tty);
  if (!e.command.empty()) w.String("command", e.command);
  if (!e.reason.empty()) w.String("reason", e.reason);
  if (!e.hostname.empty()) w.String("hostname", e.hostname);
  if (e.pid != 0) w.Int("pid", e.pid);
  if (!e.origin.empty()) w.String("origin", e.origin);
  if (!e.message.empty()) w.String("message", e.message);
  w.EndObject();
  w.EndObject();
  return line;
}

std::string EventWriter::FormatSocket(const SocketEvent& e) const {
  std::string line;
  JsonWriter w(&line);
  Begin(w, e.timestamp_nanos, "socket", options_.host);
  w.BeginObject("socket");
  w.String("action", e.action);
  w.String("proto", e.proto);
  w.String("local_ip", e.local_ip);
  w.Uint("local_port", e.local_port);
  w.Uint("inode", e.inode);
  w.Uint("uid", e.uid);
  if (e.pid != 0) {
    w.Int("pid", e.pid);
    if (!e.process.empty()) w.String("process", e.process);
    if (!e.exe.empty()) w.String("exe", e.exe);
  }
  w.EndObject();
  w.EndObject();
  return line;
}

std::string EventWriter::FormatStats(const ResourceSample& s) const {
  std::string line;
  JsonWriter w(&line);
  Begin(w, s.timestamp_nanos, "stats", options_.host);
  w.BeginObject("stats");
  w.BeginObject("host");
  w.BeginObject("cpu");
  w.Double("percent", s.cpu_percent);
  w.Uint("count", s.cpu_count);
  w.EndObject();
  w.BeginObject("load");
  w.Double("1m", s.load1);
  w.Double("5m", s.load5);
  w.Double("15m", s.load15);
  w.EndObject();
  w.BeginObject("memory");
  w.Uint("total", s.memory_total_bytes);
  w.Uint("available", s.memory_available_bytes);
  w.Uint("swap_total", s.swap_total_bytes);
  w.Uint("swap_free", s.swap_free_bytes);
  w.EndObject();
  w.BeginArray("disks");
  for (const DiskUsage& d : s.disks) {
    w.BeginObject();
    w.String("mount", d.mount);
    w.String("fs_type", d.fs_type);
    w.Uint("total", d.total_bytes);
    w.Uint("free", d.free_bytes);
    w.Uint("available", d.available_bytes);
    w.EndObject();
  }
  w.EndArray();
  w.Uint("uptime", s.uptime_seconds);
  w.BeginObject("agent");
  w.Uint("rss", s.agent_rss_bytes);
  w.Double("cpu_percent", s.agent_cpu_percent);
  w.EndObject();
  w.EndObject();
  w.EndObject();
  w.EndObject();
  return line;
}

std::string EventWriter::FormatScanResult(const std::string& scan_id, const yara::FileResult& r, int64_t ts) const {
  std::string line;
  JsonWriter w(&line);
  Begin(w, ts, "file", options_.host);
  w.BeginObject("file");
  const bool error = r.outcome == yara::FileResult::Outcome::kError;
  w.String("action", error ? "scan_error" : "yara_match");
  w.String("path", r.path);
  w.String("detected_by", "scan");
  w.Uint("size", r.size);
  w.BeginObject("yara");
  w.String("scan_id", scan_id);
  if (error) w.String("error", r.reason);
  w.Bool("cached", r.outcome == yara::FileResult::Outcome::kCached);
  WriteMatches(w, r.matches);
  w.EndObject();
  w.EndObject();
  w.EndObject();
  return line;
}

std::string EventWriter::FormatScanReport(const ScanReport& r) const {
  std::string line;
  JsonWriter w(&line);
  Begin(w, r.timestamp_nanos, "scan", options_.host);
  w.BeginObject("scan");
  w.String("scan_id", r.scan_id);
  w.String("state", r.state);
  if (!r.reason.empty()) w.String("reason", r.reason);
  w.BeginArray("roots");
  for (const auto& root : r.roots) w.String(root);
  w.EndArray();
  if (!r.rules_version.empty()) w.String("rules_version", r.rules_version);
  WriteSummary(w, r.summary);
  w.EndObject();
  w.EndObject();
  return line;
}

Status EventWriter::WriteFile(const FileEvent& e) { return Emit(FormatFile(e)); }
Status EventWriter::WriteProcess(const ProcessEvent& e) { return Emit(FormatProcess(e)); }
Status EventWriter::WriteAuth(const AuthEvent& e) { return Emit(FormatAuth(e)); }
Status EventWriter::WriteSocket(const SocketEvent& e) { return Emit(FormatSocket(e)); }
Status EventWriter::WriteStats(const ResourceSample& s) { return Emit(FormatStats(s)); }
Status EventWriter::WriteScanResult(const std::string& scan_id, const yara::FileResult& r, int64_t ts) {
  return Emit(FormatScanResult(scan_id, r, ts));
}
Status EventWriter::WriteScanReport(const ScanReport& r) { return Emit(FormatScanReport(r)); }

}  // namespace rampart::host
