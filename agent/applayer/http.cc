#include "agent/applayer/http.h"

#include <algorithm>
#include <cstring>

namespace rampart::applayer {
namespace {

// sensor::kHttp* progress bits (kept equal; the sensor static_asserts).
constexpr uint8_t kReqLine = 1 << 0, kReqHeaders = 1 << 1, kReqDone = 1 << 2;
constexpr uint8_t kRespLine = 1 << 3, kRespHeaders = 1 << 4, kRespDone = 1 << 5;

inline char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool ContainsTokenNoCase(std::string_view value, std::string_view token) {
  // Comma-separated list membership ("gzip, chunked").
  size_t i = 0;
  while (i <= value.size()) {
    size_t j = value.find(',', i);
    if (j == std::string_view::npos) j = value.size();
    std::string_view item = value.substr(i, j - i);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    const size_t semi = item.find(';');
    if (semi != std::string_view::npos) item = item.substr(0, semi);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (EqualsNoCase(item, token)) return true;
    i = j + 1;
  }
  return false;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsNoCase(s.substr(0, prefix.size()), prefix);
}

// libhtp's URL decoding with Suricata's settings: "%HH" becomes the byte;
// an escape without two hex digits keeps its "%" and the bytes after it are
// read as they are; "+" becomes a space in a query (`plus_space`).
std::string UrlDecode(std::string_view in, bool plus_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t k = 0; k < in.size(); ++k) {
    const char c = in[k];
    if (c == '%' && k + 2 < in.size() && HexValue(in[k + 1]) >= 0 && HexValue(in[k + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[k + 1]) * 16 + HexValue(in[k + 2])));
      k += 2;
    } else if (c == '+' && plus_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// RFC 3986 5.2.4 remove_dot_segments, applied to a decoded path.
std::string RemoveDotSegments(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.remove_prefix(3);
    } else if (in.starts_with("./")) {
      in.remove_prefix(2);
    } else if (in.starts_with("/./")) {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../") || in == "/..") {
      in = in.size() == 3 ? std::string_view("/") : in.substr(3);
      const size_t slash = out.rfind('/');
      out.resize(slash == std::string::npos ? 0 : slash);
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      size_t next = in.find('/', in.front() == '/' ? 1 : 0);
      if (next == std::string_view::npos) next = in.size();
      out.append(in.substr(0, next));
      in.remove_prefix(next);
    }
  }
  return out;
}

bool ParseUint(std::string_view s, uint64_t* out) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (s.empty() || s.size() > 18) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

// The request methods tshark recognises (packet-http.c), WebDAV, CalDAV and SSDP included.
constexpr std::string_view kKnownMethods[] = {
    "GET", "PUT", "ACL", "POST", "HEAD", "LOCK", "MOVE", "COPY", "POLL", "BIND", "LINK", "BCOPY", "BMOVE",
    "MKCOL", "TRACE", "PATCH", "LABEL", "MERGE", "DELETE", "SEARCH", "UNLOCK", "REPORT", "UPDATE", "NOTIFY",
    "REBIND", "UNBIND", "UNLINK", "BDELETE", "CONNECT", "OPTIONS", "CHECKIN", "PROPFIND", "CHECKOUT", "CCM_POST",
    "M-SEARCH", "SUBSCRIBE", "PROPPATCH", "BPROPFIND", "BPROPPATCH", "UNCHECKOUT", "MKACTIVITY", "MKCALENDAR",
    "ORDERPATCH", "MKWORKSPACE", "UNSUBSCRIBE", "RPC_CONNECT", "MKREDIRECTREF", "VERSION-CONTROL",
    "BASELINE-CONTROL", "UPDATEREDIRECTREF", "RPC_IN_DATA", "RPC_OUT_DATA",
};

}  // namespace

bool IsKnownMethod(std::string_view method) {
  for (std::string_view m : kKnownMethods) {
    if (m == method) return true;
  }
  return false;
}

bool IsKnownMethodPrefix(std::string_view prefix) {
  for (std::string_view m : kKnownMethods) {
    if (m.starts_with(prefix)) return true;
  }
  return false;
}

