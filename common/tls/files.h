#pragma once
// Files that hold secrets or must never be half-written.

#include <string>
#include <string_view>

#include "common/status/status.h"

namespace rampart::tls {

// Writes `content` to `path` atomically (temporary file, fsync, rename),
// mode 0600 from the first byte, so a key is never readable by others and
// never truncated by a crash.
Status WriteSecretFile(const std::string& path, std::string_view content);
// Whether a replaced file must survive a power loss, or only never be seen
// half-written.
enum class FileSync {
  kDurable,     // fsync the file and its directory: keys, certificates, state.
  kAtomicOnly,  // rename only: status files rewritten every second, where two
                // fsyncs a second were most of an idle agent's CPU.
};
// Same, with a chosen mode (0644 for certificates and public data).
Status WriteFileAtomically(const std::string& path, std::string_view content, unsigned mode,
                           FileSync sync = FileSync::kDurable);

// Reads a whole file. kNotFound / kPermissionDenied with the path.
Result<std::string> ReadFile(const std::string& path);
// Reads a secret, refusing it (kPermissionDenied) when group or others may
// read or write it: a leaked key must not be used silently.
Result<std::string> ReadSecretFile(const std::string& path);

}  // namespace rampart::tls
