// FieldParser: SIP (with SDP), SSH, Kerberos 5, SNMP, SMB tree connects and
// LLMNR turned into named fields; malformed input stops a direction.

#include "agent/applayer/fields.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>
#include <vector>

namespace rampart::applayer {
namespace {

std::vector<std::string> Values(const std::vector<FieldRecord*>& recs, std::string_view name) {
  std::vector<std::string> out;
  for (const FieldRecord* r : recs) {
    for (const auto& f : r->fields) {
      if (f.name == name) out.push_back(f.value);
    }
  }
  return out;
}

void Feed(FieldParser& p, int dir, std::string_view bytes, bool datagram, std::vector<FieldRecord*>* out) {
  p.Feed(dir, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), false, datagram, out);
}

std::string Md5Hex(std::string_view s) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), d, &n, EVP_md5(), nullptr);
  std::string out;
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned i = 0; i < n; ++i) {
    out.push_back(kHex[d[i] >> 4]);
    out.push_back(kHex[d[i] & 15]);
  }
  return out;
}

TEST(SipFields, RequestWithCompactHeadersAndSdp) {
  const std::string body =
      "v=0\r\no=alice 1 1 IN IP4 192.0.2.1\r\ns=call\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
      "m=audio 30000 RTP/AVP 0\r\na=sendrecv\r\n";
  const std::string msg = "INVITE sip:bob@example.org SIP/2.0\r\nv: SIP/2.0/UDP a.example\r\n"
                          "Via: SIP/2.0/UDP b.example\r\nf: <sip:alice@example.org>\r\nt: <sip:bob@example.org>\r\n"
                          "User-Agent: phone/1\r\nc: application/sdp\r\nl: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
  ASSERT_TRUE(LooksLikeSip(reinterpret_cast<const uint8_t*>(msg.data()), msg.size()));
  FieldParser p(FieldProto::kSip);
  std::vector<FieldRecord*> out;
  Feed(p, 0, msg, true, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]->progress[0], 4);
  EXPECT_EQ(Values(out, "sip.method"), std::vector<std::string>{"INVITE"});
  EXPECT_EQ(Values(out, "sip.uri"), std::vector<std::string>{"sip:bob@example.org"});
  EXPECT_EQ(Values(out, "sip.via").size(), 2u);
  EXPECT_EQ(Values(out, "sip.from"), std::vector<std::string>{"<sip:alice@example.org>"});
  EXPECT_EQ(Values(out, "sip.user_agent"), std::vector<std::string>{"phone/1"});
  EXPECT_EQ(Values(out, "sdp.origin"), std::vector<std::string>{"alice 1 1 IN IP4 192.0.2.1"});
  EXPECT_EQ(Values(out, "sdp.media.media"), std::vector<std::string>{"audio 30000 RTP/AVP 0"});
  EXPECT_EQ(Values(out, "sdp.media.attribute"), std::vector<std::string>{"sendrecv"});
  EXPECT_TRUE(Values(out, "sdp.attribute").empty());  // After m= it belongs to the media.
}

