#include "controller/notify/format.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <nlohmann/json.hpp>

#include "common/util/build_info.h"
#include "common/util/clock.h"
#include "common/util/ids.h"
#include "common/util/text.h"

namespace rampart::notify {
namespace {

using nlohmann::json;

constexpr int kVietnamOffsetMinutes = 7 * 60;

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// RFC 2047 encoded-word for a UTF-8 header value.
std::string EncodeHeader(std::string_view s) {
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  return "=?UTF-8?B?" + Base64Encode(bytes) + "?=";
}

// Base64 body lines of at most 76 characters.
std::string Base64Lines(std::string_view s) {
  const std::string b = Base64Encode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  std::string out;
  for (size_t i = 0; i < b.size(); i += 76) {
    out += b.substr(i, 76);
    out += "\r\n";
  }
  return out;
}

std::string RfcDate(int64_t nanos) {
  const time_t secs = static_cast<time_t>(nanos / 1'000'000'000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string LocalTime(int64_t nanos) {
  // "2026-11-22 07:15:03 (GMT+7)": Asia/Ho_Chi_Minh has no daylight saving.
  const time_t secs = static_cast<time_t>(nanos / 1'000'000'000) + kVietnamOffsetMinutes * 60;
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S (GMT+7)", &tm);
  return buf;
}

std::string Endpoints(const Notification& n) {
  if (n.src_ip.empty()) return "";
  std::string s = n.src_ip;
  if (n.src_port) s += ":" + std::to_string(n.src_port);
  s += " -> " + n.dest_ip;
  if (n.dest_port) s += ":" + std::to_string(n.dest_port);
  if (!n.proto.empty()) s += " (" + n.proto + ")";
  return s;
}

std::string Subject(const Notification& n) {
  if (n.kind == Notification::Kind::kLink) {
    return "[Rampart] Đường truyền " + n.link + " (" + n.site + "): " + n.link_state + " / WAN link " + n.link +
           " " + n.link_state;
  }
  return "[Rampart] " + std::string(SeverityNameVi(n.severity)) + " / " + std::string(SeverityNameEn(n.severity)) +
         ": " + n.signature + " (" + n.site + ")";
}

struct Line {
  std::string vi, en, value;
};

std::vector<Line> Lines(const Notification& n) {
  std::vector<Line> l;
  l.push_back({"Thời gian", "Time", LocalTime(n.time_nanos)});
  l.push_back({"Đơn vị", "Site", n.site});
  if (!n.agent.empty()) l.push_back({"Máy giám sát", "Agent", n.agent});
  if (n.kind == Notification::Kind::kLink) {
    l.push_back({"Đường truyền", "Link", n.link});
    l.push_back({"Trạng thái", "State", n.link_state});
  } else {
    l.push_back({"Mức độ", "Severity",
                 std::string(SeverityNameVi(n.severity)) + " / " + std::string(SeverityNameEn(n.severity))});
    l.push_back({"Chữ ký", "Signature", n.signature + (n.signature_id ? " [sid " + std::to_string(n.signature_id) + "]" : "")});
    if (!n.category.empty()) l.push_back({"Phân loại", "Category", n.category});
    if (!n.src_ip.empty()) l.push_back({"Kết nối", "Connection", Endpoints(n)});
  }
  return l;
}

std::string Mime(const std::string& subject, const std::string& text, const std::string& html,
                 const EmailContext& ctx) {
  const std::string boundary = "rampart-" + RandomToken(12);
  std::string m;
  m += "Date: " + RfcDate(ctx.now_nanos) + "\r\n";
  m += "From: " + ctx.from + "\r\n";
  m += "To: ";
  for (size_t i = 0; i < ctx.to.size(); ++i) m += (i ? ", " : "") + ctx.to[i];
  m += "\r\n";
  m += "Message-ID: <" + ctx.message_id + "@rampart>\r\n";
  m += "Subject: " + EncodeHeader(subject) + "\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Language: vi, en\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n";
  m += "--" + boundary + "\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  m += Base64Lines(text);
  m += "--" + boundary + "\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n";
  m += Base64Lines(html);
  m += "--" + boundary + "--\r\n";
  return m;
}

std::string Footer(const EmailContext& ctx, bool html) {
  std::string vi = "Gửi tự động bởi Rampart (" + ctx.controller + ").";
  std::string en = "Sent automatically by Rampart (" + ctx.controller + ").";
  if (!html) {
    std::string s = "\n-- \n" + vi + "\n" + en + "\n";
    if (!ctx.ui_url.empty()) s += ctx.ui_url + "/#/alerts\n";
    return s;
  }
  std::string s = "<p style=\"color:#666;font-size:12px\">" + HtmlEscape(vi) + "<br>" + HtmlEscape(en);
  if (!ctx.ui_url.empty()) s += "<br><a href=\"" + HtmlEscape(ctx.ui_url) + "/#/alerts\">" + HtmlEscape(ctx.ui_url) + "</a>";
  return s + "</p>";
}

int CefSeverity(int severity) {
  switch (severity) {
    case 1:
      return 10;
    case 2:
      return 8;
    case 3:
      return 5;
    default:
      return 3;
  }
}

int SyslogSeverity(int severity) {
  switch (severity) {
    case 1:
      return 2;  // crit
    case 2:
      return 3;  // err
    case 3:
      return 4;  // warning
    default:
      return 5;  // notice
  }
}

std::string CefHeaderEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '|') out += '\\';
    if (c == '\r' || c == '\n') {
      out += ' ';
      continue;
    }
    out += c;
  }
  return out;
}

std::string CefValueEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '=') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '\r') {
      out += "\\r";
      continue;
    }
    out += c;
  }
  return out;
}

