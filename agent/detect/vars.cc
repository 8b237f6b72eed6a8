#include "agent/detect/vars.h"

#include <fstream>
#include <sstream>
#include <vector>

#include "agent/detect/text_util.h"

namespace rampart::detect {
namespace {

// Port groups are told apart from address groups by name, as Suricata's
// configuration keeps them in separate sections.
bool IsPortVar(std::string_view name) { return name.ends_with("_PORTS") || name.ends_with("_PORT"); }

}  // namespace

RuleVars RuleVars::Defaults() {
  RuleVars v;
  // address-groups
  v.Set("HOME_NET", "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]");
  v.Set("EXTERNAL_NET", "!$HOME_NET");
  v.Set("HTTP_SERVERS", "$HOME_NET");
  v.Set("SMTP_SERVERS", "$HOME_NET");
  v.Set("SQL_SERVERS", "$HOME_NET");
  v.Set("DNS_SERVERS", "$HOME_NET");
  v.Set("TELNET_SERVERS", "$HOME_NET");
  v.Set("AIM_SERVERS", "$EXTERNAL_NET");
  v.Set("DC_SERVERS", "$HOME_NET");
  v.Set("DNP3_SERVER", "$HOME_NET");
  v.Set("DNP3_CLIENT", "$HOME_NET");
  v.Set("MODBUS_CLIENT", "$HOME_NET");
  v.Set("MODBUS_SERVER", "$HOME_NET");
  v.Set("ENIP_CLIENT", "$HOME_NET");
  v.Set("ENIP_SERVER", "$HOME_NET");
  // port-groups
  v.Set("HTTP_PORTS", "80");
  v.Set("SHELLCODE_PORTS", "!80");
  v.Set("ORACLE_PORTS", "1521");
  v.Set("SSH_PORTS", "22");
  v.Set("DNP3_PORTS", "20000");
  v.Set("MODBUS_PORTS", "502");
  v.Set("FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]");
  v.Set("FTP_PORTS", "21");
  v.Set("GENEVE_PORTS", "6081");
  v.Set("VXLAN_PORTS", "4789");
  v.Set("TEREDO_PORTS", "3544");
  v.Set("SIP_PORTS", "[5060,5061]");
  return v;
}

void RuleVars::Set(std::string_view name, std::string_view value) {
  if (!name.empty() && name[0] == '$') name.remove_prefix(1);
  vars_[std::string(name)] = std::string(value);
}

std::optional<std::string> RuleVars::Get(std::string_view name) const {
  auto it = vars_.find(name);
  if (it == vars_.end()) return std::nullopt;
  return it->second;
}

VarLookup RuleVars::Lookup() const {
  return [this](std::string_view name) { return Get(name); };
}

Status RuleVars::Validate() const {
  std::vector<std::string> problems;
  const VarLookup lookup = Lookup();
  for (const auto& [name, value] : vars_) {
    if (IsPortVar(name)) {
      if (auto r = PortSet::Parse(value, lookup); !r) problems.push_back("$" + name + ": " + r.error().message());
    } else {
      if (auto r = IpSet::Parse(value, lookup); !r) problems.push_back("$" + name + ": " + r.error().message());
    }
  }
  if (problems.empty()) return Status::Ok();
  std::string msg;
  for (const auto& p : problems) msg += (msg.empty() ? "" : "\n") + p;
  return InvalidArgumentError(msg);
}

Result<Classifications> Classifications::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFoundError("classification file " + path + ": cannot be opened");
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), path);
}

Result<Classifications> Classifications::Parse(std::string_view text, std::string_view name) {
  Classifications c;
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = Trim(text.substr(pos, nl - pos));
    pos = nl + 1;
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    constexpr std::string_view kPrefix = "config classification:";
    if (!line.starts_with(kPrefix)) {
      return InvalidArgumentError(std::string(name) + ":" + std::to_string(line_no) +
                                  ": expected 'config classification: name,description,priority'");
    }
    auto parts = Split(line.substr(kPrefix.size()), ',');
    if (parts.size() < 3) {
      return InvalidArgumentError(std::string(name) + ":" + std::to_string(line_no) +
                                  ": expected three comma-separated fields: name,description,priority");
    }
    // The description may itself contain commas: the priority is the last field.
    auto prio = ParseUint(parts.back());
    if (!prio || *prio > 255) {
      return InvalidArgumentError(std::string(name) + ":" + std::to_string(line_no) + ": priority '" +
                                  std::string(parts.back()) + "' is not a number");
    }
    ClassInfo info;
    info.name = std::string(parts[0]);
    std::string_view whole = Trim(line.substr(kPrefix.size()));
    size_t first = whole.find(',');
    size_t last = whole.rfind(',');
    info.description = std::string(Trim(whole.substr(first + 1, last - first - 1)));
    info.priority = static_cast<int>(*prio);
    c.classes_[info.name] = std::move(info);
    if (nl == text.size()) break;
  }
  return c;
}

