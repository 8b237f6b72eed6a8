#pragma once
// Internal to controller/store: key layouts and the compact binary encodings
// of index entries. Exposed in a header for the store's own .cc files, its
// unit tests and the ingest fuzzer only.
//
// Column family "idx" holds every secondary index; its layout is beside
// IndexTag below.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::controller_store::detail {

inline constexpr size_t kPositionSize = 20;

// The first byte of every key in "idx": which index the row belongs to.
// After the tag comes the index's own prefix, then the position
// ts(8) agent(4) seq(8): observed time (sign bit flipped, big-endian), the
// agent's number in the registry's dictionary, the agent's sequence. The
// value is the event's Summary, so a list never opens the event itself.
//
//   S site(4) ts a s        every event, by site (site 0: none)
//   K kind(1) ts a s        events of the kinds with their own index
//                           (KindHasOwnIndex; alerts: K\x01)
//   V sev(1) ts a s         alerts by severity
//   G sid(8) ts a s         alerts by signature id
//   A agent(4) ts a s       alerts by agent
//   L site(4) ts a s        alerts by site
//   I ip(16) ts a s         alerts by address (source and destination)
//
// The time index is partitioned by site: S rows are (site, time), and a
// list of all events by time merges the sites' ranges (keyset pagination
// works the same on a merge); there is no separate all-events row, and
// bulk telemetry has no K rows. Each index row is a memtable
// insert, a flush and compactions' worth of work for every event; an
// all-events index interleaving every agent was the writer's single largest
// cost (docs/PERFORMANCE.md). Stores written before hold T (all events by
// time) and K rows for every kind; queries never read T, and retention
// deletes both.
//
// The values are bytes on disk: never renumber one.
enum class IndexTag : char {
  kSite = 'S',
  kKind = 'K',
  kSeverity = 'V',
  kSignature = 'G',
  kAgent = 'A',
  kAlertSite = 'L',
  kAddress = 'I',
  kOldTime = 'T',  // The old all-events time index; only retention reads it, to delete it.
};
// The one-byte prefix of an index: its tag.
inline std::string IndexPrefix(IndexTag tag) { return std::string(1, static_cast<char>(tag)); }

// Position = ts(8) agent(4) seq(8).
std::string EncodePosition(int64_t ts, uint32_t agent, uint64_t seq);
struct Position {
  int64_t ts = 0;
  uint32_t agent = 0;
  uint64_t seq = 0;
};
std::optional<Position> DecodePosition(std::string_view bytes);
// Big-endian with the sign bit flipped, so negative times sort first.
void AppendTime(std::string* out, int64_t ts);
int64_t ReadTime(std::string_view bytes);
void AppendU32(std::string* out, uint32_t v);
uint32_t ReadU32(std::string_view bytes);

// Primary key of an event: agent(4) seq(8).
std::string EventKey(uint32_t agent, uint64_t seq);

// 16 bytes: IPv6, or IPv4 mapped into ::ffff:0:0/96. nullopt if unparsable.
std::optional<std::array<uint8_t, 16>> ParseAddress(std::string_view text);
std::string FormatAddress(const std::array<uint8_t, 16>& a);
// IP protocol number for "TCP", "UDP", "ICMP", "IPv6-ICMP", "SCTP" or a
// decimal number; 0 when unknown.
uint8_t ProtoNumber(std::string_view proto);

// What every index entry holds.
struct Summary {
  uint8_t kind = 0;
  uint8_t severity = 0;
  uint32_t site = 0;    // Site number; 0 = none.
  uint64_t signature_id = 0;
  uint8_t proto = 0;
  uint16_t src_port = 0;
  uint16_t dest_port = 0;
  std::optional<std::array<uint8_t, 16>> src;
  std::optional<std::array<uint8_t, 16>> dest;
  int64_t stored_nanos = 0;
};
std::string EncodeSummary(const Summary& s);
void AppendSummary(std::string* out, const Summary& s);  // The same bytes, appended.
// nullopt for anything that is not an encoding this version wrote.
std::optional<Summary> DecodeSummary(std::string_view bytes);

// Whether events of this kind get K rows. Kinds every sensor emits in bulk
// (flows, DNS, HTTP and TLS records, sensor counters, probe results) do
// not: they are most of what the site index holds, so a site merge with a
// kind filter lists them at little cost, and a kind index would cost every
// such event a second row. Alerts, anomalies, host events and link states
// are what analysts look for among millions of others, so they keep theirs.
bool KindHasOwnIndex(uint8_t kind);

// Every index key of one event (alerts get the alert indexes too).
std::vector<std::string> IndexKeys(const Summary& s, int64_t ts, uint32_t agent, uint64_t seq);

// One index key in a fixed buffer: the writer's form (no allocation per
// key; the longest is tag + address + position = 37 bytes).
struct IndexKey {
  std::array<char, 40> bytes;
  uint8_t size = 0;
  std::string_view view() const { return {bytes.data(), size}; }
};
inline constexpr size_t kMaxIndexKeys = 8;
// Writes the keys IndexKeys returns, in the same order, into `out`; returns
// how many (at most kMaxIndexKeys).
size_t MakeIndexKeys(const Summary& s, int64_t ts, uint32_t agent, uint64_t seq, IndexKey* out);

// Cursor: a position and the direction it was made for, base64url.
std::string EncodeCursor(std::string_view position, bool oldest_first);
std::optional<std::string> DecodeCursor(std::string_view cursor, bool oldest_first);

// Case-insensitive (ASCII) substring test.
bool ContainsFolded(std::string_view haystack, std::string_view needle);

}  // namespace rampart::controller_store::detail