// RFC 5424 PRINTUSASCII without spaces, for HOSTNAME/APP-NAME.
std::string SyslogToken(std::string_view s, size_t max) {
  std::string out;
  for (char c : s) {
    if (c > 32 && c < 127) out += c;
    if (out.size() == max) break;
  }
  return out.empty() ? "-" : out;
}

}  // namespace

std::string_view SeverityNameVi(int severity) {
  switch (severity) {
    case 1:
      return "Nghiêm trọng";
    case 2:
      return "Cao";
    case 3:
      return "Trung bình";
    default:
      return "Thấp";
  }
}

std::string_view SeverityNameEn(int severity) {
  switch (severity) {
    case 1:
      return "Critical";
    case 2:
      return "High";
    case 3:
      return "Medium";
    default:
      return "Low";
  }
}

std::string RenderAlertEmail(const Notification& n, const EmailContext& ctx) {
  const auto lines = Lines(n);
  std::string text = n.kind == Notification::Kind::kLink ? "Thay đổi trạng thái đường truyền\n" : "Cảnh báo an ninh\n";
  for (const auto& l : lines) text += "  " + l.vi + ": " + l.value + "\n";
  text += n.kind == Notification::Kind::kLink ? "\nWAN link state change\n" : "\nSecurity alert\n";
  for (const auto& l : lines) text += "  " + l.en + ": " + l.value + "\n";
  text += Footer(ctx, false);

  std::string html = "<!DOCTYPE html><html><body style=\"font-family:sans-serif\">";
  auto table = [&](bool vi) {
    std::string t = "<h3>" + std::string(n.kind == Notification::Kind::kLink
                                              ? (vi ? "Thay đổi trạng thái đường truyền" : "WAN link state change")
                                              : (vi ? "Cảnh báo an ninh" : "Security alert")) +
                    "</h3><table lang=\"" + (vi ? "vi" : "en") + "\">";
    for (const auto& l : lines) {
      t += "<tr><th align=\"left\">" + HtmlEscape(vi ? l.vi : l.en) + "</th><td>" + HtmlEscape(l.value) + "</td></tr>";
    }
    return t + "</table>";
  };
  html += table(true) + "<hr>" + table(false) + Footer(ctx, true) + "</body></html>";
  return Mime(Subject(n), text, html, ctx);
}

