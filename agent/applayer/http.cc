#include "agent/applayer/http.h"

#include <algorithm>
#include <cstring>

#include "agent/applayer/http_internal.h"

namespace rampart::applayer {
namespace http_detail {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

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

}  // namespace http_detail

using http_detail::kReqLine;
using http_detail::kReqHeaders;
using http_detail::kReqDone;
using http_detail::kRespHeaders;
using http_detail::kRespDone;
using http_detail::EqualsNoCase;
using http_detail::ContainsTokenNoCase;
using http_detail::StoreLenientHeaders;
using http_detail::HexValue;
using http_detail::ParseUint;

namespace {

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
        const size_t used = ConsumeChunkLine(dir, data, len, progressed, events);
        data += used;
        len -= used;
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

// One line of a chunked body in direction `dir` (a chunk size, or a
// trailer): collected across segments, then acted on. Returns the bytes of
// `data` used; on an invalid line the direction fails (kFailed).
size_t HttpParser::ConsumeChunkLine(int dir, const uint8_t* data, size_t len, std::vector<HttpTx*>* progressed,
                                    std::vector<HttpEvent>* events) {
  Direction& d = dir_[dir];
  // Collect one line.
  const void* nl = std::memchr(data, '\n', len);
  const size_t take = nl ? static_cast<size_t>(static_cast<const uint8_t*>(nl) - data) + 1 : len;
  if (d.line.size() + take > 8192) {
    events->push_back(dir == 0 ? HttpEvent::kInvalidRequestChunkLen : HttpEvent::kInvalidResponseChunkLen);
    d.state = State::kFailed;
    return 0;
  }
  d.line.append(reinterpret_cast<const char*>(data), take);
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
      return take;
    }
    if (!nl) return take;
    d.line.clear();
    if (cl.kind == ChunkLine::Kind::kSkip) return take;
    if (cl.length == 0) {
      d.state = State::kTrailers;
    } else {
      d.remaining = cl.length;
      d.state = State::kChunkData;
    }
    return take;
  }
  if (!nl) return take;
  std::string_view line(d.line);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (d.state == State::kTrailers) {
    if (line.empty()) FinishMessage(dir, progressed);
    d.line.clear();
    return take;
  }
  // chunk-size [; extensions]
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  if (line.empty()) {
    d.line.clear();  // Tolerate a blank line before the size.
    return take;
  }
  uint64_t size = 0;
  size_t i = 0;
  for (; i < line.size() && HexValue(line[i]) >= 0 && i < 16; ++i) size = size * 16 + static_cast<uint64_t>(HexValue(line[i]));
  if (i == 0) {
    events->push_back(dir == 0 ? HttpEvent::kInvalidRequestChunkLen : HttpEvent::kInvalidResponseChunkLen);
    d.state = State::kFailed;
    return take;
  }
  d.line.clear();
  if (size == 0) {
    d.state = State::kTrailers;
  } else {
    d.remaining = size;
    d.state = State::kChunkData;
  }
  return take;
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