TEST(SipFields, DirectionsAndTcpSplitMessages) {
  FieldParser p(FieldProto::kSip);
  std::vector<FieldRecord*> out;
  // A response travelling to the server is not parsed (as Suricata).
  Feed(p, 0, "SIP/2.0 200 OK\r\n\r\n", true, &out);
  EXPECT_TRUE(out.empty());
  // Over TCP, a message split in two with a body.
  const std::string m = "SIP/2.0 180 Ringing\r\nContent-Length: 4\r\n\r\nabcdSIP/2.0 200 OK\r\n\r\n";
  p.ClearRecent();
  Feed(p, 1, m.substr(0, 30), false, &out);
  EXPECT_TRUE(out.empty());
  Feed(p, 1, m.substr(30), false, &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(Values(out, "sip.stat_code"), (std::vector<std::string>{"180", "200"}));
  EXPECT_NE(out[0]->tx_id, out[1]->tx_id);
}

std::string SshPacket(uint8_t type, const std::string& payload) {
  const uint8_t pad = 4;
  const uint32_t len = static_cast<uint32_t>(1 + 1 + payload.size() + pad);
  std::string p;
  for (int s = 24; s >= 0; s -= 8) p.push_back(static_cast<char>(len >> s));
  p.push_back(static_cast<char>(pad));
  p.push_back(static_cast<char>(type));
  p += payload;
  p.append(pad, '\0');
  return p;
}

std::string NameList(const std::string& s) {
  std::string o;
  const uint32_t n = static_cast<uint32_t>(s.size());
  for (int k = 24; k >= 0; k -= 8) o.push_back(static_cast<char>(n >> k));
  return o + s;
}

TEST(SshFields, BannerAndHassh) {
  FieldParser p(FieldProto::kSsh);
  std::vector<FieldRecord*> out;
  std::string kex(16, 'c');  // cookie
  const char* lists[10] = {"curve25519-sha256", "ssh-ed25519", "aes128-ctr", "aes256-ctr", "hmac-sha2-256",
                           "hmac-sha1", "none", "zlib", "", ""};
  for (const char* l : lists) kex += NameList(l);
  kex += std::string(5, '\0');
  const std::string client = "SSH-2.0-OpenSSH_9.2p1 Debian\r\n" + SshPacket(20, kex);
  Feed(p, 0, client.substr(0, 10), false, &out);
  Feed(p, 0, client.substr(10), false, &out);
  ASSERT_FALSE(out.empty());
  const FieldRecord* r = out.back();
  EXPECT_EQ(r->progress[0], 2);
  EXPECT_EQ(Values(out, "ssh.proto").front(), "2.0");
  EXPECT_EQ(Values(out, "ssh.software").front(), "OpenSSH_9.2p1");
  const std::string hs = "curve25519-sha256;aes128-ctr;hmac-sha2-256;none";
  EXPECT_EQ(Values(out, "ssh.hassh.string").front(), hs);
  EXPECT_EQ(Values(out, "ssh.hassh").front(), Md5Hex(hs));
  // A packet length beyond any SSH packet ends parsing of that side.
  out.clear();
  p.ClearRecent();
  Feed(p, 1, std::string("SSH-2.0-x\r\n") + std::string("\xff\xff\xff\xff\x00\x14", 6), false, &out);
  EXPECT_TRUE(p.failed(1));
  EXPECT_FALSE(p.failed(0));
}

TEST(Krb5Fields, TcpRecordsAcrossSegments) {
  // AS-REQ: [APPLICATION 10] { SEQUENCE {...} }, behind a 4-byte record mark.
  const std::string msg("\x6a\x05\x30\x03\x02\x01\x05", 7);
  std::string rec("\x00\x00\x00\x07", 4);
  rec += msg;
  ASSERT_TRUE(LooksLikeKrb5(reinterpret_cast<const uint8_t*>(rec.data()), rec.size(), true));
  FieldParser p(FieldProto::kKrb5);
  std::vector<FieldRecord*> out;
  Feed(p, 0, rec.substr(0, 5), false, &out);
  EXPECT_TRUE(out.empty());
  Feed(p, 0, rec.substr(5), false, &out);
  EXPECT_EQ(Values(out, "krb5.msg_type"), std::vector<std::string>{"10"});
  // A record mark beyond the limit stops the direction.
  Feed(p, 0, std::string("\x7f\x00\x00\x00", 4), false, &out);
  EXPECT_TRUE(p.failed(0));
}

TEST(SnmpFields, Community) {
  // SNMPv2c GetRequest, community "public".
  const std::string m("\x30\x1a\x02\x01\x01\x04\x06public\xa0\x0d\x02\x01\x01\x02\x01\x00\x02\x01\x00\x30\x02\x05\x00",
                      28);
  ASSERT_TRUE(LooksLikeSnmp(reinterpret_cast<const uint8_t*>(m.data()), m.size()));
  FieldParser p(FieldProto::kSnmp);
  std::vector<FieldRecord*> out;
  Feed(p, 0, m, true, &out);
  EXPECT_EQ(Values(out, "snmp.community"), std::vector<std::string>{"public"});
  EXPECT_EQ(Values(out, "snmp.version"), std::vector<std::string>{"2"});
  EXPECT_EQ(Values(out, "snmp.pdu_type"), std::vector<std::string>{"0"});
  // Truncated BER: counted, nothing produced.
  out.clear();
  Feed(p, 0, m.substr(0, 9), true, &out);
  EXPECT_TRUE(Values(out, "snmp.community").empty());
}

TEST(SmbFields, Smb2TreeConnectToIpc) {
  std::string smb(64, '\0');
  smb[0] = static_cast<char>(0xfe);
  smb[1] = 'S';
  smb[2] = 'M';
  smb[3] = 'B';
  smb[12] = 3;  // TREE_CONNECT
  const std::string path = "\\\\srv\\IPC$";
  std::string u16;
  for (char c : path) u16 += std::string{c, '\0'};
  std::string body("\x09\x00\x00\x00", 4);
  const uint16_t off = 64 + 8;
  body.push_back(static_cast<char>(off & 0xff));
  body.push_back(static_cast<char>(off >> 8));
  body.push_back(static_cast<char>(u16.size()));
  body.push_back('\0');
  smb += body + u16;
  std::string nbss("\x00\x00", 2);
  nbss.push_back(static_cast<char>(smb.size() >> 8));
  nbss.push_back(static_cast<char>(smb.size() & 0xff));
  nbss += smb;
  ASSERT_TRUE(LooksLikeSmb(reinterpret_cast<const uint8_t*>(nbss.data()), nbss.size()));
  FieldParser p(FieldProto::kSmb);
  std::vector<FieldRecord*> out;
  Feed(p, 0, nbss, false, &out);
  EXPECT_EQ(Values(out, "smb.named_pipe"), std::vector<std::string>{path});
  EXPECT_TRUE(Values(out, "smb.share").empty());
  // A path offset outside the message yields nothing.
  out.clear();
  nbss[4 + 64 + 4] = static_cast<char>(0xf0);
  Feed(p, 0, nbss, false, &out);
  EXPECT_TRUE(out.empty());
}

TEST(LlmnrFields, QueryNamesAndInvalidOpcode) {
  // Query id 1, opcode 5 (invalid for LLMNR), one question "wpad".
  const std::string m("\x00\x01\x28\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04wpad\x00\x00\x01\x00\x01", 22);
  ASSERT_TRUE(LooksLikeLlmnr(reinterpret_cast<const uint8_t*>(m.data()), m.size()));
  FieldParser p(FieldProto::kLlmnr);
  std::vector<FieldRecord*> out;
  Feed(p, 0, m, true, &out);
  EXPECT_EQ(Values(out, "llmnr.queries.rrname"), std::vector<std::string>{"wpad"});
  ASSERT_EQ(p.events().size(), 1u);
  EXPECT_STREQ(p.events()[0], "llmnr.invalid_opcode");
}

}  // namespace
}  // namespace rampart::applayer
