#pragma once
// Content inspection: walks a rule's match list (content, pcre, byte_*,
// isdataat, bsize, ...) over one buffer with Suricata's relative-offset
// semantics, including the retry of an earlier content at its next
// occurrence when a relative keyword after it fails.
//
// Pure functions of the list, the buffer and a per-worker InspectState;
// safe to call from any worker concurrently with its own state.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "agent/detect/regex.h"
#include "agent/detect/rule.h"

namespace rampart::detect {

struct InspectState {
  uint64_t vars[kMaxRuleVars] = {};  // byte_extract / byte_math results.
  uint32_t buffer_offset = 0;        // End of the previous match (relative keywords start here).
  uint32_t pcre_match_start = 0;     // Where a retried pcre searches from.
  uint32_t max_match_end = 0;        // Furthest end of a positive content/pcre match.
  int recursion = 0;
  int recursion_limit = 3000;        // Suricata's inspection-recursion-limit.
  uint64_t stream_start_offset = 0;  // Absolute offset of the buffer in the stream (depth handling).
  bool eof = true;                   // The buffer is complete (bsize needs it to say "too short").
  RegexScratch* regex = nullptr;     // Required when the list has pcre.
  std::string b64;                   // base64_decode output.
  // The base64_data keywords of the list being inspected (may be null).
  const std::vector<SigMatch>* b64_list = nullptr;

  void Reset() {
    buffer_offset = 0;
    pcre_match_start = 0;
    max_match_end = 0;
    recursion = 0;
  }
};

// True when the list matches `buf`. Variables in `st.vars` persist across
// lists of one rule (byte_extract in one list, used later), so reset them
// per rule, not per list.
bool InspectList(const std::vector<SigMatch>& list, std::span<const uint8_t> buf, InspectState& st);

// The list of a buffer that does not exist matches only if it expects
// absence (absent; or absent:or_else).
bool ListMatchesAbsentBuffer(const std::vector<SigMatch>& list);

// Searches for a content's pattern (honouring nocase) in [hay, hay+n).
const uint8_t* FindContent(const ContentMatch& c, const uint8_t* hay, size_t n);

// Applies a buffer's transforms to `in`, writing the result to `out`
// (which may be reused across calls). Returns false when a transform
// cannot produce a buffer (the list then sees no buffer).
bool ApplyTransforms(const std::vector<Transform>& transforms, std::span<const uint8_t> in, std::string* out,
                     RegexScratch& regex);

// Base64 as Suricata's from_base64/base64_decode decode it.
std::string DecodeBase64(std::span<const uint8_t> in, Transform::B64Mode mode);

}  // namespace rampart::detect