std::string RenderDigestEmail(const std::vector<Notification>& items, const EmailContext& ctx) {
  const std::string count = std::to_string(items.size());
  const std::string subject = "[Rampart] Tóm tắt " + count + " cảnh báo / Digest of " + count + " alerts";
  std::string text = "Tóm tắt " + count + " cảnh báo (gửi gộp để tránh quá nhiều thư)\nDigest of " + count +
                     " alerts (sent together instead of a flood of emails)\n\n";
  std::string rows;
  for (const auto& n : items) {
    text += LocalTime(n.time_nanos) + "  " + std::string(SeverityNameEn(n.severity)) + "  " + n.site + "  " +
            n.signature + "  " + Endpoints(n) + "\n";
    rows += "<tr><td>" + HtmlEscape(LocalTime(n.time_nanos)) + "</td><td>" +
            HtmlEscape(std::string(SeverityNameVi(n.severity)) + " / " + std::string(SeverityNameEn(n.severity))) +
            "</td><td>" + HtmlEscape(n.site) + "</td><td>" + HtmlEscape(n.signature) + "</td><td>" +
            HtmlEscape(Endpoints(n)) + "</td></tr>";
  }
  text += Footer(ctx, false);
  std::string html = "<!DOCTYPE html><html><body style=\"font-family:sans-serif\"><h3>Tóm tắt " + count +
                     " cảnh báo / Digest of " + count +
                     " alerts</h3><table><tr><th>Thời gian / Time</th><th>Mức độ / Severity</th><th>Đơn vị / "
                     "Site</th><th>Chữ ký / Signature</th><th>Kết nối / Connection</th></tr>" +
                     rows + "</table>" + Footer(ctx, true) + "</body></html>";
  return Mime(subject, text, html, ctx);
}

std::string RenderWebhookJson(const Notification& n, std::string_view idempotency_key) {
  json j{{"id", std::string(idempotency_key)},
         {"type", n.kind == Notification::Kind::kLink ? "link" : "alert"},
         {"time", FormatRfc3339(n.time_nanos)},
         {"site", n.site},
         {"agent", n.agent}};
  if (n.kind == Notification::Kind::kLink) {
    j["link"] = {{"name", n.link}, {"state", n.link_state}};
  } else {
    j["alert"] = {{"id", n.id},         {"severity", n.severity},   {"signature", n.signature},
                  {"signature_id", n.signature_id}, {"category", n.category}, {"src_ip", n.src_ip},
                  {"src_port", n.src_port}, {"dest_ip", n.dest_ip}, {"dest_port", n.dest_port},
                  {"proto", n.proto}};
    if (!n.eve_json.empty()) {
      json eve = json::parse(n.eve_json, nullptr, false);
      if (!eve.is_discarded()) j["eve"] = std::move(eve);
    }
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string WebhookSignature(std::string_view key, std::string_view timestamp, std::string_view body) {
  std::string data;
  data.reserve(timestamp.size() + 1 + body.size());
  data.append(timestamp).append(".").append(body);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), md, &len);
  return "sha256=" + HexEncode(std::span<const uint8_t>(md, len));
}

std::string RenderCef(const Notification& n, std::string_view idempotency_key) {
  const bool link = n.kind == Notification::Kind::kLink;
  std::string s = "CEF:0|Rampart|rampart-controller|" + std::string(BuildVersion()) + "|";
  s += CefHeaderEscape(link ? "link-" + n.link_state : std::to_string(n.signature_id)) + "|";
  s += CefHeaderEscape(n.signature) + "|" + std::to_string(CefSeverity(n.severity)) + "|";
  std::vector<std::pair<std::string, std::string>> ext;
  ext.emplace_back("rt", std::to_string(n.time_nanos / 1'000'000));
  ext.emplace_back("externalId", std::string(idempotency_key));
  if (!n.src_ip.empty()) ext.emplace_back("src", n.src_ip);
  if (n.src_port) ext.emplace_back("spt", std::to_string(n.src_port));
  if (!n.dest_ip.empty()) ext.emplace_back("dst", n.dest_ip);
  if (n.dest_port) ext.emplace_back("dpt", std::to_string(n.dest_port));
  if (!n.proto.empty()) ext.emplace_back("proto", n.proto);
  if (!n.agent.empty()) ext.emplace_back("dvchost", n.agent);
  if (!n.category.empty()) ext.emplace_back("cat", n.category);
  ext.emplace_back("cs1Label", "site");
  ext.emplace_back("cs1", n.site);
  if (link) {
    ext.emplace_back("cs2Label", "link");
    ext.emplace_back("cs2", n.link);
    ext.emplace_back("outcome", n.link_state);
  }
  for (size_t i = 0; i < ext.size(); ++i) {
    s += (i ? " " : "") + ext[i].first + "=" + CefValueEscape(ext[i].second);
  }
  return s;
}

