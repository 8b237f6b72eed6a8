#include "controller/web/http.h"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <cstring>

#include "common/util/text.h"
#include "controller/web/http_internal.h"

namespace rampart::web {

std::string_view HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return {};
}

std::string_view HttpRequest::Query(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return {};
}

bool HttpRequest::HasQuery(std::string_view name) const {
  for (const auto& kv : query) {
    if (kv.first == name) return true;
  }
  return false;
}

std::vector<std::string_view> HttpRequest::QueryAll(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : query) {
    if (k == name) out.push_back(v);
  }
  return out;
}

std::string HttpRequest::Cookie(std::string_view name) const {
  std::string_view header = Header("cookie");
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view part = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    if (part.substr(0, eq) == name) return std::string(part.substr(eq + 1));
  }
  return {};
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Error(int status, std::string_view message) {
  std::string body = "{\"error\":";
  // Minimal JSON string escaping (messages are ours, but may quote input).
  body += '"';
  for (char c : message) {
    switch (c) {
      case '"':
        body += "\\\"";
        break;
      case '\\':
        body += "\\\\";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned char>(c));
          body += buf;
        } else {
          body += c;
        }
    }
  }
  body += "\"}";
  return Json(status, std::move(body));
}

std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = HexDigitValue(text[i + 1]);
      const int lo = HexDigitValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0') return std::nullopt;
    out += c;
  }
  return out;
}

bool ParseQuery(std::string_view text, std::vector<std::pair<std::string, std::string>>* out) {
  while (!text.empty()) {
    size_t amp = text.find('&');
    std::string_view part = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    auto key = PercentDecode(part.substr(0, eq), true);
    auto value = PercentDecode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1), true);
    if (!key || !value) return false;
    if (out->size() >= 256) return false;  // No request needs more parameters.
    out->emplace_back(std::move(*key), std::move(*value));
  }
  return true;
}

namespace detail {

Result<HttpRequest> FromBeast(const boost::beast::http::request<boost::beast::http::string_body>& req,
                              std::string remote) {
  HttpRequest out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  out.remote = std::move(remote);
  std::string_view target = req.target();
  if (target.empty() || target.front() != '/') return InvalidArgumentError("request target must be an absolute path");
  const size_t q = target.find('?');
  auto path = PercentDecode(target.substr(0, q), false);
  if (!path) return InvalidArgumentError("malformed percent-escape in path");
  if (path->find("/../") != std::string::npos || path->ends_with("/..")) {
    return InvalidArgumentError("path must not climb with '..'");
  }
  out.path = std::move(*path);
  if (q != std::string_view::npos && !ParseQuery(target.substr(q + 1), &out.query)) {
    return InvalidArgumentError("malformed query string");
  }
  for (const auto& field : req) {
    if (out.headers.size() >= 100) return InvalidArgumentError("too many headers");
    out.headers.emplace_back(AsciiLowercase(field.name_string()), std::string(field.value()));
  }
  out.body = req.body();
  return out;
}

}  // namespace detail

Result<HttpRequest> ParseHttpRequest(std::string_view bytes, size_t max_body_bytes) {
  namespace http = boost::beast::http;
  http::request_parser<http::string_body> parser;
  parser.body_limit(max_body_bytes);
  parser.header_limit(16 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  size_t used = 0;
  while (used < bytes.size() && !parser.is_done()) {
    const size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (ec == http::error::need_more) break;
    if (ec == http::error::body_limit) return ResourceExhaustedError("request body is too large");
    if (ec) return InvalidArgumentError("malformed HTTP request: " + ec.message());
    if (n == 0) break;
    used += n;
  }
  if (!parser.is_done()) {
    if (parser.is_header_done() && !parser.chunked() && !parser.content_length()) {
      parser.put_eof(ec);
      if (ec) return InvalidArgumentError("malformed HTTP request: " + ec.message());
    } else {
      return OutOfRangeError("the request is incomplete");
    }
  }
  return detail::FromBeast(parser.get(), "");
}

}  // namespace rampart::web