const char* HttpEventName(HttpEvent e) {
  switch (e) {
    case HttpEvent::kRequestLineInvalid: return "http.request_line_invalid";
    case HttpEvent::kResponseInvalidProtocol: return "http.response_invalid_protocol";
    case HttpEvent::kRequestFieldTooLong: return "http.request_field_too_long";
    case HttpEvent::kResponseFieldTooLong: return "http.response_field_too_long";
    case HttpEvent::kInvalidRequestChunkLen: return "http.invalid_request_chunk_len";
    case HttpEvent::kInvalidResponseChunkLen: return "http.invalid_response_chunk_len";
    case HttpEvent::kInvalidContentLengthRequest: return "http.invalid_content_length_field_in_request";
    case HttpEvent::kInvalidContentLengthResponse: return "http.invalid_content_length_field_in_response";
    case HttpEvent::kRequestHeaderInvalid: return "http.request_header_invalid";
    case HttpEvent::kResponseHeaderInvalid: return "http.response_header_invalid";
    case HttpEvent::kGzipDecompressionFailed: return "http.gzip_decompression_failed";
    case HttpEvent::kUnableToMatchResponseToRequest: return "http.unable_to_match_response_to_request";
    case HttpEvent::kMissingHostHeader: return "http.missing_host_header";
    case HttpEvent::kResponseInvalidStatus: return "http.response_invalid_status";
    case HttpEvent::kRequestAuthUnrecognized: return "http.request_auth_unrecognized";
    case HttpEvent::kTooManyEncodingLayers: return "http.too_many_encoding_layers";
    case HttpEvent::kCount: break;
  }
  return "http.unknown_error";
}

std::string_view HttpMessage::Header(std::string_view name, bool* found) const {
  for (const HttpHeaderSpan& h : headers) {
    if (EqualsNoCase(View(h.name), name)) {
      if (found) *found = true;
      return View(h.value);
    }
  }
  if (found) *found = false;
  return {};
}

void HttpMessage::Clear() {
  head.clear();
  derived.clear();
  start_line = f1 = f2 = f3 = HttpSpan{};
  headers.clear();
  body.clear();
  body_reported = 0;
  body_length = 0;
  wire_body_length = 0;
}

void HttpTx::Clear() {
  id = 0;
  progress = progressed = 0;
  has_request = has_response = logged = false;
  status = 0;
  events = 0;
  request.Clear();
  response.Clear();
  uri_normalized = host = HttpSpan{};
  host_port = -1;
}

HttpParser::~HttpParser() {
  EndDecompressor(dir_[0]);
  EndDecompressor(dir_[1]);
}

HttpTx* HttpParser::NewTx() {
  std::unique_ptr<HttpTx> tx;
  if (!spare_.empty()) {
    tx = std::move(spare_.back());
    spare_.pop_back();
    tx->Clear();
  } else {
    tx = std::make_unique<HttpTx>();
  }
  tx->id = next_id_++;
  txs_.push_back(std::move(tx));
  return txs_.back().get();
}

void HttpParser::Prune() {
  while (!txs_.empty()) {
    HttpTx* t = txs_.front().get();
    if (!t->logged || t == dir_[0].tx || t == dir_[1].tx) break;
    if (spare_.empty()) spare_.push_back(std::move(txs_.front()));
    txs_.pop_front();
  }
}

void HttpParser::Mark(HttpTx* tx, uint8_t bits, std::vector<HttpTx*>* progressed) {
  if ((tx->progress & bits) == bits) return;
  if (tx->progressed == 0 && std::find(progressed->begin(), progressed->end(), tx) == progressed->end()) {
    progressed->push_back(tx);
  }
  tx->progress |= bits;
  tx->progressed |= bits;
}

void HttpParser::Raise(HttpTx* tx, HttpEvent e, std::vector<HttpEvent>* events) {
  events->push_back(e);
  if (tx != nullptr) tx->events |= 1u << static_cast<unsigned>(e);
}

void HttpParser::EndDecompressor(Direction& d) {
  d.decoder.reset();
}

void HttpParser::Feed(int dir, const uint8_t* data, size_t len, bool gap, std::vector<HttpTx*>* progressed,
                      std::vector<HttpEvent>* events) {
  Direction& d = dir_[dir];
  if (gap && d.state != State::kFailed && d.state != State::kTunnel && d.state != State::kBodyClose) {
    // Bytes are missing: end the message in progress as it is and pick up
    // again where a segment starts a new message.
    if (d.tx != nullptr) {
      if (d.line_parsed) {
        FinishMessage(dir, progressed);
      } else {
        AbandonMessage(dir);
      }
    }
    d.state = State::kResync;
  }
  FeedDir(dir, data, len, progressed, events);
}

