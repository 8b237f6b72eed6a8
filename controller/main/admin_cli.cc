// Shared by rampartctl's fleet commands: flags for the admin socket, errors
// and tables.

#include "controller/main/admin_cli.h"

#include <cstdio>

#include "common/util/build_info.h"

namespace rampart::controller_cli {

using nlohmann::json;

void AddWhere(CLI::App* cmd, Where* w) {
  cmd->add_option("--data-dir", w->data_dir, "The controller's data directory (finds admin.sock)");
  cmd->add_option("--socket", w->socket, "The controller's admin socket (default: DATA_DIR/admin.sock)");
  cmd->add_flag("--json", w->json, "Print JSON instead of a table");
}

std::unique_ptr<fleet::AdminClient> Client(const Where& w) {
  return fleet::AdminClient::Create(w.socket.empty() ? fleet::DefaultAdminSocket(w.data_dir) : w.socket);
}

int Fail(const Status& s) {
  std::fprintf(stderr, "rampartctl: %s\n", s.ToString().c_str());
  switch (s.code()) {
    case StatusCode::kUnavailable: return kExitUnavailable;
    case StatusCode::kInvalidArgument: return kExitUsage;
    default: return kExitFailure;
  }
}

std::string Str(const json& j, const char* key) {
  if (!j.contains(key)) return "";
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

int PrintList(const Result<std::string>& r, bool raw, const std::vector<std::pair<const char*, const char*>>& cols,
              const std::function<std::string(const json&, const char*)>& cell) {
  if (!r.has_value()) return Fail(r.error());
  if (raw) {
    std::printf("%s\n", r->c_str());
    return kExitOk;
  }
  json doc = json::parse(*r, nullptr, false);
  const json rows = doc.is_object() && doc.contains("rows") ? doc["rows"] : doc;
  if (!rows.is_array()) {
    std::printf("%s\n", r->c_str());
    return kExitOk;
  }
  std::vector<std::vector<std::string>> table;
  std::vector<size_t> width;
  std::vector<std::string> head;
  for (const auto& [title, key] : cols) head.push_back(title);
  table.push_back(head);
  for (const json& row : rows) {
    std::vector<std::string> line;
    for (const auto& [title, key] : cols) line.push_back(cell(row, key));
    table.push_back(line);
  }
  width.assign(cols.size(), 0);
  for (const auto& line : table) {
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  for (const auto& line : table) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i) {
      out += line[i];
      if (i + 1 < line.size()) out += std::string(width[i] - line[i].size() + 2, ' ');
    }
    std::printf("%s\n", out.c_str());
  }
  return kExitOk;
}

}  // namespace rampart::controller_cli
