#include "agent/host/procfs.h"

#include <arpa/inet.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>

#include <charconv>
#include <cstddef>
#include <cstring>

#include "common/util/text.h"

namespace rampart::host {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

template <typename T>
bool ParseNum(std::string_view s, T* out, int base = 10) {
  s = Trim(s);
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, base);
  return ec == std::errc() && p == s.data() + s.size();
}

// Splits on runs of blanks.
std::vector<std::string_view> Fields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
    const size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// "0100007F:0016" (IPv4, host-order words) or 32 hex digits (IPv6, four
// host-order 32-bit words) before the colon.
bool ParseAddress(std::string_view s, bool ipv6, std::string* ip, uint16_t* port) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view hex = s.substr(0, colon);
  const size_t want = ipv6 ? 32 : 8;
  if (hex.size() != want) return false;
  uint8_t raw[16] = {};
  for (size_t i = 0; i < want / 2; ++i) {
    const int hi = HexDigitValue(hex[2 * i]), lo = HexDigitValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    raw[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  // Each 32-bit word was printed as a host-order (little-endian) integer.
  uint8_t addr[16] = {};
  for (size_t w = 0; w < want / 8; ++w) {
    for (size_t b = 0; b < 4; ++b) addr[w * 4 + b] = raw[w * 4 + (3 - b)];
  }
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(ipv6 ? AF_INET6 : AF_INET, addr, buf, sizeof(buf)) == nullptr) return false;
  *ip = buf;
  uint32_t p = 0;
  if (!ParseNum(s.substr(colon + 1), &p, 16) || p > 65535) return false;
  *port = static_cast<uint16_t>(p);
  return true;
}

}  // namespace

std::optional<ProcStat> ParseProcStat(std::string_view text) {
  const size_t open = text.find('(');
  const size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
  ProcStat st;
  if (!ParseNum(text.substr(0, open), &st.pid)) return std::nullopt;
  st.comm = std::string(text.substr(open + 1, close - open - 1));
  const auto f = Fields(text.substr(close + 1));
  // f[0] is field 3 (state); starttime is field 22 -> f[19]; rss field 24 -> f[21].
  if (f.size() < 22 || f[0].size() != 1) return std::nullopt;
  st.state = f[0][0];
  if (!ParseNum(f[1], &st.ppid) || !ParseNum(f[11], &st.utime_ticks) || !ParseNum(f[12], &st.stime_ticks) ||
      !ParseNum(f[19], &st.start_ticks)) {
    return std::nullopt;
  }
  int64_t rss = 0;
  if (ParseNum(f[21], &rss) && rss > 0) st.rss_pages = static_cast<uint64_t>(rss);
  return st;
}

std::optional<ProcStatus> ParseProcStatus(std::string_view text) {
  ProcStatus st;
  bool any = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, colon);
    const std::string_view value = line.substr(colon + 1);
    if (key == "Name") {
      st.name = std::string(Trim(value));
      any = true;
    } else if (key == "PPid") {
      if (!ParseNum(value, &st.ppid)) return std::nullopt;
    } else if (key == "Uid" || key == "Gid") {
      const auto f = Fields(value);
      if (f.size() < 2) return std::nullopt;
      if (key == "Uid") {
        if (!ParseNum(f[0], &st.uid) || !ParseNum(f[1], &st.euid)) return std::nullopt;
        st.has_uid = true;
      } else if (!ParseNum(f[0], &st.gid)) {
        return std::nullopt;
      }
    }
  }
  if (!any) return std::nullopt;
  return st;
}

std::vector<std::string> ParseCmdline(std::string_view bytes) {
  std::vector<std::string> args;
  if (!bytes.empty() && bytes.back() == '\0') bytes.remove_suffix(1);
  if (bytes.empty()) return args;
  size_t start = 0;
  for (;;) {
    const size_t nul = bytes.find('\0', start);
    args.emplace_back(bytes.substr(start, nul == std::string_view::npos ? std::string_view::npos : nul - start));
    if (nul == std::string_view::npos) break;
    start = nul + 1;
  }
  return args;
}

std::optional<NetSocketEntry> ParseProcNetLine(std::string_view line, bool ipv6) {
  const auto f = Fields(line);
  // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
  if (f.size() < 10 || f[0].empty() || f[0].back() != ':') return std::nullopt;
  NetSocketEntry e;
  if (!ParseAddress(f[1], ipv6, &e.local_ip, &e.local_port)) return std::nullopt;
  if (!ParseAddress(f[2], ipv6, &e.remote_ip, &e.remote_port)) return std::nullopt;
  uint32_t state = 0;
  if (!ParseNum(f[3], &state, 16) || state > 0xff) return std::nullopt;
  e.state = static_cast<uint8_t>(state);
  if (!ParseNum(f[7], &e.uid) || !ParseNum(f[9], &e.inode)) return std::nullopt;
  return e;
}

