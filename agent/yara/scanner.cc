#include "agent/yara/scanner.h"

#include <yara.h>

#include <cstring>

namespace rampart::yara {

struct ScannerCallbacks {
  static int OnMessage(YR_SCAN_CONTEXT* context, int message, void* message_data, void* user_data) {
    auto* self = static_cast<Scanner*>(user_data);
    switch (message) {
      case CALLBACK_MSG_RULE_MATCHING:
        self->matches_.push_back(Describe(context, static_cast<YR_RULE*>(message_data), self->options_));
        return CALLBACK_CONTINUE;
      case CALLBACK_MSG_TOO_MANY_MATCHES:
        ++self->too_many_matches_;
        return CALLBACK_CONTINUE;
      default:
        return CALLBACK_CONTINUE;
    }
  }

  static RuleMatch Describe(YR_SCAN_CONTEXT* context, YR_RULE* rule, const ScannerOptions& options) {
    RuleMatch m;
    m.rule = rule->identifier;
    m.ns = rule->ns != nullptr && rule->ns->name != nullptr ? rule->ns->name : "default";
    const char* tag = nullptr;
    yr_rule_tags_foreach(rule, tag) { m.tags.emplace_back(tag); }
    const YR_META* meta = nullptr;
    yr_rule_metas_foreach(rule, meta) {
      MetaValue v;
      v.key = meta->identifier;
      if (meta->type == META_TYPE_INTEGER) {
        v.type = MetaValue::Type::kInteger;
        v.integer_value = meta->integer;
      } else if (meta->type == META_TYPE_BOOLEAN) {
        v.type = MetaValue::Type::kBoolean;
        v.integer_value = meta->integer != 0 ? 1 : 0;
      } else {
        v.type = MetaValue::Type::kString;
        v.string_value = meta->string != nullptr ? meta->string : "";
      }
      m.meta.push_back(std::move(v));
    }
    if (options.report_strings) {
      const YR_STRING* string = nullptr;
      yr_rule_strings_foreach(rule, string) {
        uint32_t kept = 0;
        const YR_MATCH* match = nullptr;
        yr_string_matches_foreach(context, string, match) {
          if (kept++ >= options.max_offsets_per_string) break;
          StringMatch s;
          s.identifier = string->identifier;
          s.offset = static_cast<uint64_t>(match->base + match->offset);
          s.length = static_cast<uint32_t>(match->match_length);
          m.strings.push_back(std::move(s));
        }
      }
    }
    return m;
  }
};

Result<std::unique_ptr<Scanner>> Scanner::Create(std::shared_ptr<const RuleSet> rules,
                                                 const ScannerOptions& options) {
  RAMPART_RETURN_IF_ERROR(EnsureLibraryInitialized());
  std::unique_ptr<Scanner> s(new Scanner());
  s->rules_ = std::move(rules);
  s->options_ = options;
  YR_SCANNER* native = nullptr;
  if (yr_scanner_create(static_cast<YR_RULES*>(s->rules_->native()), &native) != ERROR_SUCCESS) {
    return ResourceExhaustedError("cannot create a YARA scanner");
  }
  s->native_ = native;
  yr_scanner_set_callback(native, &ScannerCallbacks::OnMessage, s.get());
  yr_scanner_set_timeout(native, static_cast<int>(options.timeout.count()));
  int flags = SCAN_FLAGS_REPORT_RULES_MATCHING;
  if (options.fast_mode) flags |= SCAN_FLAGS_FAST_MODE;
  yr_scanner_set_flags(native, flags);
  return s;
}

Scanner::~Scanner() {
  if (native_ != nullptr) yr_scanner_destroy(static_cast<YR_SCANNER*>(native_));
}

Result<std::vector<RuleMatch>> Scanner::ScanMemory(std::span<const uint8_t> data) {
  matches_.clear();
  const int rc = yr_scanner_scan_mem(static_cast<YR_SCANNER*>(native_), data.data(), data.size());
  return Finish(rc);
}

Result<std::vector<RuleMatch>> Scanner::ScanFd(int fd) {
  matches_.clear();
  const int rc = yr_scanner_scan_fd(static_cast<YR_SCANNER*>(native_), fd);
  return Finish(rc);
}

Result<std::vector<RuleMatch>> Scanner::Finish(int rc) {
  if (rc == ERROR_SUCCESS) return std::move(matches_);
  matches_.clear();
  auto* native = static_cast<YR_SCANNER*>(native_);
  std::string culprit;
  if (const YR_RULE* rule = yr_scanner_last_error_rule(native); rule != nullptr) {
    culprit = " (rule \"" + std::string(rule->identifier) + "\")";
  }
  switch (rc) {
    case ERROR_SCAN_TIMEOUT:
      return DeadlineExceededError("scan timed out after " + std::to_string(options_.timeout.count()) + "s" + culprit);
    case ERROR_INSUFFICIENT_MEMORY:
      return ResourceExhaustedError("not enough memory to scan" + culprit);
    case ERROR_TOO_MANY_MATCHES:
      return ResourceExhaustedError("too many matches" + culprit);
    case ERROR_COULD_NOT_MAP_FILE:
    case ERROR_COULD_NOT_OPEN_FILE:
      return UnavailableError("could not map file");
    case ERROR_EXEC_STACK_OVERFLOW:
      return ResourceExhaustedError("stack overflow while evaluating a condition" + culprit);
    default:
      return InternalError("yara error " + std::to_string(rc) + culprit);
  }
}

}  // namespace rampart::yara
