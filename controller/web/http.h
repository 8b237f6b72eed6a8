#pragma once
// HTTP requests and responses as the controller's handlers see them: plain
// structs, so handlers, tests and the fuzzer never include Boost.Beast.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status/status.h"

namespace rampart::web {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // As sent: "/api/v1/alerts?severity=1".
  std::string path;    // Percent-decoded, without the query: "/api/v1/alerts".
  std::vector<std::pair<std::string, std::string>> query;    // Decoded, in order.
  std::vector<std::pair<std::string, std::string>> headers;  // Names lower-case.
  std::string body;
  std::string remote;  // Peer address, "127.0.0.1".

  // The first value, or "" when absent.
  std::string_view Header(std::string_view lower_name) const;
  std::string_view Query(std::string_view name) const;
  bool HasQuery(std::string_view name) const;
  std::vector<std::string_view> QueryAll(std::string_view name) const;
  // The value of one cookie from the Cookie header, or "".
  std::string Cookie(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // Extra headers (Set-Cookie, ...).

  static HttpResponse Json(int status, std::string body);
  // {"error": message} with the status.
  static HttpResponse Error(int status, std::string_view message);
};

// Percent-decoding ('+' as a space when `plus_is_space`); nullopt for a
// malformed escape or a NUL byte.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);
// "a=1&b=x%20y" into pairs; false for malformed input (out is then partial).
bool ParseQuery(std::string_view text, std::vector<std::pair<std::string, std::string>>* out);

// Parses one HTTP/1.x request from raw bytes exactly as the server does from
// its socket (Boost.Beast's parser, then decoding of path and query).
// kInvalidArgument for anything malformed; kResourceExhausted for a body
// over `max_body_bytes`; kOutOfRange when the bytes end before the request.
Result<HttpRequest> ParseHttpRequest(std::string_view bytes, size_t max_body_bytes);

}  // namespace rampart::web
