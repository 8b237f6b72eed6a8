#pragma once
// The `log` mapping that both daemons accept under their root key:
//   log: {level: info, format: text|json, file: /var/log/rampart/agent.log}
#include "common/config/config.h"
#include "common/log/log.h"

namespace rampart::config {

// Reads level, format and file into *out, keeping its values for absent
// keys; a level or format outside the allowed names is a problem of `s`.
void ReadLogSection(Section s, log::Options* out);

}  // namespace rampart::config
