#include "agent/host/auth_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <ctime>
#include <vector>

namespace rampart::host {
namespace {

constexpr int64_t kNanos = 1000000000;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

template <typename T>
bool Num(std::string_view s, T* out) {
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// Next blank-separated word; advances `s`.
std::string_view Word(std::string_view* s) {
  while (!s->empty() && s->front() == ' ') s->remove_prefix(1);
  const size_t end = s->find(' ');
  std::string_view w = s->substr(0, end);
  s->remove_prefix(end == std::string_view::npos ? s->size() : end);
  return w;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ValidDate(int y, int mo, int d, int h, int mi, int s) {
  // Nanoseconds since 1970 fit in int64 until 2262.
  return y >= 1970 && y <= 2200 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h < 24 && mi >= 0 &&
         mi < 60 && s >= 0 && s <= 60;
}

int64_t ToNanos(int y, int mo, int d, int h, int mi, int s, int64_t frac_nanos, int offset_seconds) {
  const int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const int64_t secs = days * 86400 + h * 3600 + mi * 60 + s - offset_seconds;
  return secs * kNanos + frac_nanos;
}

// "HH:MM:SS" at the start of s.
bool ParseClock(std::string_view s, int* h, int* mi, int* sec) {
  if (s.size() < 8 || s[2] != ':' || s[5] != ':') return false;
  return Num(s.substr(0, 2), h) && Num(s.substr(3, 2), mi) && Num(s.substr(6, 2), sec);
}

// ISO 8601 / RFC 3339: 2026-11-21T21:54:44(.123456)?(Z|+07:00|+0700)
bool ParseIsoTime(std::string_view t, int64_t* out) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != ' ')) return false;
  if (!Num(t.substr(0, 4), &y) || !Num(t.substr(5, 2), &mo) || !Num(t.substr(8, 2), &d) ||
      !ParseClock(t.substr(11), &h, &mi, &s)) {
    return false;
  }
  size_t i = 19;
  int64_t frac = 0;
  if (i < t.size() && t[i] == '.') {
    ++i;
    int64_t scale = kNanos / 10;
    while (i < t.size() && IsDigit(t[i])) {
      frac += (t[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
  }
  int offset = 0;
  if (i < t.size() && (t[i] == 'Z' || t[i] == 'z')) {
    ++i;
  } else if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
    const int sign = t[i] == '-' ? -1 : 1;
    std::string_view z = t.substr(i + 1);
    int oh = 0, om = 0;
    if (z.size() >= 5 && z[2] == ':' && Num(z.substr(0, 2), &oh) && Num(z.substr(3, 2), &om)) {
      i += 6;
    } else if (z.size() >= 4 && Num(z.substr(0, 2), &oh) && Num(z.substr(2, 2), &om)) {
      i += 5;
    } else {
      return false;
    }
    if (oh > 23 || om > 59) return false;
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return false;
  }
  if (i != t.size() || !ValidDate(y, mo, d, h, mi, s)) return false;
  *out = ToNanos(y, mo, d, h, mi, s, frac, offset);
  return true;
}

int MonthIndex(std::string_view m) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (kMonths[i] == m) return i + 1;
  }
  return 0;
}

// "prog[pid]:" or "prog:" then the message.
bool ParseTag(std::string_view rest, SyslogLine* out) {
  const size_t colon = rest.find(": ");
  std::string_view tag;
  if (colon == std::string_view::npos) {
    if (rest.empty() || rest.back() != ':') return false;
    tag = rest.substr(0, rest.size() - 1);
    rest = {};
  } else {
    tag = rest.substr(0, colon);
    rest = rest.substr(colon + 2);
  }
  if (tag.empty() || tag.find(' ') != std::string_view::npos) return false;
  const size_t bracket = tag.find('[');
  if (bracket != std::string_view::npos) {
    if (tag.back() != ']') return false;
    if (!Num(tag.substr(bracket + 1, tag.size() - bracket - 2), &out->pid)) return false;
    tag = tag.substr(0, bracket);
  }
  if (tag.empty()) return false;
  out->program = std::string(tag);
  out->message = std::string(rest);
  return true;
}

std::string_view After(std::string_view s, std::string_view marker) {
  const size_t p = s.find(marker);
  return p == std::string_view::npos ? std::string_view() : s.substr(p + marker.size());
}

// "USER from IP port N..." -> fields.
bool FromIpPort(std::string_view rest, std::string* user, std::string* ip, uint16_t* port) {
  *user = std::string(Word(&rest));
  if (Word(&rest) != "from") return false;
  *ip = std::string(Word(&rest));
  if (ip->empty()) return false;
  std::string_view w = Word(&rest);
  if (w == "port") {
    uint32_t p = 0;
    if (!Num(Word(&rest), &p) || p > 65535) return false;
    *port = static_cast<uint16_t>(p);
  }
  return true;
}

std::optional<AuthEvent> ParseSshd(const SyslogLine& l, AuthEvent e) {
  std::string_view m = l.message;
  if (StartsWith(m, "Accepted ")) {
    m.remove_prefix(9);
    e.method = std::string(Word(&m));
    if (Word(&m) != "for") return std::nullopt;
    if (!FromIpPort(m, &e.user, &e.src_ip, &e.src_port)) return std::nullopt;
    e.outcome = "success";
    return e;
  }
  if (StartsWith(m, "Failed ")) {
    m.remove_prefix(7);
    e.method = std::string(Word(&m));
    if (Word(&m) != "for") return std::nullopt;
    e.reason = "authentication failed";
    if (StartsWith(Trim(m), "invalid user ")) {
      m = Trim(m).substr(13);
      e.reason = "invalid user";
    }
    if (!FromIpPort(m, &e.user, &e.src_ip, &e.src_port)) return std::nullopt;
    e.outcome = "failure";
    return e;
  }
  if (StartsWith(m, "Invalid user ")) {
    m.remove_prefix(13);
    // The user name may be empty ("Invalid user  from 1.2.3.4") or hold blanks.
    std::string_view rest = m;
    size_t from = rest.rfind(" from ");
    size_t skip = 6;
    if (StartsWith(rest, "from ")) {
      from = 0;
      skip = 5;
    }
    if (from == std::string_view::npos) return std::nullopt;
    e.user = std::string(rest.substr(0, from));
    rest = rest.substr(from + skip);
    e.src_ip = std::string(Word(&rest));
    if (Word(&rest) == "port") {
      uint32_t p = 0;
      if (Num(Word(&rest), &p) && p <= 65535) e.src_port = static_cast<uint16_t>(p);
    }
    if (e.src_ip.empty()) return std::nullopt;
    e.outcome = "failure";
    e.reason = "invalid user";
    return e;
  }
  if (StartsWith(m, "error: maximum authentication attempts exceeded for ")) {
    m.remove_prefix(52);
    if (StartsWith(m, "invalid user ")) m.remove_prefix(13);
    if (!FromIpPort(m, &e.user, &e.src_ip, &e.src_port)) return std::nullopt;
    e.outcome = "failure";
    e.reason = "maximum authentication attempts exceeded";
    return e;
  }
  return std::nullopt;
}

std::optional<AuthEvent> ParseSudo(const SyslogLine& l, AuthEvent e) {
  std::string_view m = l.message;
  if (StartsWith(Trim(m), "pam_")) return std::nullopt;  // PAM's copy of what sudo reports itself.
  const size_t sep = m.find(" : ");
  if (sep == std::string_view::npos) return std::nullopt;
  e.user = std::string(Trim(m.substr(0, sep)));
  if (e.user.empty() || e.user.find(' ') != std::string::npos) return std::nullopt;
  std::string_view rest = m.substr(sep + 3);
  bool first = true;
  bool saw_field = false;
  while (!rest.empty()) {
    std::string_view field;
    if (StartsWith(Trim(rest), "COMMAND=")) {
      field = Trim(rest);  // The command is last and may itself hold " ; ".
      rest = {};
    } else {
      const size_t semi = rest.find(" ; ");
      field = Trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 3);
    }
    const size_t eq = field.find('=');
    const std::string_view key = eq == std::string_view::npos ? std::string_view() : field.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : field.substr(eq + 1);
    if (key == "TTY") { e.tty = std::string(value); saw_field = true; }
    else if (key == "USER") { e.target_user = std::string(value); saw_field = true; }
    else if (key == "COMMAND") { e.command = std::string(value); saw_field = true; }
    else if (key == "PWD" || key == "ENV" || key == "GROUP" || key == "CHROOT" || key == "CWD") { saw_field = true; }
    else if (first) { e.reason = std::string(field); }
    first = false;
  }
  if (!saw_field) return std::nullopt;
  e.outcome = e.reason.empty() ? "success" : "failure";
  e.method = "sudo";
  return e;
}