void HttpParser::FeedDir(int dir, const uint8_t* data, size_t len, std::vector<HttpTx*>* progressed,
                         std::vector<HttpEvent>* events) {
  Direction& d = dir_[dir];
  while (len > 0) {
    switch (d.state) {
      case State::kFailed:
      case State::kTunnel:
        return;
      case State::kResync: {
        // Only a segment that starts with a message start line resumes parsing.
        const HttpStart st = ClassifyHttpStart(data, len);
        if ((dir == 0 && st == HttpStart::kRequest) || (dir == 1 && st == HttpStart::kResponse)) {
          d.state = State::kHead;
          break;
        }
        return;
      }
      case State::kHead: {
        const size_t used = ConsumeHead(dir, data, len, progressed, events);
        data += used;
        len -= used;
        break;
      }
      case State::kBodyLength: {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(d.remaining, len));
        BodyData(dir, data, take, events);
        d.remaining -= take;
        data += take;
        len -= take;
        if (d.remaining == 0) {
          if (dir == 1) {
            // libhtp: lines after the announced length that do not start a
            // response are more of this body (browsers read them so).
            while (len > 0) {
              const void* nl = std::memchr(data, '\n', len);
              const size_t line = nl ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - data) + 1 : len;
              const std::string_view text(reinterpret_cast<const char*>(data), line);
              if (LooksLikeResponseLine(text) || text.find_first_not_of(" \t\r\n\v\f") == std::string_view::npos ||
                  (!nl && text.size() < 8)) {
                break;
              }
              BodyData(dir, data, line, events);
              data += line;
              len -= line;
            }
          }
          FinishMessage(dir, progressed);
        }
        break;
      }
      case State::kBodyClose:
        BodyData(dir, data, len, events);
        len = 0;
        break;
      case State::kChunkSize:
      case State::kTrailers: {
        // Collect one line.
        const void* nl = std::memchr(data, '\n', len);
        const size_t take = nl ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - data) + 1 : len;
        if (d.line.size() + take > 8192) {
          events->push_back(dir == 0 ? HttpEvent::kInvalidRequestChunkLen : HttpEvent::kInvalidResponseChunkLen);
          d.state = State::kFailed;
          return;
        }
        d.line.append(reinterpret_cast<const char*>(data), take);
        data += take;
        len -= take;
        if (dir == 1 && d.state == State::kChunkSize) {
          // libhtp: control characters around the size are skipped; a line
          // that is no size makes the rest of the response a body that
          // runs to the end of the connection, this line included.
          const ChunkLine cl = nl ? ParseChunkLine(d.line) : ChunkLine{};
          if ((!nl && !MayBeChunkLine(d.line)) || (nl && cl.kind == ChunkLine::Kind::kInvalid)) {
            events->push_back(HttpEvent::kInvalidResponseChunkLen);
            const std::string body = std::move(d.line);
            d.line.clear();
            d.state = State::kBodyClose;
            BodyData(dir, reinterpret_cast<const uint8_t*>(body.data()), body.size(), events);
            break;
          }
          if (!nl) break;
          d.line.clear();
          if (cl.kind == ChunkLine::Kind::kSkip) break;
          if (cl.length == 0) {
            d.state = State::kTrailers;
          } else {
            d.remaining = cl.length;
            d.state = State::kChunkData;
          }
          break;
        }
        if (!nl) break;
        std::string_view line(d.line);
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
        if (d.state == State::kTrailers) {
          if (line.empty()) FinishMessage(dir, progressed);
          d.line.clear();
          break;
        }
        // chunk-size [; extensions]
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
        if (line.empty()) {
          d.line.clear();  // Tolerate a blank line before the size.
          break;
        }
        uint64_t size = 0;
        size_t i = 0;
        for (; i < line.size() && HexValue(line[i]) >= 0 && i < 16; ++i) size = size * 16 + static_cast<uint64_t>(HexValue(line[i]));
        if (i == 0) {
          events->push_back(dir == 0 ? HttpEvent::kInvalidRequestChunkLen : HttpEvent::kInvalidResponseChunkLen);
          d.state = State::kFailed;
          return;
        }
        d.line.clear();
        if (size == 0) {
          d.state = State::kTrailers;
        } else {
          d.remaining = size;
          d.state = State::kChunkData;
        }
        break;
      }
      case State::kChunkData: {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(d.remaining, len));
        BodyData(dir, data, take, events);
        d.remaining -= take;
        data += take;
        len -= take;
        if (d.remaining == 0) d.state = State::kChunkDataEnd;
        break;
      }
      case State::kChunkDataEnd: {
        if (dir == 1) {
          // libhtp skips whatever precedes the next LF.
          const void* nl = std::memchr(data, '\n', len);
          const size_t take = nl ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - data) + 1 : len;
          data += take;
          len -= take;
          if (nl) d.state = State::kChunkSize;
          break;
        }
        // The CRLF after a chunk's data.
        if (data[0] == '\r') {
          ++data;
          --len;
          break;
        }
        if (data[0] == '\n') {
          ++data;
          --len;
        }
        d.state = State::kChunkSize;
        break;
      }
    }
  }
}

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

