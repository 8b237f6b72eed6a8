#include "common/tls/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "common/util/ids.h"

namespace rampart::tls {

Status WriteFileAtomically(const std::string& path, std::string_view content, unsigned mode, FileSync sync) {
  const std::string tmp = path + ".tmp-" + RandomToken(6);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError(errno, "cannot create " + tmp);
  // The umask may have narrowed the mode; set exactly what was asked.
  if (::fchmod(fd, mode) != 0) {
    const int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return ErrnoError(e, "cannot set mode of " + tmp);
  }
  std::string_view rest = content;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return ErrnoError(e, "cannot write " + tmp);
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  if ((sync == FileSync::kDurable && ::fsync(fd) != 0) || ::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return ErrnoError(e, "cannot flush " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return ErrnoError(e, "cannot move " + tmp + " to " + path);
  }
  if (sync == FileSync::kAtomicOnly) return Status::Ok();
  // Make the rename itself durable.
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

Status WriteSecretFile(const std::string& path, std::string_view content) {
  return WriteFileAtomically(path, content, 0600);
}

Result<std::string> ReadFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return ErrnoError(errno, "cannot read " + path);
  std::string out;
  char buf[16384];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return ErrnoError(EIO, "cannot read " + path);
  return out;
}

Result<std::string> ReadSecretFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return ErrnoError(errno, "cannot read " + path);
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
    return PermissionDeniedError(path + " is accessible to other users (mode " + mode +
                                 "); run chmod 600 on it");
  }
  return ReadFile(path);
}

}  // namespace rampart::tls
