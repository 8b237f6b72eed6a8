// The matcher on hostile data. Input: optional rule text, a NUL byte, then
// the data (without a NUL, the data runs against a fixed rule set using
// every kind of keyword). The data is inspected as a TCP packet payload, as
// reassembled stream data, as a UDP and an ICMP payload, and as every
// app-layer buffer of HTTP, DNS and TLS transactions.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/detect/engine.h"
#include "agent/detect/input.h"
#include "agent/detect/ruleset.h"
#include "agent/detect/vars.h"

namespace {

using namespace rampart::detect;

constexpr std::string_view kFixedRules = R"RULES(
alert tcp any any -> any any (msg:"content modifiers"; content:"abc"; nocase; offset:1; depth:20; content:"def"; distance:0; within:10; content:!"xyz"; sid:1;)
alert tcp any any -> any any (msg:"startswith endswith"; content:"GET"; startswith; content:"|0d 0a 0d 0a|"; endswith; sid:2;)
alert tcp any any -> any any (msg:"pcre relative"; content:"user"; pcre:"/^\s*=\s*(\w+)/R"; pcre:"/(a|b)+c{2,5}$/smi"; sid:3;)
alert tcp any any -> any any (msg:"byte ops"; content:"|01|"; byte_extract:2,0,len,relative,little; byte_test:2,>,len,0,relative; byte_jump:2,0,relative,multiplier 2,post_offset -1; isdataat:2,relative; byte_math:bytes 1,offset 0,oper +,rvalue len,result sum,relative; byte_test:1,!=,sum,0; sid:4;)
alert tcp any any -> any any (msg:"byte strings"; content:"len="; byte_extract:4,0,n,relative,string,dec; byte_jump:3,0,relative,string,hex,align; byte_test:3,&,7,-2,relative,string,oct; isdataat:!n,relative; sid:5;)
alert tcp any any -> any any (msg:"base64"; content:"b64:"; base64_decode:bytes 40,offset 0,relative; base64_data; content:"secret"; sid:6;)
alert tcp any any -> any any (msg:"dsize and flags"; dsize:5<>400; flags:PA,CU; flow:established,to_server; sid:7;)
alert tcp any any -> any any (msg:"flowbits"; content:"login"; flowbits:set,auth; flowbits:noalert; sid:8;)
alert tcp any any -> any any (msg:"flowbits isset"; content:"pass"; flowbits:isset,auth; flowbits:toggle,auth; threshold:type limit,track by_src,count 2,seconds 60; sid:9;)
alert tcp any any -> any any (msg:"stream only"; flow:only_stream; content:"stream"; fast_pattern; content:"x"; distance:-3; within:8; sid:10;)
alert udp any any -> any any (msg:"udp"; content:"|00 00|"; depth:4; byte_test:1,>,3,4; detection_filter:track by_dst,count 2,seconds 10; sid:11;)
alert icmp any any -> any any (msg:"icmp"; itype:>2; icode:<5; content:"ping"; sid:12;)
alert http any any -> any any (msg:"http uri"; http.uri; content:"/admin"; http.method; content:"POST"; http.header; content:"Cookie"; nocase; sid:13;)
alert http any any -> any any (msg:"http transforms"; http.uri; url_decode; to_lowercase; compress_whitespace; content:"select from"; sid:14;)
alert http any any -> any any (msg:"http more transforms"; http.request_body; strip_whitespace; to_uppercase; dotprefix; content:".ABC"; bsize:>3; sid:15;)
alert http any any -> any any (msg:"hashes"; http.host; to_md5; content:"|00|"; sid:16;)
alert http any any -> any any (msg:"hashes 2"; http.user_agent; to_sha1; to_sha256; content:"|ff|"; sid:17;)
alert http any any -> any any (msg:"file data"; flow:to_client; file_data; content:"MZ"; depth:2; pcre:"/PE\x00\x00/R"; sid:18;)
alert http any any -> any any (msg:"decompress"; file_data; gunzip; content:"evil"; sid:19;)
alert http any any -> any any (msg:"zlib"; file_data; zlib_deflate; content:"evil"; sid:20;)
alert http any any -> any any (msg:"xor"; http.uri; xor:"0d0ac8ff"; content:"hello"; sid:21;)
alert http any any -> any any (msg:"header lines"; http.request_header; content:"X-"; startswith; sid:22;)
alert http any any -> any any (msg:"status"; http.stat_code; content:"200"; http.stat_msg; content:"OK"; http.response_line; pcre:"/^HTTP\/1\.[01]/"; sid:23;)
alert dns any any -> any any (msg:"dns"; dns.query; content:"example"; nocase; pcre:"/[a-z0-9]{20,}/"; sid:24;)
alert dns any any -> any any (msg:"dns bsize"; dns.query; bsize:>20; dotprefix; content:".com"; endswith; sid:25;)
alert tls any any -> any any (msg:"tls sni"; tls.sni; content:"bad"; tls.cert_subject; content:"CN="; sid:26;)
alert tls any any -> any any (msg:"ja3"; ja3.hash; content:"e7d705a3286e19ea42f587b344ee6865"; sid:27;)
alert http any any -> any any (msg:"header subslice"; http.header; subslice:2,10; content:"ab"; sid:28;)
alert http any any -> any any (msg:"pcrexform"; http.uri; pcrexform:"id=([0-9]+)"; content:"12"; sid:29;)
alert tcp any any -> any any (msg:"negated relative"; content:"a"; content:!"b"; within:1; isdataat:!10,relative; sid:30;)
)RULES";