std::optional<AuthEvent> ParseSu(const SyslogLine& l, AuthEvent e) {
  std::string_view m = Trim(l.message);
  bool failed = false;
  if (StartsWith(m, "FAILED SU ")) {
    failed = true;
    m.remove_prefix(10);
  }
  if (StartsWith(m, "(to ")) {
    const size_t close = m.find(") ");
    if (close == std::string_view::npos) return std::nullopt;
    e.target_user = std::string(m.substr(4, close - 4));
    std::string_view rest = m.substr(close + 2);
    e.user = std::string(Word(&rest));
    if (Word(&rest) == "on") e.tty = std::string(Word(&rest));
    if (e.user.empty() || e.target_user.empty()) return std::nullopt;
    e.outcome = failed ? "failure" : "success";
    if (failed) e.reason = "authentication failed";
    e.method = "su";
    return e;
  }
  if (StartsWith(m, "Successful su for ") || StartsWith(m, "FAILED su for ")) {
    failed = m[0] == 'F';
    m = After(m, "su for ");
    e.target_user = std::string(Word(&m));
    if (Word(&m) != "by") return std::nullopt;
    e.user = std::string(Word(&m));
    if (e.user.empty() || e.target_user.empty()) return std::nullopt;
    e.outcome = failed ? "failure" : "success";
    if (failed) e.reason = "authentication failed";
    e.method = "su";
    return e;
  }
  return std::nullopt;
}

}  // namespace

