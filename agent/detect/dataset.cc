#include "agent/detect/dataset.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/util/ids.h"

namespace rampart::detect {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view TrimBlank(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// An IPv4 address as the 16-byte key of an "ip" set (IPv4-mapped IPv6).
std::string MappedV4(const uint8_t* v4) {
  std::string k(16, '\0');
  k[10] = k[11] = static_cast<char>(0xff);
  std::memcpy(k.data() + 12, v4, 4);
  return k;
}

}  // namespace

std::optional<DatasetType> ParseDatasetType(std::string_view name) {
  if (name == "string") return DatasetType::kString;
  if (name == "md5") return DatasetType::kMd5;
  if (name == "sha256") return DatasetType::kSha256;
  if (name == "ipv4") return DatasetType::kIpv4;
  if (name == "ip" || name == "ipv6") return DatasetType::kIp;
  return std::nullopt;
}

std::string_view DatasetTypeName(DatasetType t) {
  switch (t) {
    case DatasetType::kString: return "string";
    case DatasetType::kMd5: return "md5";
    case DatasetType::kSha256: return "sha256";
    case DatasetType::kIpv4: return "ipv4";
    case DatasetType::kIp: return "ip";
  }
  return "string";
}

bool Dataset::Key(std::span<const uint8_t> value, std::string* key) const {
  const auto* p = value.data();
  switch (type_) {
    case DatasetType::kString:
      key->assign(reinterpret_cast<const char*>(p), value.size());
      return true;
    case DatasetType::kMd5:
    case DatasetType::kSha256:
    case DatasetType::kIpv4: {
      const size_t want = type_ == DatasetType::kMd5 ? 16 : type_ == DatasetType::kSha256 ? 32 : 4;
      if (value.size() != want) return false;
      key->assign(reinterpret_cast<const char*>(p), want);
      return true;
    }
    case DatasetType::kIp:
      if (value.size() == 4) {
        *key = MappedV4(p);
        return true;
      }
      if (value.size() != 16) return false;
      key->assign(reinterpret_cast<const char*>(p), 16);
      return true;
  }
  return false;
}

bool Dataset::Contains(std::span<const uint8_t> value) const {
  std::string k;
  if (!Key(value, &k)) return false;
  MutexLock lock(&mu_);
  return values_.contains(k);
}

bool Dataset::Add(std::span<const uint8_t> value, uint32_t rep) {
  std::string k;
  if (!Key(value, &k)) return false;
  MutexLock lock(&mu_);
  return values_.emplace(std::move(k), rep).second;
}

bool Dataset::Remove(std::span<const uint8_t> value) {
  std::string k;
  if (!Key(value, &k)) return false;
  MutexLock lock(&mu_);
  return values_.erase(k) > 0;
}

std::optional<uint32_t> Dataset::Rep(std::span<const uint8_t> value) const {
  std::string k;
  if (!Key(value, &k)) return std::nullopt;
  MutexLock lock(&mu_);
  auto it = values_.find(k);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

size_t Dataset::size() const {
  MutexLock lock(&mu_);
  return values_.size();
}

bool Dataset::ParseValue(std::string_view text, std::string* key) const {
  switch (type_) {
    case DatasetType::kString:
      {
        auto decoded = Base64Decode(text);
        if (!decoded) return false;
        *key = std::move(*decoded);
        return true;
      }
    case DatasetType::kMd5:
    case DatasetType::kSha256: {
      const size_t want = type_ == DatasetType::kMd5 ? 16 : 32;
      if (text.size() != want * 2) return false;
      key->clear();
      for (size_t i = 0; i < text.size(); i += 2) {
        const int hi = HexDigit(text[i]), lo = HexDigit(text[i + 1]);
        if (hi < 0 || lo < 0) return false;
        key->push_back(static_cast<char>(hi * 16 + lo));
      }
      return true;
    }
    case DatasetType::kIpv4:
    case DatasetType::kIp: {
      const std::string s(text);
      uint8_t buf[16];
      if (inet_pton(AF_INET, s.c_str(), buf) == 1) {
        if (type_ == DatasetType::kIpv4) {
          key->assign(reinterpret_cast<const char*>(buf), 4);
        } else {
          *key = MappedV4(buf);
        }
        return true;
      }
      if (type_ == DatasetType::kIp && inet_pton(AF_INET6, s.c_str(), buf) == 1) {
        key->assign(reinterpret_cast<const char*>(buf), 16);
        return true;
      }
      return false;
    }
  }
  return false;
}

std::string Dataset::Encode(std::string_view key) const {
  switch (type_) {
    case DatasetType::kString:
      return Base64Encode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(key.data()), key.size()));
    case DatasetType::kMd5:
    case DatasetType::kSha256: {
      static constexpr char kHex[] = "0123456789abcdef";
      std::string out;
      for (char c : key) {
        out.push_back(kHex[static_cast<uint8_t>(c) >> 4]);
        out.push_back(kHex[static_cast<uint8_t>(c) & 15]);
      }
      return out;
    }
    case DatasetType::kIpv4:
    case DatasetType::kIp: {
      char buf[INET6_ADDRSTRLEN] = {};
      const bool v4 = key.size() == 4 ||
                      (key.size() == 16 && std::memcmp(key.data(), "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0);
      if (v4) {
        inet_ntop(AF_INET, key.data() + (key.size() == 16 ? 12 : 0), buf, sizeof(buf));
      } else if (key.size() == 16) {
        inet_ntop(AF_INET6, key.data(), buf, sizeof(buf));
      }
      return buf;
    }
  }
  return {};
}

Status Dataset::Load(const std::string& path, bool with_rep) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int e = errno;
    return ErrnoError(e == 0 ? ENOENT : e, "dataset '" + name_ + "' file " + path);
  }
  std::string line;
  int line_no = 0;
  std::unordered_map<std::string, uint32_t> loaded;
  while (std::getline(in, line)) {
    ++line_no;
    std::string_view t = TrimBlank(line);
    if (t.empty() || t[0] == '#') continue;
    uint32_t rep = 0;
    if (with_rep) {
      const size_t comma = t.rfind(',');
      if (comma == std::string_view::npos) {
        return InvalidArgumentError(path + ":" + std::to_string(line_no) + ": expected VALUE,REPUTATION");
      }
      const std::string_view r = TrimBlank(t.substr(comma + 1));
      uint64_t v = 0;
      if (r.empty() || r.size() > 9) {
        return InvalidArgumentError(path + ":" + std::to_string(line_no) + ": bad reputation '" + std::string(r) + "'");
      }
      for (char c : r) {
        if (c < '0' || c > '9') {
          return InvalidArgumentError(path + ":" + std::to_string(line_no) + ": bad reputation '" + std::string(r) +
                                      "'");
        }
        v = v * 10 + static_cast<uint64_t>(c - '0');
      }
      rep = static_cast<uint32_t>(v);
      t = TrimBlank(t.substr(0, comma));
    }
    std::string key;
    if (!ParseValue(t, &key)) {
      return InvalidArgumentError(path + ":" + std::to_string(line_no) + ": '" + std::string(t) + "' is not a " +
                                  std::string(DatasetTypeName(type_)) + " value");
    }
    loaded[std::move(key)] = rep;
  }
  MutexLock lock(&mu_);
  for (auto& [k, v] : loaded) values_[k] = v;
  return Status::Ok();
}

