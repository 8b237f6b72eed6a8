#include "agent/detect/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string>

namespace rampart::detect {
namespace {
// Suricata's defaults (pcre.match-limit / pcre.match-limit-recursion).
constexpr uint32_t kMatchLimit = 3500;
constexpr uint32_t kDepthLimit = 1500;
}  // namespace

RegexScratch::RegexScratch() {
  match_data_ = pcre2_match_data_create(32, nullptr);
  jit_stack_ = pcre2_jit_stack_create(32 * 1024, 512 * 1024, nullptr);
  context_ = pcre2_match_context_create(nullptr);
  unlimited_context_ = pcre2_match_context_create(nullptr);
  pcre2_set_match_limit(context_, kMatchLimit);
  pcre2_set_depth_limit(context_, kDepthLimit);
  if (jit_stack_ != nullptr) {
    pcre2_jit_stack_assign(context_, nullptr, jit_stack_);
    pcre2_jit_stack_assign(unlimited_context_, nullptr, jit_stack_);
  }
}

RegexScratch::~RegexScratch() {
  pcre2_match_data_free(match_data_);
  pcre2_match_context_free(context_);
  pcre2_match_context_free(unlimited_context_);
  if (jit_stack_ != nullptr) pcre2_jit_stack_free(jit_stack_);
}

Result<std::shared_ptr<const Regex>> Regex::Compile(std::string_view pattern, const RegexOptions& o) {
  uint32_t flags = 0;
  if (o.caseless) flags |= PCRE2_CASELESS;
  if (o.dotall) flags |= PCRE2_DOTALL;
  if (o.multiline) flags |= PCRE2_MULTILINE;
  if (o.extended) flags |= PCRE2_EXTENDED;
  if (o.anchored) flags |= PCRE2_ANCHORED;
  if (o.dollar_endonly) flags |= PCRE2_DOLLAR_ENDONLY;
  if (o.ungreedy) flags |= PCRE2_UNGREEDY;
  int err = 0;
  PCRE2_SIZE erroff = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), flags, &err,
                                   &erroff, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof(buf));
    return InvalidArgumentError("pcre '" + std::string(pattern) + "': " + reinterpret_cast<const char*>(buf) +
                                " at offset " + std::to_string(erroff));
  }
  // JIT failure is not fatal: the interpreter still matches.
  (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  std::shared_ptr<Regex> re(new Regex());
  re->code_ = code;
  re->pattern_ = std::string(pattern);
  re->unlimited_ = o.unlimited;
  return std::shared_ptr<const Regex>(std::move(re));
}

Regex::~Regex() { pcre2_code_free(code_); }

bool Regex::Search(std::span<const uint8_t> subject, size_t start_offset, RegexScratch& scratch, size_t* begin,
                   size_t* end) const {
  if (start_offset > subject.size()) return false;
  // An empty subject still gets a valid pointer.
  static const uint8_t kEmpty = 0;
  const uint8_t* data = subject.empty() ? &kEmpty : subject.data();
  const int rc = pcre2_match(code_, data, subject.size(), start_offset, 0, scratch.match_data_,
                             unlimited_ ? scratch.unlimited_context_ : scratch.context_);
  if (rc < 0) return false;
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(scratch.match_data_);
  *begin = ov[0];
  *end = ov[1];
  if (*begin > *end) *begin = *end;  // \K can move the start past the end.
  return true;
}

bool Regex::Capture(std::span<const uint8_t> subject, RegexScratch& scratch, size_t* begin, size_t* end) const {
  static const uint8_t kEmpty = 0;
  const uint8_t* data = subject.empty() ? &kEmpty : subject.data();
  const int rc = pcre2_match(code_, data, subject.size(), 0, 0, scratch.match_data_,
                             unlimited_ ? scratch.unlimited_context_ : scratch.context_);
  if (rc < 0) return false;
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(scratch.match_data_);
  const int group = rc >= 2 ? 1 : 0;
  if (ov[2 * group] == PCRE2_UNSET) return false;
  *begin = ov[2 * group];
  *end = ov[2 * group + 1];
  return *begin <= *end;
}

}  // namespace rampart::detect
