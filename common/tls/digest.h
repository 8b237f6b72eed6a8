#pragma once
// SHA-256 digests for file integrity, executable hashes and rule versions,
// and MD5 where a format prescribes it (JA3, HASSH). Lower-case hex, as
// sha256sum and md5sum print it. Thread-safe.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status/status.h"

namespace rampart::tls {

// Incremental SHA-256: Update() any number of times, then Finish() once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view bytes);
  // The hex digest; the object must not be updated afterwards.
  std::string FinishHex();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string Sha256Hex(std::string_view bytes);
// MD5 of `bytes`: only for fingerprints whose definition uses it, never for
// integrity.
std::string Md5Hex(std::string_view bytes);

// Reads an open descriptor from its current position to the end.
// kPermissionDenied / kDataLoss (read error) with `what` in the message.
// `bytes_read` (optional) receives the number of bytes hashed.
Result<std::string> Sha256OfFd(int fd, std::string_view what, uint64_t* bytes_read = nullptr);
// Opens `path` (following symlinks) and hashes it.
Result<std::string> Sha256OfFile(const std::string& path, uint64_t* bytes_read = nullptr);

}  // namespace rampart::tls
