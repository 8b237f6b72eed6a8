// The HTTP parser's heads: start lines, header blocks (as tshark and libhtp
// split them), the lenient response head, framing headers, and the
// classification of a segment's start.

#include "agent/applayer/http.h"

#include <algorithm>
#include <cstring>

#include "agent/applayer/http_internal.h"
#include "agent/applayer/http_lenient.h"

namespace rampart::applayer {

using http_detail::kReqLine;
using http_detail::kReqHeaders;
using http_detail::kRespLine;
using http_detail::kRespHeaders;
using http_detail::EqualsNoCase;
using http_detail::Lower;
using http_detail::StoreLenientHeaders;
using http_detail::StartsWithNoCase;
using http_detail::UrlDecode;
using http_detail::RemoveDotSegments;
using http_detail::ParseUint;

size_t HttpParser::ConsumeHead(int dir, const uint8_t* data, size_t len, std::vector<HttpTx*>* progressed,
                               std::vector<HttpEvent>* events) {
  dir = dir != 0 ? 1 : 0;
  Direction& d = dir_[dir];
  size_t skipped = 0;
  if (d.tx == nullptr) {
    // Blank lines between messages are allowed.
    while (skipped < len && (data[skipped] == '\r' || data[skipped] == '\n')) ++skipped;
    if (skipped == len) return len;
    data += skipped;
    len -= skipped;
    if (txs_.size() >= options_.max_txs) {
      d.state = State::kFailed;
      return skipped + len;
    }
    if (dir == 0) {
      d.tx = NewTx();
      d.tx->has_request = true;
    } else {
      // The oldest transaction still waiting for its response.
      HttpTx* match = nullptr;
      for (auto& t : txs_) {
        if (!t->has_response) {
          match = t.get();
          break;
        }
      }
      if (match == nullptr) match = NewTx();
      match->has_response = true;
      d.tx = match;
    }
    d.line_parsed = false;
  }
  HttpTx* tx = d.tx;
  HttpMessage& m = dir == 0 ? tx->request : tx->response;
  const size_t old = m.head.size();
  m.head.append(reinterpret_cast<const char*>(data), len);
  if (dir == 1) return ConsumeResponseHead(old, skipped, len, progressed, events);

  // The start line, as soon as it is complete.
  if (!d.line_parsed) {
    const size_t nl = m.head.find('\n');
    if (nl == std::string::npos) {
      if (m.head.size() > options_.max_head) {
        events->push_back(dir == 0 ? HttpEvent::kRequestFieldTooLong : HttpEvent::kResponseFieldTooLong);
        AbandonMessage(dir);
        d.state = State::kFailed;
      }
      return skipped + len;
    }
    d.line_parsed = true;
    const bool ok = dir == 0 ? ParseRequestLine(tx) : ParseResponseLine(tx);
    if (!ok) {
      events->push_back(dir == 0 ? HttpEvent::kRequestLineInvalid : HttpEvent::kResponseInvalidProtocol);
      const bool first = dir == 0 ? !d.any_message : false;
      AbandonMessage(dir);
      // Not HTTP after all (first request), or cruft between messages: wait
      // for a segment that starts a message.
      d.state = first ? State::kFailed : State::kResync;
      return skipped + len;
    }
    if (dir == 1) {
      if (!tx->has_request) events->push_back(HttpEvent::kUnableToMatchResponseToRequest);
      if (tx->status == 0) events->push_back(HttpEvent::kResponseInvalidStatus);
    }
    d.any_message = true;
    if (dir == 0) {
      Mark(tx, kReqLine, progressed);
    } else {
      Mark(tx, kRespLine, progressed);
    }
  }

  // The end of the head: a blank line. A request line without a protocol
  // (HTTP/0.9) ends the head unless header lines follow it.
  const size_t search_from = old >= 3 ? old - 3 : 0;
  size_t end = std::string::npos;
  const size_t first_nl = m.head.find('\n');
  if (dir == 0 && tx->Protocol().empty() && first_nl + 1 < m.head.size()) {
    std::string_view next(m.head);
    next.remove_prefix(first_nl + 1);
    const size_t colon = next.find(':');
    const size_t nl2 = next.find('\n');
    bool header_like = colon != std::string_view::npos && (nl2 == std::string_view::npos || colon < nl2) && colon > 0;
    for (size_t k = 0; header_like && k < colon; ++k) {
      const char c = next[k];
      if (c <= 0x20 || c >= 0x7f) header_like = false;
    }
    const bool blank = next[0] == '\n' || (next[0] == '\r' && (next.size() < 2 || next[1] == '\n'));
    // Bytes kept from an earlier call stay in this head (they cannot be
    // handed back): the head ends no earlier than what it already held.
    if (!header_like && !blank) end = std::max(first_nl + 1, old);
  }
  if (end == std::string::npos) {
    for (size_t i = std::max(search_from, first_nl); i < m.head.size(); ++i) {
      if (m.head[i] != '\n') continue;
      if (i + 1 < m.head.size() && m.head[i + 1] == '\n') {
        end = i + 2;
        break;
      }
      if (i + 2 < m.head.size() && m.head[i + 1] == '\r' && m.head[i + 2] == '\n') {
        end = i + 3;
        break;
      }
    }
  }
  if (end == std::string::npos) {
    if (m.head.size() > options_.max_head) {
      events->push_back(dir == 0 ? HttpEvent::kRequestFieldTooLong : HttpEvent::kResponseFieldTooLong);
      FinishMessage(dir, progressed);
      d.state = State::kResync;
    }
    return skipped + len;
  }
  const size_t used = end - old;
  m.head.resize(end);
  if (dir == 0) {
    ParseRequestHeaders(tx, events);
    Mark(tx, kReqHeaders, progressed);
  } else {
    ParseHeaders(&m, first_nl + 1);
    if (tx->status >= 100 && tx->status < 200 && tx->status != 101) {
      // Interim response: wait for the final one on the same transaction.
      tx->response.Clear();
      tx->status = 0;
      d.line_parsed = false;
      return skipped + used;
    }
    Mark(tx, kRespHeaders, progressed);
  }
  StartBody(dir, progressed, events);
  return skipped + used;
}

void http_detail::StoreLenientHeaders(const std::vector<LenientHeader>& headers, HttpMessage* m) {
  m->headers.clear();
  for (const LenientHeader& h : headers) {
    HttpHeaderSpan hs;
    hs.name = HttpSpan{static_cast<uint32_t>(m->derived.size()), static_cast<uint32_t>(h.name.size()), true};
    m->derived.append(h.name);
    hs.value = HttpSpan{static_cast<uint32_t>(m->derived.size()), static_cast<uint32_t>(h.value.size()), true};
    m->derived.append(h.value);
    m->headers.push_back(hs);
  }
}

// The response head, read as libhtp reads it (http_lenient.h): the status
// line ends at CR or LF, the header block by libhtp's grammar.
size_t HttpParser::ConsumeResponseHead(size_t old, size_t skipped, size_t len, std::vector<HttpTx*>* progressed,
                                       std::vector<HttpEvent>* events) {
  Direction& d = dir_[1];
  HttpTx* tx = d.tx;
  HttpMessage& m = tx->response;
  size_t eol_len = 0;
  size_t line_end = ResponseLineEnd(m.head, &eol_len);
  size_t dropped_new = 0;  // Bytes of this call's data dropped with ignored lines.
  while (!d.line_parsed && line_end != std::string::npos && !LooksLikeResponseLine(m.head.substr(0, line_end))) {
    // libhtp: a line that does not start with "http" is dropped when a
    // response seems to follow (the next byte is 'H', or the line is
    // short); otherwise the data is a body without a head.
    const size_t after = line_end + eol_len;
    std::string_view line(m.head.data(), line_end);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (after >= m.head.size() && line.size() > 2) return skipped + len;  // Wait for what follows.
    if (line.size() <= 2 || m.head[after] == 'H') {
      m.head.erase(0, after);
      if (old >= after) {
        old -= after;
      } else {
        dropped_new += after - old;
        old = 0;
      }
      line_end = ResponseLineEnd(m.head, &eol_len);
      continue;
    }
    d.line_parsed = true;
    tx->status = 0;
    Mark(tx, kRespLine, progressed);
    Mark(tx, kRespHeaders, progressed);
    const std::string body = std::move(m.head);
    m.head.clear();
    d.state = State::kBodyClose;
    BodyData(1, reinterpret_cast<const uint8_t*>(body.data()), body.size(), events);
    return skipped + len;
  }
  if (line_end == std::string::npos) {
    if (m.head.size() > options_.max_head) {
      events->push_back(HttpEvent::kResponseFieldTooLong);
      AbandonMessage(1);
      d.state = State::kFailed;
    }
    return skipped + len;
  }
  if (!d.line_parsed) {
    d.line_parsed = true;
    if (!ParseResponseLine(tx)) {
      events->push_back(HttpEvent::kResponseInvalidProtocol);
      AbandonMessage(1);
      d.state = State::kResync;  // Cruft between messages: wait for a segment that starts one.
      return skipped + len;
    }
    if (!tx->has_request) events->push_back(HttpEvent::kUnableToMatchResponseToRequest);
    if (tx->status == 0) events->push_back(HttpEvent::kResponseInvalidStatus);
    d.any_message = true;
    Mark(tx, kRespLine, progressed);
  }
  const size_t block = line_end + eol_len;
  std::vector<LenientHeader> headers;
  size_t consumed = 0;
  const HeadResult r = ParseResponseHeaders(std::string_view(m.head).substr(block), &headers, &consumed);
  if (r == HeadResult::kNeedMore) {
    if (m.head.size() > options_.max_head) {
      events->push_back(HttpEvent::kResponseFieldTooLong);
      FinishMessage(1, progressed);
      d.state = State::kResync;
    }
    return skipped + len;
  }
  if (r == HeadResult::kError) {
    events->push_back(HttpEvent::kResponseHeaderInvalid);
    AbandonMessage(1);
    d.state = State::kResync;
    return skipped + len;
  }
  const size_t end = block + consumed;
  // Bytes an earlier call kept in the head beyond its end are body bytes.
  std::string early_body;
  if (end < old) early_body = m.head.substr(end, old - end);
  const size_t used = (end >= old ? end - old : 0) + dropped_new;
  m.head.resize(end);
  StoreLenientHeaders(headers, &m);
  if (tx->status == 100) {
    // 100 Continue is interim unless it announces a body (libhtp).
    uint64_t cl = 0;
    bool has_cl = false;
    const std::string v = FramingHeader(m, "content-length", false, &has_cl);
    if (!(has_cl && ParseLenientContentLength(v, &cl) && cl > 0)) {
      tx->response.Clear();
      tx->status = 0;
      d.line_parsed = false;
      return skipped + used;
    }
  }
  Mark(tx, kRespHeaders, progressed);
  StartBody(1, progressed, events);
  if (!early_body.empty()) {
    FeedDir(1, reinterpret_cast<const uint8_t*>(early_body.data()), early_body.size(), progressed, events);
  }
  return skipped + used;
}

// A header that decides how a response body is framed or coded, found as
// libhtp finds it: names compared without case and without NUL bytes;
// repeated ones joined with ", " (`join`) or the first one.
std::string HttpParser::FramingHeader(const HttpMessage& m, std::string_view name, bool join, bool* found) {
  std::string out;
  *found = false;
  for (const HttpHeaderSpan& h : m.headers) {
    if (!EqualsNoCaseNoZero(m.View(h.name), name)) continue;
    if (*found) {
      if (!join) break;
      out.append(", ");
    }
    *found = true;
    out.append(m.View(h.value));
  }
  return out;
}

HttpStart ClassifyHttpStart(const uint8_t* data, size_t n) {
  if (n == 0) return HttpStart::kNeedMore;
  const std::string_view s(reinterpret_cast<const char*>(data), std::min<size_t>(n, 1024));
  constexpr std::string_view kHttp = "HTTP/";
  if (s.size() >= 6 && s.compare(0, 5, kHttp) == 0) return s[5] >= '0' && s[5] <= '9' ? HttpStart::kResponse : HttpStart::kNo;
  // The method: up to the first blank or end of line.
  size_t i = 0;
  while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') {
    const char c = s[i];
    if (c <= 0x20 || c >= 0x7f) return HttpStart::kNo;
    ++i;
  }
  if (i == s.size()) {
    // No delimiter yet: a prefix of a method or of "HTTP/" may still become one.
    if (i < 20 && (kHttp.starts_with(s) || IsKnownMethodPrefix(s))) return HttpStart::kNeedMore;
    return HttpStart::kNo;
  }
  const std::string_view method = s.substr(0, i);
  if (IsKnownMethod(method)) return HttpStart::kRequest;
  // An unknown method counts when the line ends in an HTTP version.
  if (i > 32 || s[i] == '\r' || s[i] == '\n') return HttpStart::kNo;
  const size_t eol = s.find('\n');
  if (eol == std::string_view::npos) return s.size() < 1024 ? HttpStart::kNeedMore : HttpStart::kNo;
  std::string_view line = s.substr(0, eol);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const size_t v = line.rfind(" HTTP/");
  if (v != std::string_view::npos && v > i && v + 6 < line.size() && line[v + 6] >= '0' && line[v + 6] <= '9') {
    return HttpStart::kRequest;
  }
  return HttpStart::kNo;
}