Status Dataset::Save(const std::string& path) const {
  std::vector<std::pair<std::string, uint32_t>> copy;
  {
    MutexLock lock(&mu_);
    copy.assign(values_.begin(), values_.end());
  }
  std::ostringstream out;
  for (const auto& [k, v] : copy) out << Encode(k) << '\n';
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) {
    const int e = errno;
    return ErrnoError(e == 0 ? EACCES : e, "dataset '" + name_ + "' file " + path);
  }
  f << out.str();
  if (!f) return ErrnoError(EIO, "dataset '" + name_ + "' file " + path);
  return Status::Ok();
}

Dataset::~Dataset() {
  if (!save_path_.empty()) (void)Save(save_path_);
}

Result<std::shared_ptr<Dataset>> DatasetRegistry::Get(const Spec& spec) {
  auto it = sets_.find(spec.name);
  if (it != sets_.end()) {
    if (it->second->type() != spec.type) {
      return InvalidArgumentError("dataset '" + spec.name + "' is type " +
                                  std::string(DatasetTypeName(it->second->type())) + ", not " +
                                  std::string(DatasetTypeName(spec.type)));
    }
    return it->second;
  }
  if (!files_allowed_ && (!spec.load.empty() || !spec.save.empty() || !spec.state.empty())) {
    return InvalidArgumentError("dataset '" + spec.name + "': load, save and state need rules read from a file");
  }
  auto set = std::make_shared<Dataset>(spec.name, spec.type);
  if (!spec.load.empty()) {
    RAMPART_RETURN_IF_ERROR(set->Load(spec.load, spec.rep));
  }
  if (!spec.state.empty()) {
    std::ifstream probe(spec.state);
    if (probe) RAMPART_RETURN_IF_ERROR(set->Load(spec.state, spec.rep));
  }
  if (!spec.rep) set->set_save_path(!spec.save.empty() ? spec.save : spec.state);
  sets_.emplace(spec.name, set);
  return set;
}

}  // namespace rampart::detect
