#pragma once
// The few fields of an EVE record that the envelope needs (time, type,
// 5-tuple, and for alerts the signature and severity), read without building
// a JSON tree: one pass over the line, skipping everything else. Lines come
// from the agent's own sensors and from files other programs write
// (Suricata's eve.json), so anything may arrive: a line that is not exactly
// one JSON object is refused (the caller counts it), never trusted.
//
// Thread-safe (no state).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rampart::agent_store {

struct EveFields {
  std::string event_type;
  std::optional<int64_t> timestamp_nanos;  // Parsed from "timestamp"; absent or malformed: nullopt.
  std::optional<uint64_t> flow_id;
  std::string src_ip;
  uint16_t src_port = 0;
  std::string dest_ip;
  uint16_t dest_port = 0;
  std::string proto;
  std::string app_proto;
  std::string community_id;
  // The "alert" object, when present.
  bool has_alert = false;
  std::string action;
  uint32_t gid = 0;
  uint64_t signature_id = 0;
  uint32_t rev = 0;
  std::string signature;
  std::string category;
  uint32_t severity = 0;  // 0 when absent.
};

// Fills `out` from `line` (one JSON object, surrounding blanks allowed).
// false when the line is not a well-formed JSON object (then `out` is
// unspecified). Unknown keys, nesting up to 64 levels and any value types
// are accepted; a known key with an unexpected type is ignored.
bool ParseEveFields(std::string_view line, EveFields* out);

// "2026-11-21T23:49:44.123456+0000" (EVE), also with 'Z', "+07:00", fewer or
// no fraction digits. nullopt when malformed.
std::optional<int64_t> ParseEveTimestamp(std::string_view text);

}  // namespace rampart::agent_store
