#include "controller/notify/senders.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "common/util/clock.h"
#include "controller/notify/format.h"

namespace rampart::notify::detail {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct UploadState {
  const std::string* data;
  size_t offset = 0;
};

size_t ReadCallback(char* buffer, size_t size, size_t nitems, void* userdata) {
  auto* s = static_cast<UploadState*>(userdata);
  const size_t room = size * nitems;
  const size_t n = std::min(room, s->data->size() - s->offset);
  std::memcpy(buffer, s->data->data() + s->offset, n);
  s->offset += n;
  return n;
}

size_t KeepCallback(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* body = static_cast<std::string*>(userdata);
  const size_t n = size * nmemb;
  if (body->size() < 2048) body->append(ptr, std::min(n, 2048 - body->size()));
  return n;
}

std::string AngleAddress(const std::string& address) {
  // libcurl wants "<addr>"; accept "Name <addr>" and bare "addr".
  const size_t lt = address.find('<');
  if (lt != std::string::npos) return address.substr(lt);
  return "<" + address + ">";
}

}  // namespace

Status SendEmail(const EmailTarget& target, const std::string& password, const std::string& message,
                 std::chrono::milliseconds timeout) {
  GlobalInit();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return InternalError("curl_easy_init failed");
  CURL* c = curl.get();
  std::unique_ptr<curl_slist, SlistDeleter> rcpt;
  for (const auto& to : target.to) rcpt.reset(curl_slist_append(rcpt.release(), AngleAddress(to).c_str()));
  const std::string from = AngleAddress(target.from);
  UploadState upload{&message};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, target.url.c_str());
  curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));  // STARTTLS or fail.
  curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!target.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, target.ca_file.c_str());
  if (!target.username.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, target.username.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, password.c_str());
  }
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadCallback);
  curl_easy_setopt(c, CURLOPT_READDATA, &upload);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    return UnavailableError("smtp " + target.url + ": " + (errbuf[0] ? errbuf : curl_easy_strerror(rc)) +
                            (code ? " (reply " + std::to_string(code) + ")" : ""));
  }
  return Status::Ok();
}

namespace {

class WebhookClientImpl final : public WebhookClient {
 public:
  WebhookClientImpl(const WebhookTarget& target, std::chrono::milliseconds timeout)
      : target_(target), timeout_(timeout), curl_(curl_easy_init()) {}

  Status Post(const std::string& secret, const std::string& body, const std::string& idempotency_key,
              int64_t now_nanos) override {
    if (!curl_) return InternalError("curl_easy_init failed");
    CURL* c = curl_.get();
    curl_easy_reset(c);  // Options only; the connection cache survives.
    const std::string timestamp = std::to_string(now_nanos / 1'000'000'000);
    std::unique_ptr<curl_slist, SlistDeleter> headers;
    for (const std::string& h :
         {std::string("Content-Type: application/json"), "X-Rampart-Timestamp: " + timestamp,
          "X-Rampart-Signature: " + WebhookSignature(secret, timestamp, body), "Idempotency-Key: " + idempotency_key,
          std::string("User-Agent: rampart-controller"), std::string("Expect:")}) {
      headers.reset(curl_slist_append(headers.release(), h.c_str()));
    }
    std::string response;
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(c, CURLOPT_URL, target_.url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    if (!target_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, target_.ca_file.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, KeepCallback);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    const CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
      return UnavailableError("webhook " + target_.url + ": " + (errbuf[0] ? errbuf : curl_easy_strerror(rc)));
    }
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (code < 200 || code > 299) {
      return UnavailableError("webhook " + target_.url + " answered " + std::to_string(code) + ": " +
                              response.substr(0, 200));
    }
    return Status::Ok();
  }

 private:
  WebhookTarget target_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<CURL, CurlDeleter> curl_;
};

}  // namespace

std::unique_ptr<WebhookClient> WebhookClient::Create(const WebhookTarget& target, std::chrono::milliseconds timeout) {
  GlobalInit();
  return std::make_unique<WebhookClientImpl>(target, timeout);
}

namespace {

std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "connection closed";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

class SyslogConnectionImpl final : public SyslogConnection {
 public:
  SyslogConnectionImpl(const SyslogTarget& target, std::chrono::milliseconds timeout)
      : target_(target), timeout_(timeout) {}
  ~SyslogConnectionImpl() override { Close(); }

  Status Send(const std::vector<std::string>& messages) override {
    if (!ssl_) RAMPART_RETURN_IF_ERROR(Connect());
    // A receiver that closed since the last batch shows up here, before we write.
    if (auto s = CheckPeer(0); !s.ok()) {
      Close();
      RAMPART_RETURN_IF_ERROR(Connect());
    }
    std::string frames;
    for (const auto& m : messages) frames += std::to_string(m.size()) + " " + m;
    size_t off = 0;
    while (off < frames.size()) {
      const int n = SSL_write(ssl_, frames.data() + off, static_cast<int>(std::min<size_t>(frames.size() - off, 1 << 20)));
      if (n <= 0) {
        const std::string err = OpenSslError();
        Close();
        return UnavailableError("syslog " + Where() + ": write failed: " + err);
      }
      off += static_cast<size_t>(n);
    }
    const Status settled = CheckPeer(static_cast<int>(target_.settle.count()));
    if (!settled.ok()) Close();
    return settled;
  }