bool HttpParser::ParseRequestLine(HttpTx* tx) {
  HttpMessage& m = tx->request;
  const std::string& h = m.head;
  size_t eol = h.find('\n');
  if (eol == std::string::npos) eol = h.size();
  size_t line_end = eol;
  if (line_end > 0 && h[line_end - 1] == '\r') --line_end;
  m.start_line = HttpSpan{0, static_cast<uint32_t>(line_end), false};
  // METHOD [SP URI [SP PROTOCOL]], as tshark and libhtp split it: the URI is
  // the second word, the protocol what follows.
  size_t i = 0;
  while (i < line_end && h[i] != ' ' && h[i] != '\t') ++i;
  m.f1 = HttpSpan{0, static_cast<uint32_t>(i), false};
  while (i < line_end && (h[i] == ' ' || h[i] == '\t')) ++i;
  const size_t ub = i;
  while (i < line_end && h[i] != ' ' && h[i] != '\t') ++i;
  m.f2 = HttpSpan{static_cast<uint32_t>(ub), static_cast<uint32_t>(i - ub), false};
  while (i < line_end && (h[i] == ' ' || h[i] == '\t')) ++i;
  size_t pe = line_end;
  while (pe > i && (h[pe - 1] == ' ' || h[pe - 1] == '\t')) --pe;
  m.f3 = HttpSpan{static_cast<uint32_t>(i), static_cast<uint32_t>(pe - i), false};
  if (m.f1.len == 0) return false;
  for (size_t k = 0; k < m.f1.len; ++k) {
    const char c = h[k];
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  const std::string_view method = m.View(m.f1);
  const std::string_view proto = m.View(m.f3);
  // A known method, or any token with a proper HTTP version.
  if (IsKnownMethod(method)) return true;
  return proto.size() >= 6 && proto.starts_with("HTTP/") && proto[5] >= '0' && proto[5] <= '9';
}

bool HttpParser::ParseResponseLine(HttpTx* tx) {
  HttpMessage& m = tx->response;
  const std::string& h = m.head;
  // The line ends at the first CR or LF, as libhtp reads responses.
  size_t eol_len = 0;
  size_t line_end = ResponseLineEnd(h, &eol_len);
  if (line_end == std::string::npos) line_end = h.size();
  m.start_line = HttpSpan{0, static_cast<uint32_t>(line_end), false};
  if (!LooksLikeResponseLine(std::string_view(h).substr(0, line_end))) return false;
  size_t i = 0;
  while (i < line_end && (h[i] == ' ' || h[i] == '\t' || h[i] == '\0')) ++i;
  const size_t pb = i;
  while (i < line_end && h[i] != ' ' && h[i] != '\t') ++i;
  m.f1 = HttpSpan{static_cast<uint32_t>(pb), static_cast<uint32_t>(i - pb), false};
  while (i < line_end && (h[i] == ' ' || h[i] == '\t')) ++i;
  const size_t sb = i;
  while (i < line_end && h[i] != ' ' && h[i] != '\t') ++i;
  m.f2 = HttpSpan{static_cast<uint32_t>(sb), static_cast<uint32_t>(i - sb), false};
  while (i < line_end && (h[i] == ' ' || h[i] == '\t')) ++i;
  m.f3 = HttpSpan{static_cast<uint32_t>(i), static_cast<uint32_t>(line_end - i), false};
  uint64_t status = 0;
  if (!ParseUint(m.View(m.f2), &status) || status < 100 || status > 999) status = 0;
  tx->status = static_cast<uint16_t>(status);
  return true;
}

void HttpParser::ParseRequestHeaders(HttpTx* tx, std::vector<HttpEvent>* events) {
  HttpMessage& m = tx->request;
  const std::string& h = m.head;
  const size_t eol = h.find('\n');
  ParseHeaders(&m, eol == std::string::npos ? h.size() : eol + 1);

  // Normalised URI, as Suricata builds http.uri from libhtp's parsed URI:
  // the path percent-decoded with dot segments removed, then the query
  // URL-decoded ("+" is a space, an invalid escape keeps its "%"), then the
  // fragment percent-decoded.
  std::string_view uri = m.View(m.f2);
  std::string_view authority;
  if (uri.size() > 7 && (EqualsNoCase(uri.substr(0, 7), "http://") ||
                         (uri.size() > 8 && EqualsNoCase(uri.substr(0, 8), "https://")))) {
    const size_t scheme_end = uri.find("://") + 3;
    size_t path_start = uri.find('/', scheme_end);
    if (path_start == std::string_view::npos) path_start = uri.size();
    authority = uri.substr(scheme_end, path_start - scheme_end);
    uri = uri.substr(path_start);
  }
  const size_t hash = uri.find('#');
  const std::string_view fragment = hash == std::string_view::npos ? std::string_view() : uri.substr(hash + 1);
  uri = uri.substr(0, hash);
  const size_t q = uri.find('?');
  std::string norm = RemoveDotSegments(UrlDecode(uri.substr(0, q), false));
  if (q != std::string_view::npos) {
    norm.push_back('?');
    norm.append(UrlDecode(uri.substr(q + 1), true));
  }
  if (hash != std::string_view::npos) {
    norm.push_back('#');
    norm.append(UrlDecode(fragment, false));
  }
  tx->uri_normalized = HttpSpan{static_cast<uint32_t>(m.derived.size()), static_cast<uint32_t>(norm.size()), true};
  m.derived.append(norm);

  // Authorization: libhtp knows Basic, Digest and Bearer (by prefix, any case).
  bool has_auth = false;
  const std::string_view auth = m.Header("Authorization", &has_auth);
  if (has_auth && !StartsWithNoCase(auth, "basic") && !StartsWithNoCase(auth, "digest") &&
      !StartsWithNoCase(auth, "bearer")) {
    Raise(tx, HttpEvent::kRequestAuthUnrecognized, events);
  }

  // Host: the Host header, else the host of an absolute URI; lower-case, port split off.
  bool found = false;
  std::string_view host = m.Header("Host", &found);
  if (!found) host = authority;
  const size_t at = host.rfind('@');
  if (at != std::string_view::npos) host.remove_prefix(at + 1);
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close != std::string_view::npos) {
      if (close + 1 < host.size() && host[close + 1] == ':') port = host.substr(close + 2);
      host = host.substr(0, close + 1);
    }
  } else {
    const size_t colon = host.rfind(':');
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
    }
  }
  uint64_t pv = 0;
  if (!port.empty() && ParseUint(port, &pv) && pv <= 65535) tx->host_port = static_cast<int32_t>(pv);
  // A folded Host value lives in `derived` itself: copy before appending to it.
  const std::string host_copy(host);
  tx->host = HttpSpan{static_cast<uint32_t>(m.derived.size()), static_cast<uint32_t>(host_copy.size()), true};
  for (char c : host_copy) m.derived.push_back(Lower(c));
  if (!found && authority.empty() && m.View(m.f3) == "HTTP/1.1") Raise(tx, HttpEvent::kMissingHostHeader, events);
}

