#pragma once
// PCRE2 with JIT for the pcre keyword (and the pcrexform transform).
//
// A Regex is compiled once at rule load and shared read-only by every
// worker; each worker owns a RegexScratch (match data and JIT stack), so
// matching needs no lock. pcre2.h stays inside regex.cc.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/status/status.h"

struct pcre2_real_code_8;
struct pcre2_real_match_data_8;
struct pcre2_real_match_context_8;
struct pcre2_real_jit_stack_8;

namespace rampart::detect {

struct RegexOptions {
  bool caseless = false;      // i
  bool dotall = false;        // s
  bool multiline = false;     // m
  bool extended = false;      // x
  bool anchored = false;      // A
  bool dollar_endonly = false;  // E
  bool ungreedy = false;      // G
  bool unlimited = false;     // O: no match/depth limits (Suricata's override)
};

class RegexScratch {
 public:
  RegexScratch();
  ~RegexScratch();
  RegexScratch(const RegexScratch&) = delete;
  RegexScratch& operator=(const RegexScratch&) = delete;

 private:
  friend class Regex;
  pcre2_real_match_data_8* match_data_ = nullptr;
  pcre2_real_match_context_8* context_ = nullptr;
  pcre2_real_match_context_8* unlimited_context_ = nullptr;
  pcre2_real_jit_stack_8* jit_stack_ = nullptr;
};

class Regex {
 public:
  // kInvalidArgument carries PCRE2's message and offset.
  static Result<std::shared_ptr<const Regex>> Compile(std::string_view pattern, const RegexOptions& options);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Searches `subject` from `start_offset`. On a match, fills [*begin, *end)
  // and returns true. Errors (match limit hit) count as no match, as in
  // Suricata.
  bool Search(std::span<const uint8_t> subject, size_t start_offset, RegexScratch& scratch, size_t* begin,
              size_t* end) const;
  // The first capture group (or the whole match) of the first match.
  bool Capture(std::span<const uint8_t> subject, RegexScratch& scratch, size_t* begin, size_t* end) const;

  const std::string& pattern() const { return pattern_; }

 private:
  Regex() = default;
  pcre2_real_code_8* code_ = nullptr;
  std::string pattern_;
  bool unlimited_ = false;
};

}  // namespace rampart::detect
