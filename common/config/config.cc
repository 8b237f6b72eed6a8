#include "common/config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/util/units.h"

namespace rampart::config {
namespace detail {

struct DocumentState {
  std::string name;
  YAML::Node root;
  std::vector<std::string> problems;
  std::vector<std::shared_ptr<SectionState>> sections;  // Every mapping handed out.
  bool finished = false;
};

struct SectionState {
  DocumentState* doc = nullptr;
  std::string path;
  YAML::Node node;  // A map, or undefined/null when absent.
  int key_line = 0;  // Line of the key that named this mapping (for "is required").
  std::set<std::string, std::less<>> known;  // Keys someone asked about.
};

}  // namespace detail

namespace {

using detail::DocumentState;
using detail::SectionState;

int LineOf(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  const YAML::Mark mark = node.Mark();
  return mark.line < 0 ? 0 : mark.line + 1;
}

std::string Join(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string out(path);
  out += '.';
  out += key;
  return out;
}

void AddProblem(DocumentState* doc, std::string_view path, int line, std::string_view message) {
  std::string text(path.empty() ? "(top level)" : path);
  text += ": ";
  text += message;
  if (line > 0) {
    text += " (line ";
    text += std::to_string(line);
    text += ')';
  }
  doc->problems.push_back(std::move(text));
}

// Levenshtein distance, small inputs only (key names).
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string Quote(const YAML::Node& node) {
  if (node.IsScalar()) return "'" + node.Scalar() + "'";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "nothing";
}

// Looks up `key` and marks it known. Returns an undefined node when absent
// (or when the section itself is absent). Null values count as absent.
YAML::Node Lookup(SectionState& s, std::string_view key, bool required) {
  s.known.emplace(key);
  YAML::Node value;
  if (s.node.IsMap()) {
    for (auto it = s.node.begin(); it != s.node.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == key) {
        value = it->second;
        break;
      }
    }
  }
  if ((!value.IsDefined() || value.IsNull()) && required) {
    AddProblem(s.doc, Join(s.path, key), s.key_line, "is required");
  }
  return value;
}

bool Present(const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); }

// Line of `key` itself in the section (0 when absent): a child mapping's
// problems point there, where a reader would look.
int KeyLine(const SectionState& s, std::string_view key) {
  if (!s.node.IsMap()) return s.key_line;
  for (auto it = s.node.begin(); it != s.node.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return LineOf(it->first);
  }
  return s.key_line;
}

bool RequireScalar(SectionState& s, std::string_view key, const YAML::Node& n, std::string_view what) {
  if (n.IsScalar()) return true;
  AddProblem(s.doc, Join(s.path, key), LineOf(n), "must be " + std::string(what) + ", got " + Quote(n));
  return false;
}

std::shared_ptr<SectionState> MakeSection(DocumentState* doc, std::string path, YAML::Node node, int key_line) {
  auto state = std::make_shared<SectionState>();
  state->doc = doc;
  state->path = std::move(path);
  state->key_line = key_line > 0 ? key_line : LineOf(node);
  state->node = std::move(node);
  doc->sections.push_back(state);
  return state;
}

}  // namespace

const std::string& Section::path() const { return state_->path; }
int Section::line() const { return LineOf(state_->node); }

bool Section::Has(std::string_view key) const { return Present(Lookup(*state_, key, false)); }

std::vector<std::string> Section::Keys() const {
  std::vector<std::string> keys;
  if (state_->node.IsMap()) {
    for (auto it = state_->node.begin(); it != state_->node.end(); ++it) {
      if (it->first.IsScalar()) keys.push_back(it->first.Scalar());
    }
  }
  return keys;
}

void Section::Int64(std::string_view key, int64_t* out, int64_t min, int64_t max, bool required) {
  SectionState& s = *state_;
  const YAML::Node n = Lookup(s, key, required);
  if (!Present(n) || !RequireScalar(s, key, n, "an integer")) return;
  const std::string& text = n.Scalar();
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 0);
  if (text.empty() || end == nullptr || *end != '\0' || errno == ERANGE) {
    AddProblem(s.doc, Join(s.path, key), LineOf(n), "must be an integer, got '" + text + "'");
    return;
  }
  if (v < min || v > max) {
    AddProblem(s.doc, Join(s.path, key), LineOf(n),
               "must be " + std::to_string(min) + ".." + std::to_string(max) + ", got " + text);
    return;
  }
  *out = v;
}

void Section::Double(std::string_view key, double* out, double min, double max, bool required) {
  SectionState& s = *state_;
  const YAML::Node n = Lookup(s, key, required);
  if (!Present(n) || !RequireScalar(s, key, n, "a number")) return;
  const std::string& text = n.Scalar();
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end == nullptr || *end != '\0' || !std::isfinite(v)) {
    AddProblem(s.doc, Join(s.path, key), LineOf(n), "must be a number, got '" + text + "'");
    return;
  }
  if (v < min || v > max) {
    std::ostringstream msg;
    msg << "must be " << min << ".." << max << ", got " << text;
    AddProblem(s.doc, Join(s.path, key), LineOf(n), msg.str());
    return;
  }
  *out = v;
}

