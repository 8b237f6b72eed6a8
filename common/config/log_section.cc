#include "common/config/log_section.h"

#include <string>

namespace rampart::config {

void ReadLogSection(Section s, log::Options* out) {
  std::string level(log::LevelName(out->level));
  s.OneOf("level", &level, {"trace", "debug", "info", "warn", "error", "off"});
  if (auto parsed = log::ParseLevel(level)) out->level = *parsed;
  s.OneOf("format", &out->format, {"text", "json"});
  s.String("file", &out->file);
}

}  // namespace rampart::config