std::string RenderEcs(const Notification& n, std::string_view idempotency_key) {
  const bool link = n.kind == Notification::Kind::kLink;
  json j{{"@timestamp", FormatRfc3339(n.time_nanos)},
         {"ecs", {{"version", "8.11.0"}}},
         {"event",
          {{"kind", "alert"},
           {"id", std::string(idempotency_key)},
           {"severity", n.severity},
           {"category", link ? json::array({"network"}) : json::array({"intrusion_detection", "network"})},
           {"dataset", link ? "rampart.link" : "rampart.alert"},
           {"module", "rampart"}}},
         {"observer", {{"vendor", "Rampart"}, {"product", "rampart"}, {"hostname", n.agent}}},
         {"labels", {{"site", n.site}}},
         {"message", n.signature}};
  if (link) {
    j["labels"]["link"] = n.link;
    j["event"]["outcome"] = n.link_state;
  } else {
    j["rule"] = {{"id", std::to_string(n.signature_id)}, {"name", n.signature}, {"category", n.category}};
    if (!n.src_ip.empty()) j["source"] = {{"ip", n.src_ip}, {"port", n.src_port}};
    if (!n.dest_ip.empty()) j["destination"] = {{"ip", n.dest_ip}, {"port", n.dest_port}};
    if (!n.proto.empty()) {
      j["network"] = {{"transport", AsciiLowercase(n.proto)}};
    }
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string RenderSyslog(const Notification& n, std::string_view format, std::string_view hostname,
                         std::string_view idempotency_key) {
  constexpr int kFacilityAuthpriv = 10;
  const int pri = kFacilityAuthpriv * 8 + SyslogSeverity(n.severity);
  std::string s = "<" + std::to_string(pri) + ">1 " + FormatRfc3339(n.time_nanos) + " " + SyslogToken(hostname, 255) +
                  " rampart - " + (n.kind == Notification::Kind::kLink ? "link" : "alert") + " ";
  // Structured data: the key and the site, so relays can route without parsing MSG.
  std::string site;
  for (char c : n.site) {
    if (c == '"' || c == '\\' || c == ']') site += '\\';
    site += c;
  }
  s += "[rampart@32473 id=\"" + std::string(idempotency_key) + "\" site=\"" + site + "\"] ";
  s += format == "ecs" ? RenderEcs(n, idempotency_key) : RenderCef(n, idempotency_key);
  return s;
}

std::string NotificationToJson(const Notification& n) {
  json j{{"kind", n.kind == Notification::Kind::kLink ? "link" : "alert"},
         {"id", n.id},
         {"time", n.time_nanos},
         {"severity", n.severity},
         {"site", n.site},
         {"agent", n.agent},
         {"signature", n.signature},
         {"sid", n.signature_id},
         {"category", n.category},
         {"src_ip", n.src_ip},
         {"dest_ip", n.dest_ip},
         {"src_port", n.src_port},
         {"dest_port", n.dest_port},
         {"proto", n.proto},
         {"link", n.link},
         {"link_state", n.link_state},
         {"eve", n.eve_json}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool NotificationFromJson(std::string_view text, Notification* out) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  out->kind = j.value("kind", "alert") == "link" ? Notification::Kind::kLink : Notification::Kind::kAlert;
  out->id = j.value("id", "");
  out->time_nanos = j.value("time", int64_t{0});
  out->severity = j.value("severity", 3);
  out->site = j.value("site", "");
  out->agent = j.value("agent", "");
  out->signature = j.value("signature", "");
  out->signature_id = j.value("sid", uint64_t{0});
  out->category = j.value("category", "");
  out->src_ip = j.value("src_ip", "");
  out->dest_ip = j.value("dest_ip", "");
  out->src_port = j.value("src_port", 0u);
  out->dest_port = j.value("dest_port", 0u);
  out->proto = j.value("proto", "");
  out->link = j.value("link", "");
  out->link_state = j.value("link_state", "");
  out->eve_json = j.value("eve", "");
  return true;
}

}  // namespace rampart::notify
