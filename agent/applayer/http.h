#pragma once
// HTTP/1.x: request and status lines, headers (folded lines joined),
// bodies by Content-Length, chunked transfer coding or connection close,
// gzip/deflate content coding decoded for detection (file_data), pipelined
// requests matched to responses in order, interim 1xx responses skipped.
//
// A streaming parser per flow: bytes arrive in any split. Each direction
// gives up (and stops) on input it cannot parse as HTTP, raising an
// app-layer event; the other direction carries on.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/applayer/http_lenient.h"

namespace rampart::applayer {

struct HttpSpan {
  uint32_t off = 0;
  uint32_t len = 0;
  bool derived = false;  // In the derived buffer rather than the head.
};

struct HttpHeaderSpan {
  HttpSpan name;
  HttpSpan value;
};

// One side (request or response) of a transaction.
struct HttpMessage {
  std::string head;      // Start line + header lines as received (CRLFs kept), up to the blank line.
  std::string derived;   // Normalised values made from the head.
  HttpSpan start_line;
  HttpSpan f1, f2, f3;   // Request: method, uri, protocol. Response: protocol, status, message.
  std::vector<HttpHeaderSpan> headers;
  std::string body;      // Decoded body, up to the body limit.
  size_t body_reported = 0;  // body.size() at the last report (for "new bytes").
  uint64_t body_length = 0;  // Decoded body bytes seen (also past the limit).
  uint64_t wire_body_length = 0;  // Body bytes on the wire (after de-chunking, before decompression).

  std::string_view View(HttpSpan s) const {
    const std::string& b = s.derived ? derived : head;
    if (s.off + s.len > b.size()) return {};
    return std::string_view(b).substr(s.off, s.len);
  }
  // The first header with this name (ASCII case-insensitive); empty view when absent.
  std::string_view Header(std::string_view name, bool* found = nullptr) const;
  void Clear();
};

struct HttpTx {
  uint64_t id = 0;
  uint8_t progress = 0;    // sensor::kHttp* bits.
  uint8_t progressed = 0;  // Bits reached during the current call.
  bool has_request = false;
  bool has_response = false;
  bool logged = false;     // The EVE record was written.
  uint16_t status = 0;
  uint32_t events = 0;     // Bit per HttpEvent raised for this transaction (Suricata keeps events per transaction).
  HttpMessage request;
  HttpMessage response;
  // Normalised request values (views into request.derived).
  HttpSpan uri_normalized;
  HttpSpan host;           // Lower-case, without port.
  int32_t host_port = -1;  // Port from the Host header, -1 if none.

  std::string_view Method() const { return request.View(request.f1); }
  std::string_view Uri() const { return request.View(request.f2); }
  std::string_view Protocol() const { return request.View(request.f3); }
  std::string_view UriNormalized() const { return request.View(uri_normalized); }
  std::string_view Host() const { return request.View(host); }
  std::string_view ResponseProtocol() const { return response.View(response.f1); }
  std::string_view StatusMessage() const { return response.View(response.f3); }
  bool RequestComplete() const { return (progress & 0x04) != 0; }
  bool ResponseComplete() const { return (progress & 0x20) != 0; }
  void Clear();
};

struct HttpOptions {
  size_t max_head = 64 * 1024;  // Start line + headers per message; longer gives up the direction.
  size_t body_limit = 0;        // Decoded body bytes kept per message (0: none, count only).
  size_t max_txs = 64;          // Open transactions per flow (pipelining); more gives up.
  size_t max_decode_layers = 3;  // Response content codings undone (Suricata's default is 2; its tests use 3).
};

// App-layer events, named as Suricata's http.* events.
enum class HttpEvent : uint8_t {
  kRequestLineInvalid,
  kResponseInvalidProtocol,
  kRequestFieldTooLong,
  kResponseFieldTooLong,
  kInvalidRequestChunkLen,
  kInvalidResponseChunkLen,
  kInvalidContentLengthRequest,
  kInvalidContentLengthResponse,
  kRequestHeaderInvalid,
  kResponseHeaderInvalid,
  kGzipDecompressionFailed,
  kUnableToMatchResponseToRequest,
  kMissingHostHeader,
  kResponseInvalidStatus,
  kRequestAuthUnrecognized,   // An Authorization scheme other than Basic, Digest or Bearer (libhtp).
  kTooManyEncodingLayers,     // More Content-Encoding layers than max_decode_layers.
  kCount
};
static_assert(static_cast<int>(HttpEvent::kCount) <= 32, "HttpTx::events holds one bit per event");
const char* HttpEventName(HttpEvent e);

// What the first bytes of a direction look like: a request line (a known
// method, as tshark's list, or any token with an HTTP/x version at the end
// of the line), a status line ("HTTP/" digit), not HTTP, or too short to tell.
enum class HttpStart : uint8_t { kNeedMore, kRequest, kResponse, kNo };
HttpStart ClassifyHttpStart(const uint8_t* data, size_t len);
bool IsKnownMethod(std::string_view method);
bool IsKnownMethodPrefix(std::string_view prefix);

class HttpParser {
 public:
  explicit HttpParser(const HttpOptions& options) : options_(options) {}
  ~HttpParser();
  HttpParser(const HttpParser&) = delete;
  HttpParser& operator=(const HttpParser&) = delete;