// Headers the lenient parser read: names and values go to the derived
// buffer, as normalised values do, replacing any headers kept before.
static void StoreLenientHeaders(const std::vector<LenientHeader>& headers, HttpMessage* m) {
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

void HttpParser::AbandonMessage(int dir) {
  dir = dir != 0 ? 1 : 0;
  Direction& d = dir_[dir];
  HttpTx* tx = d.tx;
  d.tx = nullptr;
  d.line_parsed = false;
  EndDecompressor(d);
  if (tx == nullptr) return;
  if (dir == 0) {
    // Drop the request just started (it is the newest transaction).
    if (!tx->has_response && !txs_.empty() && txs_.back().get() == tx) {
      txs_.pop_back();
      --next_id_;
    } else {
      tx->has_request = false;
      tx->request.Clear();
      tx->progress &= static_cast<uint8_t>(~(kReqLine | kReqHeaders | kReqDone));
    }
  } else {
    tx->has_response = false;
    tx->response.Clear();
    tx->status = 0;
    if (!tx->has_request && !txs_.empty() && txs_.back().get() == tx && tx->progress == 0) {
      txs_.pop_back();
      --next_id_;
    }
  }
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

void HttpParser::StartBody(int dir, std::vector<HttpTx*>* progressed, std::vector<HttpEvent>* events) {
  Direction& d = dir_[dir];
  HttpTx* tx = d.tx;
  HttpMessage& m = dir == 0 ? tx->request : tx->response;
  EndDecompressor(d);
  if (dir == 1) {
    const uint16_t st = tx->status;
    if (st == 101 || (EqualsNoCase(tx->Method(), "CONNECT") && st >= 200 && st < 300)) {
      // The connection now carries another protocol.
      Mark(tx, kRespDone, progressed);
      d.tx = nullptr;
      d.state = State::kTunnel;
      dir_[0].state = State::kTunnel;
      return;
    }
    bool has_te = false, has_cl = false;
    const std::string te = FramingHeader(m, "transfer-encoding", true, &has_te);
    const std::string cl = FramingHeader(m, "content-length", false, &has_cl);
    // No body after HEAD; none after 1xx, 204 and 304 unless the headers
    // announce one (browsers read it, and so does libhtp).
    if (EqualsNoCase(tx->Method(), "HEAD") ||
        ((st == 204 || st == 304 || (st >= 100 && st < 200)) && !has_te && !has_cl)) {
      FinishMessage(dir, progressed);
      return;
    }
    bool has_ce = false;
    const std::string ce = FramingHeader(m, "content-encoding", true, &has_ce);
    if (has_ce && ContentEncodingLayers(ce) > options_.max_decode_layers) {
      Raise(tx, HttpEvent::kTooManyEncodingLayers, events);  // libhtp decodes the first ones only.
    }
    if (has_ce && options_.body_limit > 0) d.decoder = BodyDecoder::FromContentEncoding(ce, options_.max_decode_layers);
    if (has_te && ContainsNoCaseNoZero(te, "chunked")) {
      d.state = State::kChunkSize;
      d.line.clear();
      return;
    }
    if (has_cl) {
      uint64_t n = 0;
      if (!ParseLenientContentLength(cl, &n)) {
        events->push_back(HttpEvent::kInvalidContentLengthResponse);
        d.state = State::kBodyClose;
        return;
      }
      if (n == 0) {
        FinishMessage(dir, progressed);
        return;
      }
      d.remaining = n;
      d.state = State::kBodyLength;
      return;
    }
    d.state = State::kBodyClose;
    return;
  } else if (tx->Protocol().empty()) {
    FinishMessage(dir, progressed);  // HTTP/0.9: no headers, no body.
    return;
  }
  // Decoder for a coded body, only when bodies are kept (a body that is
  // not coded after all passes through).
  if (options_.body_limit > 0) {
    bool has_ce = false;
    const std::string ce = FramingHeader(m, "content-encoding", true, &has_ce);
    if (has_ce) d.decoder = BodyDecoder::FromContentEncoding(ce, options_.max_decode_layers);
  }
  const std::string_view te = m.Header("Transfer-Encoding");
  if (ContainsTokenNoCase(te, "chunked")) {
    d.state = State::kChunkSize;
    d.line.clear();
    return;
  }
  bool has_cl = false;
  const std::string_view cl = m.Header("Content-Length", &has_cl);
  if (has_cl) {
    uint64_t n = 0;
    if (!ParseUint(cl, &n)) {
      events->push_back(dir == 0 ? HttpEvent::kInvalidContentLengthRequest : HttpEvent::kInvalidContentLengthResponse);
      if (dir == 0) {
        FinishMessage(dir, progressed);
        return;
      }
      d.state = State::kBodyClose;
      return;
    }
    if (n == 0) {
      FinishMessage(dir, progressed);
      return;
    }
    d.remaining = n;
    d.state = State::kBodyLength;
    return;
  }
  if (dir == 0) {
    FinishMessage(dir, progressed);  // A request without length has no body.
    return;
  }
  d.state = State::kBodyClose;
}

void HttpParser::BodyData(int dir, const uint8_t* data, size_t len, std::vector<HttpEvent>* events) {
  Direction& d = dir_[dir];
  if (d.tx == nullptr || len == 0) return;
  HttpMessage& m = dir == 0 ? d.tx->request : d.tx->response;
  m.wire_body_length += len;
  if (options_.body_limit == 0) {
    m.body_length += len;
    return;
  }
  if (d.decoder != nullptr) {
    if (m.body.size() >= options_.body_limit) return;
    const bool failed_before = d.decoder->any_failed();
    m.body_length += d.decoder->Feed(data, len, &m.body, options_.body_limit - m.body.size());
    if (!failed_before && d.decoder->any_failed()) Raise(d.tx, HttpEvent::kGzipDecompressionFailed, events);
    return;
  }
  m.body_length += len;
  if (m.body.size() < options_.body_limit) {
    m.body.append(reinterpret_cast<const char*>(data), std::min(len, options_.body_limit - m.body.size()));
  }
}

void HttpParser::FinishMessage(int dir, std::vector<HttpTx*>* progressed) {
  Direction& d = dir_[dir];
  if (d.decoder != nullptr && d.tx != nullptr) {
    // Output a layer still holds (a stream cut short) belongs to the body.
    HttpMessage& m = dir == 0 ? d.tx->request : d.tx->response;
    const size_t room = m.body.size() < options_.body_limit ? options_.body_limit - m.body.size() : 0;
    m.body_length += d.decoder->Finish(&m.body, room);
  }
  EndDecompressor(d);
  if (d.tx != nullptr) Mark(d.tx, dir == 0 ? kReqDone : kRespDone, progressed);
  d.tx = nullptr;
  d.state = State::kHead;
  d.line.clear();
}

void HttpParser::EndOfDatagram(int dir, std::vector<HttpTx*>* progressed) {
  Direction& d = dir_[dir != 0 ? 1 : 0];
  if (d.tx == nullptr) return;
  if (d.line_parsed && (d.state == State::kBodyClose || d.state == State::kHead)) {
    FinishMessage(dir != 0 ? 1 : 0, progressed);
  } else {
    AbandonMessage(dir);
    d.state = State::kHead;
  }
}

void HttpParser::Close(std::vector<HttpTx*>* progressed) {
  // A message whose start line never completed is dropped.
  for (int dir = 0; dir < 2; ++dir) {
    if (dir_[dir].tx != nullptr && !dir_[dir].line_parsed) AbandonMessage(dir);
  }
  if (dir_[1].tx != nullptr && dir_[1].state == State::kHead && dir_[1].line_parsed) CloseResponseHead(progressed);
  for (int dir = 0; dir < 2; ++dir) {
    Direction& d = dir_[dir];
    if (d.tx == nullptr) continue;
    // A body until close ends here; so does a head that was cut short (an
    // HTTP/0.9 request line with nothing after it).
    if (d.state == State::kBodyClose || d.state == State::kHead) FinishMessage(dir, progressed);
  }
}

void HttpParser::CloseResponseHead(std::vector<HttpTx*>* progressed) {
  // libhtp takes the header lines received so far as the header block when
  // the connection closes before the blank line.
  HttpTx* tx = dir_[1].tx;
  HttpMessage& m = tx->response;
  if (tx->progress & kRespHeaders) return;
  size_t eol_len = 0;
  const size_t line_end = ResponseLineEnd(m.head, &eol_len);
  if (line_end == std::string::npos) return;
  std::string block = m.head.substr(line_end + eol_len);
  if (!block.empty() && block.back() == '\n') {
    block.append("\r\n");
  } else {
    block.append("\r\n\r\n");
  }
  std::vector<LenientHeader> headers;
  size_t consumed = 0;
  if (ParseResponseHeaders(block, &headers, &consumed) != HeadResult::kDone) return;
  StoreLenientHeaders(headers, &m);
  Mark(tx, kRespHeaders, progressed);
}

}  // namespace rampart::applayer
