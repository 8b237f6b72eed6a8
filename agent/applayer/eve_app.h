#pragma once
// The app-layer objects of EVE records, with Suricata's field names: the
// "http", "dns" and "tls" members of http/dns/tls records and of alerts.

#include "agent/applayer/dns.h"
#include "agent/applayer/http.h"
#include "agent/applayer/quic.h"
#include "agent/applayer/tls.h"
#include "common/eve/json_writer.h"

namespace rampart::applayer {

// "http": {hostname, url, http_user_agent, http_content_type, http_refer,
// http_method, protocol, status, redirect, length}.
void WriteHttpObject(eve::JsonWriter& w, const HttpTx& tx);
// "dns": one query (Suricata's version 2 request record, one per question).
void WriteDnsQueryObject(eve::JsonWriter& w, const DnsMessage& m, const DnsQuestion& q);
// "dns": an answer (version 2 response record: flags, rcode, answers, authorities).
void WriteDnsAnswerObject(eve::JsonWriter& w, const DnsMessage& m);
// "dns" as alerts carry it: {"query": [...]} for a request, {"answer": {...}} for a response.
void WriteDnsAlertObject(eve::JsonWriter& w, const DnsMessage& m);
// "tls": {subject, issuerdn, serial, fingerprint, sni, version, notbefore, notafter, ja3, ja3s}.
void WriteTlsObject(eve::JsonWriter& w, const TlsInfo& t);

// "quic": {version, sni}.
void WriteQuicObject(eve::JsonWriter& w, const QuicInfo& q);

}  // namespace rampart::applayer
