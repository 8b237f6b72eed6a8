#include "agent/applayer/app_layer.h"

#include <algorithm>
#include <cstring>

namespace rampart::applayer {
namespace {

enum class Guess : uint8_t { kNeedMore, kHttpRequest, kHttpResponse, kTls, kDns, kSip, kSsh, kKrb5, kSmb, kLlmnr, kNone };

constexpr size_t kMaxPrefix = 1024;

Guess DetectTcp(const uint8_t* d, size_t n, uint16_t server_port) {
  if (n == 0) return Guess::kNeedMore;
  bool could_be_more = false;
  // SSH identification and SIP start lines (before HTTP: OPTIONS is both).
  if (LooksLikeSsh(d, n)) return Guess::kSsh;
  if (n < 4 && std::memcmp(d, "SSH-", n) == 0) could_be_more = true;
  if (LooksLikeSip(d, n)) return Guess::kSip;
  if ((server_port == 88) && LooksLikeKrb5(d, n, true)) return Guess::kKrb5;
  if (LooksLikeSmb(d, n)) return Guess::kSmb;
  if (server_port == 5355 && n >= 14 && LooksLikeLlmnr(d + 2, std::min(n - 2, static_cast<size_t>(d[0]) << 8 | d[1]))) {
    return Guess::kLlmnr;
  }
  if (n < 8 && n >= 1 && d[0] == 0x00 && (server_port == 445 || server_port == 139)) could_be_more = true;
  switch (ClassifyHttpStart(d, n)) {
    case HttpStart::kRequest: return Guess::kHttpRequest;
    case HttpStart::kResponse: return Guess::kHttpResponse;
    case HttpStart::kNeedMore: could_be_more = true; break;
    case HttpStart::kNo: break;
  }
  // TLS / SSL records: handshake, alert, change cipher spec, application data.
  if (n >= 3 && d[0] >= 20 && d[0] <= 23 && d[1] == 3 && d[2] <= 4) {
    if (n >= 5) {
      const uint16_t len = static_cast<uint16_t>(d[3] << 8 | d[4]);
      if (len > 0 && len <= 16384 + 2048) {
        if (d[0] == 22) return Guess::kTls;
        // Midstream: a record other than a handshake; require a second header
        // or a full first record to be sure.
        if (n >= 5u + len + 3u) {
          const uint8_t* r2 = d + 5 + len;
          if (r2[0] >= 20 && r2[0] <= 23 && r2[1] == 3 && r2[2] <= 4) return Guess::kTls;
        } else if (d[0] == 23 && n >= 5) {
          return Guess::kTls;
        }
      }
    } else {
      could_be_more = true;
    }
  }
  // SSLv2-framed ClientHello.
  if (n >= 5 && (d[0] & 0x80) != 0 && d[2] == 0x01 && (d[3] == 0x03 || (d[3] == 0x00 && d[4] == 0x02))) {
    return Guess::kTls;
  }
  if (server_port == 53 && n >= 2) {
    const size_t mlen = static_cast<size_t>(d[0]) << 8 | d[1];
    if (mlen >= 12 && n >= 14) {
      if (LooksLikeDns(d + 2, std::min(mlen, n - 2))) return Guess::kDns;
    } else if (mlen >= 12) {
      could_be_more = true;
    }
  }
  return could_be_more && n < kMaxPrefix ? Guess::kNeedMore : Guess::kNone;
}

}  // namespace

std::string_view ProtoName(Proto p) {
  switch (p) {
    case Proto::kHttp: return "http";
    case Proto::kTls: return "tls";
    case Proto::kDns: return "dns";
    case Proto::kFailed: return "failed";
    case Proto::kQuic: return "quic";
    case Proto::kSip: return "sip";
    case Proto::kSsh: return "ssh";
    case Proto::kKrb5: return "krb5";
    case Proto::kSnmp: return "snmp";
    case Proto::kSmb: return "smb";
    case Proto::kLlmnr: return "llmnr";
    case Proto::kUnknown: break;
  }
  return "";
}

FlowApp* AppLayer::State(flow::Flow& f) {
  if (!f.app) f.app = std::make_unique<FlowApp>();
  return static_cast<FlowApp*>(f.app.get());
}

DnsMessage* AppLayer::NextDns() {
  if (dns_used_ == dns_pool_.size()) dns_pool_.push_back(std::make_unique<DnsMessage>());
  return dns_pool_[dns_used_++].get();
}

void AppLayer::StartFields(FlowApp* app, Proto p) {
  app->proto = p;
  const FieldProto fp = p == Proto::kSip   ? FieldProto::kSip
                        : p == Proto::kSsh ? FieldProto::kSsh
                        : p == Proto::kKrb5 ? FieldProto::kKrb5
                        : p == Proto::kSmb  ? FieldProto::kSmb
                        : p == Proto::kLlmnr ? FieldProto::kLlmnr
                                            : FieldProto::kSnmp;
  app->fields = std::make_unique<FieldParser>(fp);
  ++counters_.flow_fields;
}

void AppLayer::FeedFields(FlowApp* app, int dir, const uint8_t* data, size_t len, bool gap, bool datagram,
                          AppOutput* out) {
  const size_t before = out->fields.size();
  const uint64_t errors = app->fields->errors();
  const size_t events = app->fields->events().size();
  app->fields->Feed(dir, data, len, gap, datagram, &out->fields);
  for (size_t i = events; i < app->fields->events().size(); ++i) out->events.push_back(app->fields->events()[i]);
  counters_.tx_fields += out->fields.size() - before;
  counters_.errors_fields += app->fields->errors() - errors;
}

void AppLayer::OnTcp(flow::Flow& f, int dir, std::span<const flow::StreamChunk> chunks, AppOutput* out) {
  dns_used_ = 0;
  if (chunks.empty()) return;
  FlowApp* app = State(f);
  if (app->fields) app->fields->ClearRecent();
  for (const flow::StreamChunk& c : chunks) {
    const bool probe = app->dir_proto[dir] == Proto::kUnknown;
    if (app->proto == Proto::kFailed || (app->proto == Proto::kHttp && app->http->tunnel()) ||
        (app->proto == Proto::kUnknown && app->tried[dir] == 2)) {
      LateDetect(f, app, dir, c.data, c.len, out);
    } else if (app->proto == Proto::kUnknown) {
      Detect(f, app, dir, c.data, c.len, c.gap_before, out);
    } else {
      Deliver(f, app, dir, c.data, c.len, c.gap_before, out);
    }
    if (probe) ProbeDirection(f, app, dir, c.data, c.len, out);
  }
}

void AppLayer::ProbeDirection(flow::Flow& f, FlowApp* app, int dir, const uint8_t* data, size_t len,
                              AppOutput* out) {
  if (app->proto == Proto::kUnknown || app->dir_proto[dir] != Proto::kUnknown || len == 0) return;
  Proto p = app->proto;
  switch (DetectTcp(data, len, f.ServerPort())) {
    case Guess::kHttpRequest:
    case Guess::kHttpResponse: p = Proto::kHttp; break;
    case Guess::kTls: p = Proto::kTls; break;
    case Guess::kDns: p = Proto::kDns; break;
    case Guess::kSip: p = Proto::kSip; break;
    case Guess::kSsh: p = Proto::kSsh; break;
    case Guess::kKrb5: p = Proto::kKrb5; break;
    case Guess::kSmb: p = Proto::kSmb; break;
    case Guess::kLlmnr: p = Proto::kLlmnr; break;
    case Guess::kNeedMore:
      if (++app->dir_probes[dir] < 4) return;  // A few more segments, then the flow's protocol.
      break;
    case Guess::kNone: break;
  }
  app->dir_proto[dir] = p;
  out->proto_detected |= static_cast<uint8_t>(1u << dir);
}

bool AppLayer::LateDetect(flow::Flow& f, FlowApp* app, int dir, const uint8_t* data, size_t len, AppOutput* out) {
  if (app->late_tries[dir] >= 16 || len == 0) return false;
  ++app->late_tries[dir];
  const Guess g = DetectTcp(data, len, f.ServerPort());
  const bool was_failed = app->proto == Proto::kFailed;
  const bool was_unknown = app->proto == Proto::kUnknown;
  if (g == Guess::kTls) {
    app->proto = Proto::kTls;
    app->tls = std::make_unique<TlsParser>();
    if (len >= 6 && data[0] == 22) app->tls_reversed = (data[5] == 1) ? dir == 1 : (data[5] == 2 ? dir == 0 : false);
    ++counters_.flow_tls;
    ++counters_.tx_tls;
  } else if ((g == Guess::kHttpRequest || g == Guess::kHttpResponse) && (was_failed || was_unknown)) {
    app->proto = Proto::kHttp;
    app->http_reversed = (g == Guess::kHttpRequest) ? dir == 1 : dir == 0;
    app->http = std::make_unique<HttpParser>(options_.http);
    ++counters_.flow_http;
  } else {
    return false;
  }
  if (was_failed && counters_.flow_failed_tcp > 0) --counters_.flow_failed_tcp;
  Deliver(f, app, dir, data, len, false, out);
  return true;
}

void AppLayer::Detect(flow::Flow& f, FlowApp* app, int dir, const uint8_t* data, size_t len, bool gap,
                      AppOutput* out) {
  if (app->tried[dir] == 2) return;  // This direction did not match; wait for the other.
  if (gap) app->prefix[dir].clear();
  const uint8_t* d = data;
  size_t n = len;
  if (!app->prefix[dir].empty()) {
    app->prefix[dir].append(reinterpret_cast<const char*>(data), std::min(len, kMaxPrefix));
    d = reinterpret_cast<const uint8_t*>(app->prefix[dir].data());
    n = app->prefix[dir].size();
  }
  const Guess g = DetectTcp(d, n, f.ServerPort());
  if (g == Guess::kNeedMore) {
    if (app->prefix[dir].empty()) app->prefix[dir].assign(reinterpret_cast<const char*>(data), std::min(len, kMaxPrefix));
    app->tried[dir] = 1;
    return;
  }
  if (g == Guess::kNone) {
    app->tried[dir] = 2;
    app->prefix[dir].clear();
    if (app->tried[1 - dir] == 2) {
      app->proto = Proto::kFailed;
      ++counters_.flow_failed_tcp;
    }
    return;
  }
  switch (g) {
    case Guess::kHttpRequest:
    case Guess::kHttpResponse:
      app->proto = Proto::kHttp;
      app->http_reversed = (g == Guess::kHttpRequest) ? dir == 1 : dir == 0;
      app->http = std::make_unique<HttpParser>(options_.http);
      ++counters_.flow_http;
      break;
    case Guess::kTls:
      app->proto = Proto::kTls;
      // A ClientHello from the "server" side (or a ServerHello from the
      // client side): the flow's orientation is the other way round.
      if (n >= 6 && d[0] == 22) app->tls_reversed = (d[5] == 1) ? dir == 1 : (d[5] == 2 ? dir == 0 : false);
      if (n >= 3 && (d[0] & 0x80) != 0 && d[2] == 0x01) app->tls_reversed = dir == 1;
      app->tls = std::make_unique<TlsParser>();
      ++counters_.flow_tls;
      ++counters_.tx_tls;
      break;
    case Guess::kDns:
      app->proto = Proto::kDns;
      ++counters_.flow_dns_tcp;
      break;
    case Guess::kSip: StartFields(app, Proto::kSip); break;
    case Guess::kSsh: StartFields(app, Proto::kSsh); break;
    case Guess::kKrb5: StartFields(app, Proto::kKrb5); break;
    case Guess::kSmb: StartFields(app, Proto::kSmb); break;
    case Guess::kLlmnr: StartFields(app, Proto::kLlmnr); break;
    default:
      break;
  }
  // Hand over what detection held back, then the rest of this chunk.
  if (!app->prefix[dir].empty()) {
    std::string held;
    held.swap(app->prefix[dir]);
    // `held` holds the earlier bytes plus (up to kMaxPrefix of) this chunk: feed
    // the earlier part, then the whole chunk.
    const size_t earlier = held.size() - std::min(len, kMaxPrefix);
    Deliver(f, app, dir, reinterpret_cast<const uint8_t*>(held.data()), earlier, false, out);
    Deliver(f, app, dir, data, len, false, out);
  } else {
    Deliver(f, app, dir, data, len, false, out);
  }
}

void AppLayer::Deliver(flow::Flow& f, FlowApp* app, int dir, const uint8_t* data, size_t len, bool gap,
                       AppOutput* out) {
  (void)f;
  if (len == 0 && !gap) return;
  switch (app->proto) {
    case Proto::kHttp: {
      const int pdir = app->http_reversed ? 1 - dir : dir;
      http_events_.clear();
      const bool was_failed = app->http->failed(pdir);
      const uint64_t before = app->http->tx_count();
      app->http->Feed(pdir, data, len, gap, &out->http, &http_events_);
      counters_.tx_http += app->http->tx_count() - before;
      for (HttpEvent e : http_events_) out->events.push_back(HttpEventName(e));
      if (!was_failed && app->http->failed(pdir)) ++counters_.errors_http;
      break;
    }
    case Proto::kTls: {
      tls_events_.clear();
      bool progressed = false;
      app->tls->Feed(app->tls_reversed ? 1 - dir : dir, data, len, gap, &progressed, &tls_events_);
      for (TlsEvent e : tls_events_) out->events.push_back(TlsEventName(e));
      if (!tls_events_.empty()) ++counters_.errors_tls;
      if (progressed) out->tls = &app->tls->info();
      break;
    }
    case Proto::kDns: {
      // Length-prefixed messages: whole ones straight from the chunk, the rest buffered.
      std::string& buf = app->dns_buf[dir];
      if (gap) buf.clear();
      size_t pos = 0;
      if (buf.empty()) {
        while (len - pos >= 2) {
          const size_t mlen = static_cast<size_t>(data[pos]) << 8 | data[pos + 1];
          if (len - pos < 2 + mlen) break;
          DnsMessageBytes(app, true, data + pos + 2, mlen, out);
          pos += 2 + mlen;
        }
      }
      if (pos < len) buf.append(reinterpret_cast<const char*>(data + pos), len - pos);
      size_t bp = 0;
      while (buf.size() - bp >= 2) {
        const size_t mlen =
            static_cast<size_t>(static_cast<uint8_t>(buf[bp])) << 8 | static_cast<uint8_t>(buf[bp + 1]);
        if (buf.size() - bp < 2 + mlen) break;
        DnsMessageBytes(app, true, reinterpret_cast<const uint8_t*>(buf.data()) + bp + 2, mlen, out);
        bp += 2 + mlen;
      }
      buf.erase(0, bp);
      break;
    }
    case Proto::kSip:
    case Proto::kSsh:
    case Proto::kKrb5:
    case Proto::kSnmp:
    case Proto::kSmb:
    case Proto::kLlmnr:
      FeedFields(app, dir, data, len, gap, false, out);
      break;
    default:
      break;
  }
}

void AppLayer::DnsMessageBytes(FlowApp* app, bool tcp, const uint8_t* data, size_t len, AppOutput* out) {
  DnsMessage* m = NextDns();
  DnsProblem problem = DnsProblem::kNone;
  if (!ParseDnsMessage(data, len, m, &problem)) {
    --dns_used_;
    out->events.push_back("dns.malformed_data");
    if (tcp) {
      ++counters_.errors_dns_tcp;
    } else {
      ++counters_.errors_dns_udp;
    }
    return;
  }
  switch (problem) {
    case DnsProblem::kNone: break;
    case DnsProblem::kMalformed: out->events.push_back("dns.malformed_data"); break;
    case DnsProblem::kNameTooLong: out->events.push_back("dns.name_too_long"); break;
    case DnsProblem::kInfiniteLoop: out->events.push_back("dns.infinite_loop"); break;
    case DnsProblem::kTooManyLabels: out->events.push_back("dns.too_many_labels"); break;
  }
  if (m->z) out->events.push_back("dns.z_flag_set");
  if (!m->response) {
    m->tx_id = app->dns_next_tx++;
    if (app->dns_pending.size() >= 64) app->dns_pending.erase(app->dns_pending.begin());
    app->dns_pending.emplace_back(m->id, m->tx_id);
  } else {
    auto it = std::find_if(app->dns_pending.begin(), app->dns_pending.end(),
                           [&](const auto& p) { return p.first == m->id; });
    if (it != app->dns_pending.end()) {
      m->tx_id = it->second;
      app->dns_pending.erase(it);
    } else {
      m->tx_id = app->dns_next_tx++;
    }
  }
  if (tcp) {
    ++counters_.tx_dns_tcp;
  } else {
    ++counters_.tx_dns_udp;
  }
  out->dns.push_back(m);
}

void AppLayer::OnUdp(flow::Flow& f, int dir, const uint8_t* data, size_t len, AppOutput* out) {
  dns_used_ = 0;
  if (len == 0) return;
  FlowApp* app = State(f);
  if (app->fields) app->fields->ClearRecent();
  if (app->proto == Proto::kFailed) return;
  if (app->proto == Proto::kUnknown) {
    auto port = [&](uint16_t p) { return f.ServerPort() == p || f.ClientPort() == p; };
    if ((f.ServerPort() == 53 || f.ClientPort() == 53) && LooksLikeDns(data, len)) {
      app->proto = Proto::kDns;
      ++counters_.flow_dns_udp;
    } else if (LooksLikeSip(data, len)) {
      StartFields(app, Proto::kSip);
    } else if (port(5355) && LooksLikeLlmnr(data, len)) {
      StartFields(app, Proto::kLlmnr);
    } else if (port(88) && LooksLikeKrb5(data, len, false)) {
      StartFields(app, Proto::kKrb5);
    } else if ((port(161) || port(162)) && LooksLikeSnmp(data, len)) {
      StartFields(app, Proto::kSnmp);
    } else if (LooksLikeQuicInitial(data, len)) {
      app->proto = Proto::kQuic;
      app->quic = std::make_unique<QuicParser>();
      ++counters_.flow_quic;
      ++counters_.tx_quic;
    } else if (const HttpStart st = ClassifyHttpStart(data, len);
               st == HttpStart::kRequest || st == HttpStart::kResponse) {
      // HTTP over UDP (SSDP): one message per datagram.
      app->proto = Proto::kHttp;
      app->http_reversed = st == HttpStart::kRequest ? dir == 1 : dir == 0;
      app->http = std::make_unique<HttpParser>(options_.http);
      ++counters_.flow_http;
    } else {
      app->proto = Proto::kFailed;
      ++counters_.flow_failed_udp;
      return;
    }
  }
  if (app->dir_proto[dir] == Proto::kUnknown) {
    app->dir_proto[dir] = app->proto;  // UDP: each datagram is detected alone; the flow's protocol it is.
    out->proto_detected |= static_cast<uint8_t>(1u << dir);
  }
  if (app->fields) {
    FeedFields(app, dir, data, len, false, true, out);
    return;
  }
  if (app->proto == Proto::kQuic) {
    bool progressed = false;
    tls_events_.clear();
    app->quic->Feed(dir, data, len, &progressed, &tls_events_);
    if (progressed) out->quic = &app->quic->info();
    if (!app->quic->info().txs.empty()) out->quic_txs = &app->quic->info().txs;
    return;
  }
  if (app->proto == Proto::kHttp) {
    const int pdir = app->http_reversed ? 1 - dir : dir;
    http_events_.clear();
    const uint64_t before = app->http->tx_count();
    app->http->Feed(pdir, data, len, false, &out->http, &http_events_);
    app->http->EndOfDatagram(pdir, &out->http);
    counters_.tx_http += app->http->tx_count() - before;
    for (HttpEvent e : http_events_) out->events.push_back(HttpEventName(e));
    return;
  }
  DnsMessageBytes(app, false, data, len, out);
}

void AppLayer::OnFlowEnd(flow::Flow& f, AppOutput* out) {
  dns_used_ = 0;
  FlowApp* app = Get(f);
  if (app == nullptr) return;
  if (app->proto == Proto::kUnknown && (app->tried[0] != 0 || app->tried[1] != 0) && f.proto == 6) {
    // Payload was seen but never recognised.
    app->proto = Proto::kFailed;
    ++counters_.flow_failed_tcp;
  }
  if (app->http) app->http->Close(&out->http);
}

}  // namespace rampart::applayer
