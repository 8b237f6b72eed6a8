#include "common/tls/digest.h"

#include <fcntl.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <cerrno>
#include <vector>

#include "common/status/check.h"
#include "common/util/text.h"

namespace rampart::tls {

struct Sha256::State {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  RAMPART_CHECK(state_->ctx != nullptr) << "EVP_MD_CTX_new";
  RAMPART_CHECK(EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) == 1) << "EVP_DigestInit_ex";
}

Sha256::~Sha256() { EVP_MD_CTX_free(state_->ctx); }

void Sha256::Update(std::string_view bytes) {
  if (!bytes.empty()) EVP_DigestUpdate(state_->ctx, bytes.data(), bytes.size());
}

std::string Sha256::FinishHex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx, md, &len);
  return HexEncode(std::span<const uint8_t>(md, len));
}

std::string Sha256Hex(std::string_view bytes) {
  Sha256 h;
  h.Update(bytes);
  return h.FinishHex();
}

std::string Md5Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &n, EVP_md5(), nullptr);
  return HexEncode(std::span<const uint8_t>(digest, n));
}

Result<std::string> Sha256OfFd(int fd, std::string_view what, uint64_t* bytes_read) {
  Sha256 h;
  std::vector<char> buf(256 * 1024);
  uint64_t total = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "cannot read " + std::string(what));
    }
    if (n == 0) break;
    h.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
    total += static_cast<uint64_t>(n);
  }
  if (bytes_read) *bytes_read = total;
  return h.FinishHex();
}

Result<std::string> Sha256OfFile(const std::string& path, uint64_t* bytes_read) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return ErrnoError(errno, "cannot open " + path);
  auto r = Sha256OfFd(fd, path, bytes_read);
  ::close(fd);
  return r;
}

}  // namespace rampart::tls