// Every buffer is the data; multi-instance buffers are its lines.
class FuzzTx final : public TxView {
 public:
  FuzzTx(std::string_view data, AppProto proto) : data_(data), proto_(proto) {}
  uint64_t id() const override { return 0; }
  AppProto proto() const override { return proto_; }
  TxProgress progress(Dir d) const override {
    (void)d;
    return TxProgress::kComplete;
  }
  bool GetBuffer(BufferId buffer, Dir side, uint32_t index, std::string* scratch,
                 std::span<const uint8_t>* out) const override {
    (void)side;
    const bool multi = buffer == BufferId::kHttpRequestHeader || buffer == BufferId::kHttpResponseHeader ||
                       buffer == BufferId::kDnsQuery || buffer == BufferId::kTlsCerts;
    std::string_view v = data_;
    if (multi) {
      for (uint32_t i = 0; i < index; ++i) {
        const size_t nl = v.find('\n');
        if (nl == std::string_view::npos) return false;
        v.remove_prefix(nl + 1);
      }
      v = v.substr(0, v.find('\n'));
    } else if (index > 0) {
      return false;
    }
    scratch->assign(v);
    *out = {reinterpret_cast<const uint8_t*>(scratch->data()), scratch->size()};
    return true;
  }
  bool HasEvent(std::string_view name) const override { return data_.find(name) != std::string_view::npos; }
  uint16_t TlsVersion() const override { return data_.empty() ? 0 : static_cast<uint16_t>(0x0300 | (data_[0] & 3)); }

 private:
  std::string_view data_;
  AppProto proto_;
};

struct Built {
  std::string text;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Detector> detector;
};

Built* Get(std::string_view rules) {
  static RuleVars vars = RuleVars::Defaults();
  static Classifications classes = Classifications::Builtin();
  static Built fixed;
  static Built last;
  Built* b = rules.empty() ? &fixed : &last;
  if (b->engine != nullptr && b->text == (rules.empty() ? kFixedRules : rules)) return b;
  b->text = std::string(rules.empty() ? kFixedRules : rules);
  b->detector.reset();
  b->engine.reset();
  RuleLoader loader(vars, classes);
  loader.LoadText(b->text, "fuzz.rules");
  auto engine = Engine::Build(loader.Take());
  if (!engine) return nullptr;
  b->engine = std::move(*engine);
  auto detector = Detector::Create(*b->engine);
  if (!detector) return nullptr;
  b->detector = std::move(*detector);
  return b;
}