std::optional<SyslogLine> ParseSyslogLine(std::string_view line, int64_t now_nanos, int utc_offset_seconds) {
  line = Trim(line);
  SyslogLine out;
  std::string_view rest = line;
  if (!rest.empty() && rest[0] == '<') {
    // RFC 5424: <PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG
    const size_t gt = rest.find('>');
    if (gt == std::string_view::npos || gt > 4) return std::nullopt;
    rest.remove_prefix(gt + 1);
    if (Word(&rest) != "1") return std::nullopt;
    const std::string_view ts = Word(&rest);
    if (ts != "-" && !ParseIsoTime(ts, &out.timestamp_nanos)) return std::nullopt;
    out.hostname = std::string(Word(&rest));
    out.program = std::string(Word(&rest));
    const std::string_view procid = Word(&rest);
    if (procid != "-" && !Num(procid, &out.pid)) out.pid = 0;
    Word(&rest);  // MSGID
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (StartsWith(rest, "-")) {
      rest.remove_prefix(1);
    } else {
      // Structured data: [id k="v" ...]... with \] escapes.
      while (StartsWith(rest, "[")) {
        size_t i = 1;
        while (i < rest.size() && rest[i] != ']') i += rest[i] == '\\' ? 2 : 1;
        if (i >= rest.size()) return std::nullopt;
        rest.remove_prefix(i + 1);
      }
    }
    if (StartsWith(rest, " ")) rest.remove_prefix(1);
    if (StartsWith(rest, "\xEF\xBB\xBF")) rest.remove_prefix(3);  // BOM
    out.message = std::string(rest);
    if (out.program.empty() || out.program == "-") return std::nullopt;
    return out;
  }
  if (line.size() >= 20 && IsDigit(line[0]) && line[4] == '-') {
    const std::string_view ts = Word(&rest);
    if (!ParseIsoTime(ts, &out.timestamp_nanos)) return std::nullopt;
  } else {
    // BSD: "Feb 21 21:54:44" or "Feb  1 01:02:03".
    if (line.size() < 16) return std::nullopt;
    const int month = MonthIndex(line.substr(0, 3));
    if (month == 0 || line[3] != ' ') return std::nullopt;
    std::string_view day_text = Trim(line.substr(4, 2));
    int day = 0, h = 0, mi = 0, s = 0;
    if (!Num(day_text, &day) || line[6] != ' ' || !ParseClock(line.substr(7), &h, &mi, &s)) return std::nullopt;
    if (line.size() > 15 && line[15] != ' ') return std::nullopt;
    rest = line.substr(15);
    // The year is not in the line: take the one that is not more than a day ahead of now.
    const int64_t local_now = now_nanos / kNanos + utc_offset_seconds;
    const time_t t = static_cast<time_t>(local_now);
    struct tm tm {};
    gmtime_r(&t, &tm);
    int year = tm.tm_year + 1900;
    if (!ValidDate(year, month, day, h, mi, s)) return std::nullopt;
    int64_t ns = ToNanos(year, month, day, h, mi, s, 0, utc_offset_seconds);
    if (ns > now_nanos + 86400 * kNanos) ns = ToNanos(year - 1, month, day, h, mi, s, 0, utc_offset_seconds);
    out.timestamp_nanos = ns;
  }
  out.hostname = std::string(Word(&rest));
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (out.hostname.empty() || !ParseTag(rest, &out)) return std::nullopt;
  return out;
}