void Section::Bool(std::string_view key, bool* out, bool required) {
  SectionState& s = *state_;
  const YAML::Node n = Lookup(s, key, required);
  if (!Present(n) || !RequireScalar(s, key, n, "true or false")) return;
  const std::string& t = n.Scalar();
  if (t == "true" || t == "yes" || t == "on") {
    *out = true;
  } else if (t == "false" || t == "no" || t == "off") {
    *out = false;
  } else {
    AddProblem(s.doc, Join(s.path, key), LineOf(n), "must be true or false, got '" + t + "'");
  }
}

void Section::String(std::string_view key, std::string* out, bool required) {
  SectionState& s = *state_;
  const YAML::Node n = Lookup(s, key, required);
  if (!Present(n) || !RequireScalar(s, key, n, "a string")) return;
  *out = n.Scalar();
}

void Section::OneOf(std::string_view key, std::string* out, std::initializer_list<std::string_view> allowed,
                    bool required) {
  SectionState& s = *state_;
  const YAML::Node n = Lookup(s, key, required);
  if (!Present(n) || !RequireScalar(s, key, n, "a string")) return;
  const std::string& t = n.Scalar();
  for (std::string_view a : allowed) {
    if (t == a) {
      *out = t;
      return;
    }
  }
  std::string list;
  for (std::string_view a : allowed) {
    if (!list.empty()) list += ", ";
    list += a;
  }
  AddProblem(s.doc, Join(s.path, key), LineOf(n), "must be one of " + list + ", got '" + t + "'");
}

void Section::Duration(std::string_view key, std::chrono::milliseconds* out, std::chrono::milliseconds min,
                       std::chrono::milliseconds max, bool required) {
  SectionState& s = *state_;
  const YAML::Node n = Lookup(s, key, required);
  if (!Present(n) || !RequireScalar(s, key, n, "a duration such as 30s")) return;
  auto d = ParseDuration(n.Scalar());
  if (!d) {
    AddProblem(s.doc, Join(s.path, key), LineOf(n), d.error().message());
    return;
  }
  if (*d < min || *d > max) {
    AddProblem(s.doc, Join(s.path, key), LineOf(n),
               "must be " + FormatDuration(min) + ".." + FormatDuration(max) + ", got " + n.Scalar());
    return;
  }
  *out = *d;
}

void Section::ByteSize(std::string_view key, uint64_t* out, uint64_t min, uint64_t max, bool required) {
  SectionState& s = *state_;
  const YAML::Node n = Lookup(s, key, required);
  if (!Present(n) || !RequireScalar(s, key, n, "a size such as 64MiB")) return;
  auto v = ParseByteSize(n.Scalar());
  if (!v) {
    AddProblem(s.doc, Join(s.path, key), LineOf(n), v.error().message());
    return;
  }
  if (*v < min || *v > max) {
    AddProblem(s.doc, Join(s.path, key), LineOf(n),
               "must be " + FormatByteSize(min) + ".." + FormatByteSize(max) + ", got " + n.Scalar());
    return;
  }
  *out = *v;
}

void Section::StringList(std::string_view key, std::vector<std::string>* out, bool required) {
  SectionState& s = *state_;
  const YAML::Node n = Lookup(s, key, required);
  if (!Present(n)) return;
  if (!n.IsSequence()) {
    AddProblem(s.doc, Join(s.path, key), LineOf(n), "must be a list, got " + Quote(n));
    return;
  }
  std::vector<std::string> values;
  bool ok = true;
  for (size_t i = 0; i < n.size(); ++i) {
    const YAML::Node item = n[i];
    if (!item.IsScalar()) {
      AddProblem(s.doc, Join(s.path, key) + "[" + std::to_string(i) + "]", LineOf(item),
                 "must be a string, got " + Quote(item));
      ok = false;
      continue;
    }
    values.push_back(item.Scalar());
  }
  if (ok) *out = std::move(values);
}

void Section::StringMap(std::string_view key, std::map<std::string, std::string>* out, bool required) {
  SectionState& s = *state_;
  const YAML::Node n = Lookup(s, key, required);
  if (!Present(n)) return;
  if (!n.IsMap()) {
    AddProblem(s.doc, Join(s.path, key), LineOf(n), "must be a mapping, got " + Quote(n));
    return;
  }
  std::map<std::string, std::string> values;
  bool ok = true;
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!it->first.IsScalar() || !it->second.IsScalar()) {
      AddProblem(s.doc, Join(s.path, key), LineOf(it->first), "entries must map a name to a string");
      ok = false;
      continue;
    }
    values[it->first.Scalar()] = it->second.Scalar();
  }
  if (ok) *out = std::move(values);
}