PacketInput Packet(uint8_t proto, std::span<const uint8_t> payload, FlowDetectState* flow, Dir dir, int64_t t) {
  PacketInput p;
  p.timestamp_nanos = t;
  p.ip_version = 4;
  p.proto = proto;
  p.client = IpAddr::V4(0x0a000001);
  p.server = IpAddr::V4(0xc0000201);
  p.client_port = 40000;
  p.server_port = proto == 17 ? 53 : 80;
  p.src = dir == Dir::kToServer ? p.client : p.server;
  p.dst = dir == Dir::kToServer ? p.server : p.client;
  p.sport = dir == Dir::kToServer ? p.client_port : p.server_port;
  p.dport = dir == Dir::kToServer ? p.server_port : p.client_port;
  p.has_ports = proto != 1;
  p.tcp_flags = 0x18;
  p.ttl = 64;
  if (proto == 1) {
    p.has_icmp = true;
    p.icmp_type = payload.empty() ? 8 : payload[0];
    p.icmp_code = payload.size() > 1 ? payload[1] : 0;
  }
  p.payload = payload;
  p.dir = dir;
  p.flow = flow;
  p.established = flow != nullptr;
  p.flow_pkts[0] = p.flow_pkts[1] = 1;
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 65536) return 0;
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const size_t nul = all.find('\0');
  std::string_view rules, payload = all;
  if (nul != std::string_view::npos && nul > 0 && nul < 4096) {
    rules = all.substr(0, nul);
    payload = all.substr(nul + 1);
  }
  Built* b = Get(rules);
  if (b == nullptr) return 0;
  Detector& det = *b->detector;
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  std::vector<Alert> alerts;
  int64_t t = 1'700'000'000'000'000'000;
  // TCP: packet, stream chunks (split in two), then flow end.
  {
    auto flow = det.NewFlowState();
    PacketInput p = Packet(6, bytes, flow.get(), Dir::kToServer, t += 1000);
    const size_t half = bytes.size() / 2;
    const PacketInput::Chunk c1{Dir::kToServer, bytes.subspan(0, half), 0, false};
    p.stream_added = true;
    p.chunks = std::span<const PacketInput::Chunk>(&c1, 1);
    det.Inspect(p, {}, &alerts);
    const PacketInput::Chunk c2{Dir::kToServer, bytes.subspan(half), half, false};
    PacketInput q = Packet(6, bytes.subspan(half), flow.get(), Dir::kToServer, t += 1000);
    q.stream_added = true;
    q.chunks = std::span<const PacketInput::Chunk>(&c2, 1);
    det.Inspect(q, {}, &alerts);
    PacketInput end = Packet(6, {}, flow.get(), Dir::kToServer, t += 1000);
    end.pseudo = true;
    det.Inspect(end, {}, &alerts);
  }
  // UDP and ICMP without and with a flow.
  det.Inspect(Packet(17, bytes, nullptr, Dir::kToServer, t += 1000), {}, &alerts);
  det.Inspect(Packet(1, bytes, nullptr, Dir::kToServer, t += 1000), {}, &alerts);
  // Transactions of each parsed protocol, both directions.
  for (AppProto proto : {AppProto::kHttp1, AppProto::kDns, AppProto::kTls}) {
    auto flow = det.NewFlowState();
    const FuzzTx tx(payload, proto);
    const TxView* txs[] = {&tx};
    for (Dir d : {Dir::kToServer, Dir::kToClient}) {
      PacketInput p = Packet(proto == AppProto::kDns ? 17 : 6, {}, flow.get(), d, t += 1000);
      p.app_proto = proto;
      p.app_proto_orig = proto;
      det.Inspect(p, txs, &alerts);
    }
    det.ForgetTx(*flow, 0);
  }
  return 0;
}