Classifications Classifications::Builtin() {
  // The table Suricata ships in classification.config.
  static constexpr std::string_view kTable =
      "config classification: not-suspicious,Not Suspicious Traffic,3\n"
      "config classification: unknown,Unknown Traffic,3\n"
      "config classification: bad-unknown,Potentially Bad Traffic, 2\n"
      "config classification: attempted-recon,Attempted Information Leak,2\n"
      "config classification: successful-recon-limited,Information Leak,2\n"
      "config classification: successful-recon-largescale,Large Scale Information Leak,2\n"
      "config classification: attempted-dos,Attempted Denial of Service,2\n"
      "config classification: successful-dos,Denial of Service,2\n"
      "config classification: attempted-user,Attempted User Privilege Gain,1\n"
      "config classification: unsuccessful-user,Unsuccessful User Privilege Gain,1\n"
      "config classification: successful-user,Successful User Privilege Gain,1\n"
      "config classification: attempted-admin,Attempted Administrator Privilege Gain,1\n"
      "config classification: successful-admin,Successful Administrator Privilege Gain,1\n"
      "config classification: rpc-portmap-decode,Decode of an RPC Query,2\n"
      "config classification: shellcode-detect,Executable code was detected,1\n"
      "config classification: string-detect,A suspicious string was detected,3\n"
      "config classification: suspicious-filename-detect,A suspicious filename was detected,2\n"
      "config classification: suspicious-login,An attempted login using a suspicious username was detected,2\n"
      "config classification: system-call-detect,A system call was detected,2\n"
      "config classification: tcp-connection,A TCP connection was detected,4\n"
      "config classification: trojan-activity,A Network Trojan was detected, 1\n"
      "config classification: unusual-client-port-connection,A client was using an unusual port,2\n"
      "config classification: network-scan,Detection of a Network Scan,3\n"
      "config classification: denial-of-service,Detection of a Denial of Service Attack,2\n"
      "config classification: non-standard-protocol,Detection of a non-standard protocol or event,2\n"
      "config classification: protocol-command-decode,Generic Protocol Command Decode,3\n"
      "config classification: web-application-activity,access to a potentially vulnerable web application,2\n"
      "config classification: web-application-attack,Web Application Attack,1\n"
      "config classification: misc-activity,Misc activity,3\n"
      "config classification: misc-attack,Misc Attack,2\n"
      "config classification: icmp-event,Generic ICMP event,3\n"
      "config classification: inappropriate-content,Inappropriate Content was Detected,1\n"
      "config classification: policy-violation,Potential Corporate Privacy Violation,1\n"
      "config classification: default-login-attempt,Attempt to login by a default username and password,2\n"
      "config classification: targeted-activity,Targeted Malicious Activity was Detected,1\n"
      "config classification: exploit-kit,Exploit Kit Activity Detected,1\n"
      "config classification: external-ip-check,Device Retrieving External IP Address Detected,2\n"
      "config classification: domain-c2,Domain Observed Used for C2 Detected,1\n"
      "config classification: pup-activity,Possibly Unwanted Program Detected,2\n"
      "config classification: credential-theft,Successful Credential Theft Detected,1\n"
      "config classification: social-engineering,Possible Social Engineering Attempted,2\n"
      "config classification: coin-mining,Crypto Currency Mining Activity Detected,2\n"
      "config classification: command-and-control,Malware Command and Control Activity Detected,1\n"
      "config classification: kickass-porn,SCORE! Get the lotion!,1\n";
  auto r = Parse(kTable, "builtin");
  return r ? std::move(*r) : Classifications();
}

const ClassInfo* Classifications::Find(std::string_view name) const {
  auto it = classes_.find(name);
  return it == classes_.end() ? nullptr : &it->second;
}

}  // namespace rampart::detect