void HttpParser::ParseHeaders(HttpMessage* m, size_t from) {
  const std::string& h = m->head;
  size_t pos = from;
  while (pos < h.size()) {
    size_t eol = h.find('\n', pos);
    if (eol == std::string::npos) eol = h.size();
    size_t le = eol;
    if (le > pos && h[le - 1] == '\r') --le;
    if (le == pos) break;  // The blank line.
    if ((h[pos] == ' ' || h[pos] == '\t') && !m->headers.empty()) {
      // Folded continuation: join to the previous value with one space.
      HttpHeaderSpan& prev = m->headers.back();
      size_t b = pos;
      while (b < le && (h[b] == ' ' || h[b] == '\t')) ++b;
      std::string joined(m->View(prev.value));
      if (b < le) {
        joined.push_back(' ');
        joined.append(h, b, le - b);
      }
      prev.value = HttpSpan{static_cast<uint32_t>(m->derived.size()), static_cast<uint32_t>(joined.size()), true};
      m->derived.append(joined);
    } else {
      const size_t colon = h.find(':', pos);
      HttpHeaderSpan hs;
      if (colon == std::string::npos || colon >= le) {
        hs.name = HttpSpan{static_cast<uint32_t>(pos), static_cast<uint32_t>(le - pos), false};
        hs.value = HttpSpan{static_cast<uint32_t>(le), 0, false};
      } else {
        size_t ne = colon;
        while (ne > pos && (h[ne - 1] == ' ' || h[ne - 1] == '\t')) --ne;
        size_t vb = colon + 1;
        while (vb < le && (h[vb] == ' ' || h[vb] == '\t')) ++vb;
        size_t ve = le;
        while (ve > vb && (h[ve - 1] == ' ' || h[ve - 1] == '\t')) --ve;
        hs.name = HttpSpan{static_cast<uint32_t>(pos), static_cast<uint32_t>(ne - pos), false};
        hs.value = HttpSpan{static_cast<uint32_t>(vb), static_cast<uint32_t>(ve - vb), false};
      }
      m->headers.push_back(hs);
    }
    pos = eol + 1;
  }
}

}  // namespace rampart::applayer
