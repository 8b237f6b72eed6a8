#pragma once
// Protocols whose inspection needs only named values per message: SIP,
// SSH, Kerberos 5, SNMP, LLMNR and SMB (tree connects only: smb.share,
// smb.named_pipe). Each parser turns a flow's bytes into
// FieldRecords: one per message (SIP, Kerberos, SNMP; Suricata makes each
// a transaction) or one per flow that grows (SSH). A field is named as
// Suricata's sticky buffer that shows it ("sip.from", "ssh.hassh",
// "snmp.community"); integer values ("krb5.msg_type") are decimal text.
//
// Threads: a parser belongs to one flow, used by the worker that owns it.
// Malformed input is never an error: the parser stops on that direction
// (failed()) and counts it; nothing it produced before is lost.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::applayer {

struct FieldRecord {
  uint64_t tx_id = 0;
  // Progress per direction (0 to server, 1 to client), as the detection
  // engine's transactions: 0 nothing yet, 1 first part seen, 4 complete.
  uint8_t progress[2] = {0, 0};
  struct Field {
    uint8_t dir = 0;     // The side the value belongs to (0 client -> server).
    std::string name;    // "sip.from"; a name may repeat (one instance each).
    std::string value;
  };
  std::vector<Field> fields;
  void Add(int dir, std::string_view name, std::string_view value) {
    fields.push_back(Field{static_cast<uint8_t>(dir), std::string(name), std::string(value)});
  }
};

enum class FieldProto : uint8_t { kSip, kSsh, kKrb5, kSnmp, kSmb, kLlmnr };

class FieldParser {
 public:
  explicit FieldParser(FieldProto proto) : proto_(proto) {}
  FieldProto proto() const { return proto_; }
  // Stream bytes (TCP; `gap` when bytes are missing before them) or one
  // datagram (UDP) of direction dir (0 to server). Records that progressed
  // are appended to *out; they stay valid until ClearRecent().
  void Feed(int dir, const uint8_t* data, size_t len, bool gap, bool datagram, std::vector<FieldRecord*>* out);
  // Forgets the records and events of earlier calls (AppLayer calls it once per packet).
  void ClearRecent() {
    recent_.clear();
    events_.clear();
  }
  // App-layer events raised since ClearRecent() ("llmnr.invalid_opcode"); static strings.
  const std::vector<const char*>& events() const { return events_; }
  bool failed(int dir) const { return failed_[dir]; }
  uint64_t errors() const { return errors_; }
  // The SSH record (one per flow), for the flow's end; null for other protocols or before any.
  FieldRecord* flow_record() { return proto_ == FieldProto::kSsh && ssh_started_ ? &ssh_ : nullptr; }

 private:
  void Sip(int dir, std::string_view msg, std::vector<FieldRecord*>* out);
  void Ssh(int dir, const uint8_t* data, size_t len, std::vector<FieldRecord*>* out);
  void Krb5(int dir, const uint8_t* data, size_t len, std::vector<FieldRecord*>* out);
  void Snmp(int dir, const uint8_t* data, size_t len, std::vector<FieldRecord*>* out);
  void Smb(int dir, const uint8_t* data, size_t len, std::vector<FieldRecord*>* out);
  void Llmnr(int dir, const uint8_t* data, size_t len, std::vector<FieldRecord*>* out);
  FieldRecord* NewRecord(int dir);
  void Fail(int dir) {
    if (!failed_[dir]) ++errors_;
    failed_[dir] = true;
    buf_[dir].clear();
  }

  FieldProto proto_;
  bool failed_[2] = {false, false};
  uint64_t errors_ = 0;
  std::string buf_[2];  // Stream bytes not yet parsed.
  uint64_t next_tx_ = 0;
  std::vector<std::unique_ptr<FieldRecord>> recent_;  // Records of the current packet.
  std::vector<const char*> events_;
  // SSH: one record for the flow.
  FieldRecord ssh_;
  bool ssh_started_ = false;
  bool ssh_banner_[2] = {false, false};
  bool ssh_kex_[2] = {false, false};
  bool ssh_encrypted_[2] = {false, false};
};

// Detection helpers for app_layer.cc: whether the first bytes of a flow
// direction look like the protocol. SSH: an identification line; SIP: a
// request or status line with SIP/2.0; Kerberos: an application tag of a
// KDC message (over TCP after the record mark); SNMP: a BER message with
// version 0, 1 or 3.
bool LooksLikeSsh(const uint8_t* d, size_t n);
bool LooksLikeSip(const uint8_t* d, size_t n);
bool LooksLikeKrb5(const uint8_t* d, size_t n, bool tcp);
bool LooksLikeSnmp(const uint8_t* d, size_t n);
// A DNS-format message (LLMNR, port 5355), whatever its opcode.
bool LooksLikeLlmnr(const uint8_t* d, size_t n);
// SMB1/SMB2/SMB3 in an NBSS session message.
bool LooksLikeSmb(const uint8_t* d, size_t n);

// Protocol names as rules and EVE use them: "sip", "ssh", "krb5", "snmp", "smb", "llmnr".
std::string_view FieldProtoName(FieldProto p);

}  // namespace rampart::applayer