 private:
  std::string Where() const { return target_.host + ":" + std::to_string(target_.port); }

  // Waits up to `wait_ms` for the receiver to say anything. A healthy
  // receiver says nothing; a reset means data was lost; an orderly close
  // (FIN, or TLS close_notify) after reading everything keeps what was sent.
  Status CheckPeer(int wait_ms) {
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, wait_ms);
    if (r == 0) return Status::Ok();
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return UnavailableError("syslog " + Where() + ": connection reset: " + std::strerror(err));
    if (p.revents & (POLLERR | POLLNVAL)) return UnavailableError("syslog " + Where() + ": socket error");
    char byte;
    const int flags = ::fcntl(fd_, F_GETFL);
    ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK);  // A TLS 1.3 session ticket alone must not block us.
    errno = 0;
    const int n = SSL_read(ssl_, &byte, 1);
    const int saved_errno = errno;
    ::fcntl(fd_, F_SETFL, flags);
    if (n > 0) return Status::Ok();  // Receivers do not talk; ignore.
    const int e = SSL_get_error(ssl_, n);
    if (e == SSL_ERROR_WANT_READ) return Status::Ok();  // A session ticket or similar.
    if (e == SSL_ERROR_ZERO_RETURN) {
      // FIN or close_notify with nothing of ours left unread (else the
      // kernel would have reset): everything written was read. Reconnect
      // next time.
      Close();
      return Status::Ok();
    }
    return UnavailableError("syslog " + Where() + ": " +
                            (saved_errno ? std::string(std::strerror(saved_errno)) : OpenSslError()));
  }

  Status Connect() {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(target_.port);
    if (int rc = ::getaddrinfo(target_.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
      return UnavailableError("syslog " + Where() + ": " + gai_strerror(rc));
    }
    Status last = UnavailableError("syslog " + Where() + ": no address");
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
      int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
      if (fd < 0) continue;
      int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
      if (rc != 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        rc = ::poll(&p, 1, static_cast<int>(timeout_.count())) == 1 ? 0 : -1;
        int err = 0;
        socklen_t len = sizeof(err);
        if (rc == 0) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (rc != 0 || err != 0) {
          last = UnavailableError("syslog " + Where() + ": connect: " + std::strerror(err ? err : ETIMEDOUT));
          ::close(fd);
          continue;
        }
      } else if (rc != 0) {
        last = UnavailableError("syslog " + Where() + ": connect: " + std::strerror(errno));
        ::close(fd);
        continue;
      }
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      timeval tv{static_cast<time_t>(timeout_.count() / 1000), static_cast<suseconds_t>((timeout_.count() % 1000) * 1000)};
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      fd_ = fd;
      last = Status::Ok();
      break;
    }
    ::freeaddrinfo(res);
    RAMPART_RETURN_IF_ERROR(last);

    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    // A bare FIN reads as an orderly close, and OpenSSL sends no alert into
    // a socket the receiver already closed (that would reset it).
    SSL_CTX_set_options(ctx_, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    if (!target_.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(ctx_, target_.ca_file.c_str(), nullptr) != 1) {
        Close();
        return InvalidArgumentError("syslog ca_file " + target_.ca_file + ": " + OpenSslError());
      }
    } else {
      SSL_CTX_set_default_verify_paths(ctx_);
    }
    ssl_ = SSL_new(ctx_);
    const std::string name = target_.server_name.empty() ? target_.host : target_.server_name;
    SSL_set_tlsext_host_name(ssl_, name.c_str());
    SSL_set1_host(ssl_, name.c_str());
    SSL_set_fd(ssl_, fd_);
    if (SSL_connect(ssl_) != 1) {
      const std::string err = OpenSslError();
      Close();
      return UnavailableError("syslog " + Where() + ": TLS handshake: " + err);
    }
    return Status::Ok();
  }

  void Close() {
    if (ssl_) {
      SSL_free(ssl_);
      ssl_ = nullptr;
    }
    if (ctx_) {
      SSL_CTX_free(ctx_);
      ctx_ = nullptr;
    }
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

  SyslogTarget target_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

}  // namespace

std::unique_ptr<SyslogConnection> SyslogConnection::Create(const SyslogTarget& target,
                                                           std::chrono::milliseconds timeout) {
  return std::make_unique<SyslogConnectionImpl>(target, timeout);
}

}  // namespace rampart::notify::detail
