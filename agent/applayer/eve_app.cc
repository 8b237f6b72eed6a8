#include "agent/applayer/eve_app.h"

#include <cstdio>
#include <ctime>

namespace rampart::applayer {
namespace {

std::string Hex(uint16_t v) {
  char b[8];
  std::snprintf(b, sizeof(b), "%x", v);
  return b;
}

std::string CertTime(int64_t secs) {
  const time_t t = static_cast<time_t>(secs);
  struct tm tm = {};
  gmtime_r(&t, &tm);
  char b[96];
  std::snprintf(b, sizeof(b), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return b;
}

void WriteRecordList(eve::JsonWriter& w, const char* key, const std::vector<DnsRecord>& records) {
  if (records.empty()) return;
  w.BeginArray(key);
  for (const DnsRecord& r : records) {
    w.BeginObject();
    w.String("rrname", r.name);
    w.String("rrtype", DnsTypeName(r.type));
    w.Uint("ttl", r.ttl);
    if (r.type == 6) {
      if (!r.rdata_text.empty()) {
        w.BeginObject("soa");
        w.String("mname", r.rdata_text);
        w.String("rname", r.soa_rname);
        w.Uint("serial", r.soa_serial);
        w.Uint("refresh", r.soa_refresh);
        w.Uint("retry", r.soa_retry);
        w.Uint("expire", r.soa_expire);
        w.Uint("minimum", r.soa_minimum);
        w.EndObject();
      }
    } else if (r.type == 33 && !r.rdata_text.empty()) {
      w.BeginObject("srv");
      w.String("name", r.rdata_text);
      w.Uint("port", r.srv_port);
      w.Uint("priority", r.srv_priority);
      w.Uint("weight", r.srv_weight);
      w.EndObject();
    } else if (!r.rdata_text.empty()) {
      w.String("rdata", r.rdata_text);
    }
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace

void WriteHttpObject(eve::JsonWriter& w, const HttpTx& tx) {
  w.BeginObject("http");
  if (tx.has_request) {
    if (!tx.Host().empty()) w.String("hostname", tx.Host());
    if (tx.host_port >= 0) w.Uint("http_port", static_cast<uint64_t>(tx.host_port));
    w.String("url", tx.Uri());
    bool found = false;
    const std::string_view ua = tx.request.Header("User-Agent", &found);
    if (found) w.String("http_user_agent", ua);
  }
  if (tx.has_response) {
    bool found = false;
    std::string_view ct = tx.response.Header("Content-Type", &found);
    if (found) {
      const size_t semi = ct.find(';');
      if (semi != std::string_view::npos) ct = ct.substr(0, semi);
      while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
      w.String("http_content_type", ct);
    }
  }
  if (tx.has_request) {
    bool found = false;
    const std::string_view ref = tx.request.Header("Referer", &found);
    if (found) w.String("http_refer", ref);
    w.String("http_method", tx.Method());
    if (!tx.Protocol().empty()) w.String("protocol", tx.Protocol());
  } else if (tx.has_response && !tx.ResponseProtocol().empty()) {
    w.String("protocol", tx.ResponseProtocol());
  }
  if (tx.has_response && tx.status != 0) {
    w.Uint("status", tx.status);
    bool found = false;
    const std::string_view loc = tx.response.Header("Location", &found);
    if (found) w.String("redirect", loc);
  }
  if (tx.has_response) w.Uint("length", tx.response.wire_body_length);
  w.EndObject();
}

void WriteDnsQueryObject(eve::JsonWriter& w, const DnsMessage& m, const DnsQuestion& q) {
  w.BeginObject("dns");
  w.String("type", "query");
  w.Uint("id", m.id);
  w.String("rrname", q.name);
  w.String("rrtype", DnsTypeName(q.type));
  w.Uint("tx_id", m.tx_id);
  if (m.z) w.Bool("z", true);
  w.EndObject();
}

void WriteDnsAnswerObject(eve::JsonWriter& w, const DnsMessage& m) {
  w.BeginObject("dns");
  w.Uint("version", 2);
  w.String("type", "answer");
  w.Uint("id", m.id);
  w.Uint("tx_id", m.tx_id);
  w.String("flags", Hex(m.flags));
  w.Bool("qr", true);
  if (m.flags & 0x0400) w.Bool("aa", true);
  if (m.flags & 0x0100) w.Bool("rd", true);
  if (m.flags & 0x0080) w.Bool("ra", true);
  if (m.z) w.Bool("z", true);
  if (!m.questions.empty()) {
    w.String("rrname", m.questions[0].name);
    w.String("rrtype", DnsTypeName(m.questions[0].type));
  }
  w.String("rcode", DnsRcodeName(m.rcode));
  WriteRecordList(w, "answers", m.answers);
  WriteRecordList(w, "authorities", m.authorities);
  w.EndObject();
}

void WriteDnsAlertObject(eve::JsonWriter& w, const DnsMessage& m) {
  w.BeginObject("dns");
  if (!m.response) {
    w.BeginArray("query");
    for (const DnsQuestion& q : m.questions) {
      w.BeginObject();
      w.String("type", "query");
      w.Uint("id", m.id);
      w.String("rrname", q.name);
      w.String("rrtype", DnsTypeName(q.type));
      w.Uint("tx_id", m.tx_id);
      w.EndObject();
    }
    w.EndArray();
  } else {
    w.BeginObject("answer");
    w.Uint("version", 2);
    w.String("type", "answer");
    w.Uint("id", m.id);
    w.String("flags", Hex(m.flags));
    w.Bool("qr", true);
    if (m.flags & 0x0100) w.Bool("rd", true);
    if (m.flags & 0x0080) w.Bool("ra", true);
    if (!m.questions.empty()) {
      w.String("rrname", m.questions[0].name);
      w.String("rrtype", DnsTypeName(m.questions[0].type));
    }
    w.String("rcode", DnsRcodeName(m.rcode));
    w.EndObject();
  }
  w.EndObject();
}

void WriteTlsObject(eve::JsonWriter& w, const TlsInfo& t) {
  w.BeginObject("tls");
  if (!t.cert_subject.empty()) w.String("subject", t.cert_subject);
  if (!t.cert_issuer.empty()) w.String("issuerdn", t.cert_issuer);
  if (!t.cert_serial.empty()) w.String("serial", t.cert_serial);
  if (!t.cert_fingerprint.empty()) w.String("fingerprint", t.cert_fingerprint);
  if (!t.sni.empty()) w.String("sni", t.sni);
  const uint16_t v = t.server_version != 0 ? t.server_version : t.client_version;
  w.String("version", TlsVersionName(v));
  if (!t.cert_der.empty() && t.cert_not_before != 0) {
    w.String("notbefore", CertTime(t.cert_not_before));
    w.String("notafter", CertTime(t.cert_not_after));
  }
  if (!t.ja3_hash.empty()) {
    w.BeginObject("ja3");
    w.String("hash", t.ja3_hash);
    w.String("string", t.ja3_string);
    w.EndObject();
  }
  if (!t.ja3s_hash.empty()) {
    w.BeginObject("ja3s");
    w.String("hash", t.ja3s_hash);
    w.String("string", t.ja3s_string);
    w.EndObject();
  }
  w.EndObject();
}

void WriteQuicObject(eve::JsonWriter& w, const QuicInfo& q) {
  w.BeginObject("quic");
  w.String("version", QuicVersionName(q.version));
  if (!q.hello.sni.empty()) w.String("sni", q.hello.sni);
  w.EndObject();
}

}  // namespace rampart::applayer
