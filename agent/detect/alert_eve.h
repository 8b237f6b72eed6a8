#pragma once
// The "alert" object of an EVE alert record, with Suricata's field names:
//
//   "alert": {"action": "allowed", "gid": 1, "signature_id": 2000001, "rev": 2,
//             "signature": "...", "category": "...", "severity": 1,
//             "metadata": {"key": ["value", ...]}}
//
// The record's envelope (timestamp, flow_id, addresses, app_proto,
// direction) and the app-layer context objects are written by the caller,
// which owns the packet and flow.

#include "agent/detect/engine.h"
#include "common/eve/json_writer.h"

namespace rampart::detect {

// `inline_mode`: drop rules block (IPS); in IDS mode only reject reports "blocked".
void WriteAlertObject(eve::JsonWriter& w, const Alert& alert, bool inline_mode = false);

}  // namespace rampart::detect