Section Section::Child(std::string_view key, bool required) {
  SectionState& s = *state_;
  const YAML::Node n = Lookup(s, key, required);
  const std::string path = Join(s.path, key);
  const int key_line = KeyLine(s, key);
  if (Present(n) && !n.IsMap()) {
    AddProblem(s.doc, path, LineOf(n), "must be a mapping, got " + Quote(n));
    return Section(MakeSection(s.doc, path, YAML::Node(), key_line));
  }
  return Section(MakeSection(s.doc, path, Present(n) ? n : YAML::Node(), key_line));
}

std::vector<Section> Section::List(std::string_view key, bool required) {
  SectionState& s = *state_;
  const YAML::Node n = Lookup(s, key, required);
  std::vector<Section> out;
  if (!Present(n)) return out;
  const std::string path = Join(s.path, key);
  if (!n.IsSequence()) {
    AddProblem(s.doc, path, LineOf(n), "must be a list, got " + Quote(n));
    return out;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    const YAML::Node item = n[i];
    if (!item.IsMap()) {
      AddProblem(s.doc, item_path, LineOf(item), "must be a mapping, got " + Quote(item));
      continue;
    }
    out.push_back(Section(MakeSection(s.doc, item_path, item, LineOf(item))));
  }
  return out;
}

void Section::Problem(std::string_view key, std::string_view message) const {
  SectionState& s = *state_;
  const YAML::Node n = Lookup(s, key, false);
  AddProblem(s.doc, Join(s.path, key), Present(n) ? LineOf(n) : LineOf(s.node), message);
}

void Section::Accept(std::string_view key) const { state_->known.emplace(key); }

Document::Document(std::unique_ptr<detail::DocumentState> state) : state_(std::move(state)) {}
Document::Document(Document&&) noexcept = default;
Document& Document::operator=(Document&&) noexcept = default;
Document::~Document() = default;

Result<Document> Document::LoadString(std::string_view text, std::string_view name) {
  auto state = std::make_unique<DocumentState>();
  state->name = std::string(name);
  try {
    state->root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(state->name + ":" + std::to_string(e.mark.line + 1) + ":" +
                                std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  return Document(std::move(state));
}

Result<Document> Document::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoError(errno, "cannot read config file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return ErrnoError(errno, "cannot read config file " + path);
  return LoadString(text.str(), path);
}

Section Document::Root() {
  DocumentState* doc = state_.get();
  if (!doc->sections.empty() && doc->sections.front()->path.empty()) return Section(doc->sections.front());
  YAML::Node node = doc->root;
  if (node.IsDefined() && !node.IsNull() && !node.IsMap()) {
    AddProblem(doc, "", LineOf(node), "the document must be a mapping of sections, got " + Quote(node));
    node = YAML::Node();
  }
  auto state = std::make_shared<SectionState>();
  state->doc = doc;
  state->node = node;
  state->key_line = 1;
  doc->sections.insert(doc->sections.begin(), state);
  return Section(state);
}

std::vector<std::string> Document::Problems() const { return state_->problems; }

Status Document::Finish() {
  DocumentState* doc = state_.get();
  if (!doc->finished) {
    doc->finished = true;
    // A mapping may be read through several Sections (two modules each
    // reading their part of agent.yara): a key is known when any reader of
    // that mapping asked about it, and each mapping is checked once.
    std::map<std::string, std::set<std::string, std::less<>>> known_by_path;
    for (const auto& s : doc->sections) known_by_path[s->path].insert(s->known.begin(), s->known.end());
    std::set<std::string> checked;
    for (const auto& s : doc->sections) {
      if (!s->node.IsMap()) continue;
      if (!checked.insert(s->path).second) continue;
      const auto& known = known_by_path[s->path];
      for (auto it = s->node.begin(); it != s->node.end(); ++it) {
        if (!it->first.IsScalar()) continue;
        const std::string& key = it->first.Scalar();
        if (known.count(key) != 0) continue;
        std::string message = "unknown key";
        std::string best;
        size_t best_distance = 3;  // Suggest only close spellings.
        for (const std::string& k : known) {
          const size_t d = EditDistance(key, k);
          if (d < best_distance) {
            best_distance = d;
            best = k;
          }
        }
        if (!best.empty()) message += "; did you mean '" + best + "'?";
        AddProblem(doc, Join(s->path, key), LineOf(it->first), message);
      }
    }
  }
  if (doc->problems.empty()) return Status::Ok();
  std::string message = doc->name + ": " + std::to_string(doc->problems.size()) +
                        (doc->problems.size() == 1 ? " problem" : " problems");
  for (const std::string& p : doc->problems) {
    message += "\n  ";
    message += p;
  }
  return InvalidArgumentError(std::move(message));
}

}  // namespace rampart::config