  // Feeds in-order bytes of direction `dir` (0 = to server). `gap` means
  // bytes are missing before these. Transactions that progressed are
  // appended to *progressed (once each per call), events to *events.
  void Feed(int dir, const uint8_t* data, size_t len, bool gap, std::vector<HttpTx*>* progressed,
            std::vector<HttpEvent>* events);
  // The connection ended: a body running until close is complete now.
  void Close(std::vector<HttpTx*>* progressed);

  // Open transactions, oldest first. The caller removes logged, complete
  // ones with Prune() (not during its use of the pointers it was given).
  std::deque<std::unique_ptr<HttpTx>>& txs() { return txs_; }
  void Prune();
  bool failed(int dir) const { return dir_[dir].state == State::kFailed; }
  // Both directions carry another protocol now (CONNECT or Upgrade).
  bool tunnel() const { return dir_[0].state == State::kTunnel && dir_[1].state == State::kTunnel; }
  // A datagram ended (HTTP over UDP): a body running until close is complete.
  void EndOfDatagram(int dir, std::vector<HttpTx*>* progressed);
  uint64_t tx_count() const { return next_id_; }

 private:
  enum class State : uint8_t {
    kHead, kBodyLength, kChunkSize, kChunkData, kChunkDataEnd, kTrailers, kBodyClose, kResync, kFailed, kTunnel
  };
  struct Direction {
    State state = State::kHead;
    uint64_t remaining = 0;   // Body bytes left (length or chunk).
    std::string line;         // Partial chunk-size / trailer line.
    HttpTx* tx = nullptr;     // The transaction this direction is filling.
    std::unique_ptr<BodyDecoder> decoder;  // Response content codings (http_lenient.h).
    bool line_parsed = false;  // The current message's start line was parsed.
    bool any_message = false;  // A valid start line was seen in this direction.
  };

  // http.cc: framing.
  void FeedDir(int dir, const uint8_t* data, size_t len, std::vector<HttpTx*>* progressed,
               std::vector<HttpEvent>* events);
  size_t ConsumeChunkLine(int dir, const uint8_t* data, size_t len, std::vector<HttpTx*>* progressed,
                          std::vector<HttpEvent>* events);
  // http_head.cc: heads.
  size_t ConsumeHead(int dir, const uint8_t* data, size_t len, std::vector<HttpTx*>* progressed,
                     std::vector<HttpEvent>* events);
  size_t ConsumeResponseHead(size_t old, size_t skipped, size_t len, std::vector<HttpTx*>* progressed,
                             std::vector<HttpEvent>* events);
  bool ParseRequestLine(HttpTx* tx);
  bool ParseResponseLine(HttpTx* tx);
  void ParseRequestHeaders(HttpTx* tx, std::vector<HttpEvent>* events);
  void AbandonMessage(int dir);
  static std::string FramingHeader(const HttpMessage& m, std::string_view name, bool join, bool* found);
  void ParseHeaders(HttpMessage* m, size_t from);
  void StartBody(int dir, std::vector<HttpTx*>* progressed, std::vector<HttpEvent>* events);
  void BodyData(int dir, const uint8_t* data, size_t len, std::vector<HttpEvent>* events);
  void FinishMessage(int dir, std::vector<HttpTx*>* progressed);
  void EndDecompressor(Direction& d);
  void Mark(HttpTx* tx, uint8_t bits, std::vector<HttpTx*>* progressed);
  // Reports an event and records it on the transaction (when there is one).
  static void Raise(HttpTx* tx, HttpEvent e, std::vector<HttpEvent>* events);
  // The response head ended with the connection: its header lines so far are the header block.
  void CloseResponseHead(std::vector<HttpTx*>* progressed);
  HttpTx* NewTx();

  HttpOptions options_;
  Direction dir_[2];
  std::deque<std::unique_ptr<HttpTx>> txs_;
  std::vector<std::unique_ptr<HttpTx>> spare_;
  uint64_t next_id_ = 0;
};

}  // namespace rampart::applayer