std::optional<AuthEvent> ParseAuthMessage(const SyslogLine& line) {
  AuthEvent e;
  e.timestamp_nanos = line.timestamp_nanos;
  e.hostname = line.hostname;
  e.pid = line.pid;
  e.message = line.message;
  if (line.program == "sshd" || line.program == "sshd-session") {
    e.service = "sshd";
    return ParseSshd(line, std::move(e));
  }
  if (line.program == "sudo") {
    e.service = "sudo";
    return ParseSudo(line, std::move(e));
  }
  if (line.program == "su") {
    e.service = "su";
    return ParseSu(line, std::move(e));
  }
  return std::nullopt;
}

std::optional<AuthEvent> ParseAuthLine(std::string_view line, int64_t now_nanos, int utc_offset_seconds,
                                       std::string_view origin) {
  auto parsed = ParseSyslogLine(line, now_nanos, utc_offset_seconds);
  if (!parsed) return std::nullopt;
  auto event = ParseAuthMessage(*parsed);
  if (event) event->origin = std::string(origin);
  return event;
}

LogTail::LogTail(std::string path, bool start_at_end) : path_(std::move(path)), start_at_end_(start_at_end) {}

LogTail::~LogTail() {
  if (fd_ >= 0) ::close(fd_);
}

Result<uint64_t> LogTail::Poll(const std::function<void(std::string_view)>& on_line, uint64_t max_lines) {
  uint64_t lines = 0;
  std::vector<char> buf(64 * 1024);
  auto drain = [&]() -> Status {
    for (;;) {
      if (lines >= max_lines) return Status::Ok();
      const ssize_t n = ::pread(fd_, buf.data(), buf.size(), static_cast<off_t>(position_.offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError(errno, "cannot read " + path_);
      }
      if (n == 0) return Status::Ok();
      position_.offset += static_cast<uint64_t>(n);
      std::string_view chunk(buf.data(), static_cast<size_t>(n));
      while (!chunk.empty()) {
        const size_t nl = chunk.find('\n');
        if (nl == std::string_view::npos) {
          partial_.append(chunk);
          // A line longer than 64 KiB is cut, not buffered without bound.
          if (partial_.size() > 65536) {
            on_line(partial_);
            ++lines;
            partial_.clear();
          }
          break;
        }
        if (partial_.empty()) {
          on_line(chunk.substr(0, nl));
        } else {
          partial_.append(chunk.substr(0, nl));
          on_line(partial_);
          partial_.clear();
        }
        ++lines;
        chunk.remove_prefix(nl + 1);
      }
    }
  };

  struct stat at_path {};
  const bool exists = ::stat(path_.c_str(), &at_path) == 0;
  if (fd_ >= 0) {
    struct stat open_st {};
    ::fstat(fd_, &open_st);
    if (exists && at_path.st_ino != open_st.st_ino) {
      // Rotated: finish the old file, then start the new one from its beginning.
      RAMPART_RETURN_IF_ERROR(drain());
      ::close(fd_);
      fd_ = -1;
      partial_.clear();
      position_ = {static_cast<uint64_t>(at_path.st_ino), 0};
      restored_ = true;
    } else if (static_cast<uint64_t>(open_st.st_size) < position_.offset) {
      position_.offset = 0;  // Truncated (copytruncate rotation).
      partial_.clear();
    }
  }
  if (fd_ < 0) {
    if (!exists) return ErrnoError(ENOENT, "log file " + path_ + " does not exist");
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd_ < 0) return ErrnoError(errno, "cannot open " + path_);
    struct stat st {};
    ::fstat(fd_, &st);
    if (restored_ && position_.inode == static_cast<uint64_t>(st.st_ino) &&
        position_.offset <= static_cast<uint64_t>(st.st_size)) {
      // Resume where the saved position left off.
    } else if (restored_ && position_.inode == static_cast<uint64_t>(st.st_ino)) {
      position_.offset = 0;
    } else if (restored_) {
      position_ = {static_cast<uint64_t>(st.st_ino), 0};  // Rotated while stopped: read the new file whole.
    } else {
      position_ = {static_cast<uint64_t>(st.st_ino), start_at_end_ ? static_cast<uint64_t>(st.st_size) : 0};
    }
    restored_ = true;
  }
  RAMPART_RETURN_IF_ERROR(drain());
  return lines;
}

}  // namespace rampart::host
