#include "agent/detect/alert_eve.h"

#include <map>
#include <string>
#include <vector>

#include "agent/detect/text_util.h"

namespace rampart::detect {

void WriteAlertObject(eve::JsonWriter& w, const Alert& alert, bool inline_mode) {
  const Rule& r = *alert.rule;
  const bool blocked = r.action == Action::kReject || (inline_mode && r.action == Action::kDrop);
  w.BeginObject("alert");
  w.String("action", blocked ? "blocked" : "allowed");
  w.Uint("gid", r.gid);
  w.Uint("signature_id", r.sid);
  w.Uint("rev", r.rev);
  w.String("signature", r.msg);
  w.String("category", r.category);
  w.Int("severity", r.priority);
  if (!r.metadata.empty()) {
    // "key value" pairs grouped by key, in first-seen order.
    std::vector<std::string> keys;
    std::map<std::string, std::vector<std::string>> values;
    for (const std::string& m : r.metadata) {
      std::string_view t = Trim(m);
      const size_t sp = t.find(' ');
      std::string key(sp == std::string_view::npos ? t : t.substr(0, sp));
      std::string val(sp == std::string_view::npos ? std::string_view() : Trim(t.substr(sp + 1)));
      if (key.empty()) continue;
      if (!values.contains(key)) keys.push_back(key);
      values[key].push_back(val);
    }
    if (!keys.empty()) {
      w.BeginObject("metadata");
      for (const std::string& k : keys) {
        w.BeginArray(k);
        for (const std::string& v : values[k]) w.String(v);
        w.EndArray();
      }
      w.EndObject();
    }
  }
  w.EndObject();
}

}  // namespace rampart::detect