std::optional<MemInfo> ParseMeminfo(std::string_view text) {
  MemInfo m;
  int found = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, colon);
    auto f = Fields(line.substr(colon + 1));
    uint64_t kb = 0;
    if (f.empty() || !ParseNum(f[0], &kb) || kb > (UINT64_MAX >> 10)) continue;
    const uint64_t bytes = kb << 10;
    if (key == "MemTotal") { m.total = bytes; ++found; }
    else if (key == "MemAvailable") { m.available = bytes; ++found; }
    else if (key == "SwapTotal") m.swap_total = bytes;
    else if (key == "SwapFree") m.swap_free = bytes;
  }
  if (found < 2) return std::nullopt;
  return m;
}

std::optional<CpuTimes> ParseProcStatCpu(std::string_view text) {
  const size_t nl = text.find('\n');
  const auto f = Fields(text.substr(0, nl));
  if (f.size() < 5 || f[0] != "cpu") return std::nullopt;
  uint64_t v[8] = {};
  for (size_t i = 1; i < f.size() && i <= 8; ++i) {
    if (!ParseNum(f[i], &v[i - 1])) return std::nullopt;
  }
  // user nice system idle iowait irq softirq steal
  CpuTimes t;
  t.busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  t.total = t.busy + v[3] + v[4];
  return t;
}

std::optional<std::array<double, 3>> ParseLoadavg(std::string_view text) {
  const auto f = Fields(text);
  if (f.size() < 3) return std::nullopt;
  std::array<double, 3> out{};
  for (size_t i = 0; i < 3; ++i) {
    const auto [p, ec] = std::from_chars(f[i].data(), f[i].data() + f[i].size(), out[i]);
    if (ec != std::errc() || p != f[i].data() + f[i].size()) return std::nullopt;
  }
  return out;
}

std::vector<ProcConnectorEvent> ParseProcConnectorDatagram(std::span<const uint8_t> bytes, uint64_t* malformed) {
  std::vector<ProcConnectorEvent> out;
  auto bad = [&] {
    if (malformed) ++*malformed;
  };
  size_t pos = 0;
  while (pos + sizeof(nlmsghdr) <= bytes.size()) {
    nlmsghdr h;
    std::memcpy(&h, bytes.data() + pos, sizeof(h));
    if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > bytes.size() - pos) {
      bad();
      break;
    }
    const size_t body_off = pos + NLMSG_HDRLEN;
    const size_t body_len = h.nlmsg_len > NLMSG_HDRLEN ? h.nlmsg_len - NLMSG_HDRLEN : 0;
    const size_t next = pos + NLMSG_ALIGN(h.nlmsg_len);
    if (h.nlmsg_type == NLMSG_ERROR || h.nlmsg_type == NLMSG_NOOP || h.nlmsg_type == NLMSG_OVERRUN) {
      pos = next;
      continue;
    }
    if (body_len < sizeof(cn_msg)) {
      bad();
      pos = next;
      continue;
    }
    cn_msg cn;
    std::memcpy(&cn, bytes.data() + body_off, sizeof(cn));
    if (cn.id.idx != CN_IDX_PROC || cn.id.val != CN_VAL_PROC) {
      pos = next;
      continue;
    }
    const size_t data_off = body_off + sizeof(cn_msg);
    const size_t data_len = std::min<size_t>(cn.len, body_len - sizeof(cn_msg));
    constexpr size_t kHead = offsetof(proc_event, event_data);
    if (data_len < kHead) {
      bad();
      pos = next;
      continue;
    }
    proc_event ev;
    std::memset(&ev, 0, sizeof(ev));
    std::memcpy(&ev, bytes.data() + data_off, std::min(data_len, sizeof(ev)));
    ProcConnectorEvent e;
    e.timestamp_ns = ev.timestamp_ns;
    switch (ev.what) {
      case proc_event::PROC_EVENT_FORK:
        if (data_len < kHead + sizeof(ev.event_data.fork)) { bad(); pos = next; continue; }
        e.kind = ProcConnectorEvent::Kind::kFork;
        e.pid = ev.event_data.fork.child_pid;
        e.tgid = ev.event_data.fork.child_tgid;
        e.parent_tgid = ev.event_data.fork.parent_tgid;
        break;
      case proc_event::PROC_EVENT_EXEC:
        if (data_len < kHead + sizeof(ev.event_data.exec)) { bad(); pos = next; continue; }
        e.kind = ProcConnectorEvent::Kind::kExec;
        e.pid = ev.event_data.exec.process_pid;
        e.tgid = ev.event_data.exec.process_tgid;
        break;
      case proc_event::PROC_EVENT_EXIT:
        // Older kernels send exit without the parent fields; require the
        // fields we read.
        if (data_len < kHead + offsetof(decltype(ev.event_data.exit), exit_signal)) { bad(); pos = next; continue; }
        e.kind = ProcConnectorEvent::Kind::kExit;
        e.pid = ev.event_data.exit.process_pid;
        e.tgid = ev.event_data.exit.process_tgid;
        e.exit_code = ev.event_data.exit.exit_code;
        break;
      default:
        e.kind = ProcConnectorEvent::Kind::kOther;
        break;
    }
    out.push_back(e);
    pos = next;
  }
  return out;
}

}  // namespace rampart::host
