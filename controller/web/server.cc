#include "controller/web/server.h"

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>
#include <optional>
#include <thread>
#include <vector>

#include "common/log/log.h"
#include "common/tls/files.h"
#include "common/util/mutex.h"
#include "controller/web/http_internal.h"

namespace rampart::web {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// Forward-secret AEAD suites for TLS 1.2; TLS 1.3 suites are all AEAD.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";

class ServerImpl;

// "Sun, 22 Nov 2026 00:49:44 GMT" (RFC 9110 IMF-fixdate).
std::string HttpDate() {
  const time_t now = ::time(nullptr);
  struct tm tm;
  gmtime_r(&now, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

// A WebSocket feed client. All members are touched on its strand only.
class FeedSession : public std::enable_shared_from_this<FeedSession> {
 public:
  FeedSession(TlsStream&& stream, FeedFilter filter, size_t max_backlog)
      : ws_(std::move(stream)), filter_(std::move(filter)), max_backlog_(max_backlog) {}

  template <class Body>
  void Run(http::request<Body> req, std::function<void(std::shared_ptr<FeedSession>)> on_open) {
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(http::field::server, "rampart");
    }));
    ws_.read_message_max(64 * 1024);
    ws_.async_accept(req, [self = shared_from_this(), on_open = std::move(on_open)](beast::error_code ec) {
      if (ec) return;
      on_open(self);
      self->DoRead();
    });
  }

  bool Wants(const FeedMessage& m) const { return filter_(m); }
  bool closed() const { return closed_.load(); }

  void Send(std::shared_ptr<const std::string> message) {
    net::post(ws_.get_executor(), [self = shared_from_this(), message = std::move(message)] {
      if (self->closed_) return;
      if (self->queue_.size() >= self->max_backlog_) {
        // A client that cannot keep up is dropped; it reconnects and reloads.
        self->closed_ = true;
        beast::get_lowest_layer(self->ws_).close();
        return;
      }
      self->queue_.push_back(std::move(message));
      if (self->queue_.size() == 1) self->DoWrite();
    });
  }

  void Close() {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      self->closed_ = true;
      beast::get_lowest_layer(self->ws_).close();
    });
  }

 private:
  void DoRead() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec) {
        self->closed_ = true;
        return;
      }
      self->buffer_.consume(n);  // Clients have nothing to say; pings are answered by Beast.
      self->DoRead();
    });
  }

  void DoWrite() {
    ws_.text(true);
    ws_.async_write(net::buffer(*queue_.front()), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        self->closed_ = true;
        return;
      }
      self->queue_.pop_front();
      if (!self->queue_.empty()) self->DoWrite();
    });
  }

  websocket::stream<TlsStream> ws_;
  FeedFilter filter_;
  size_t max_backlog_;
  beast::flat_buffer buffer_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::atomic<bool> closed_{false};
};

class ServerImpl final : public HttpsServer {
 public:
  ServerImpl(const ServerOptions& options, RequestHandler handler, FeedAuthorizer authorizer)
      : options_(options),
        handler_(std::move(handler)),
        authorizer_(std::move(authorizer)),
        security_headers_(SecurityHeaders(options.hsts_max_age)) {}

  ~ServerImpl() override { Stop(); }

  Status Init() {
    SSL_CTX* c = ssl_ctx_.native_handle();
    ssl_ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use |
                         ssl::context::no_compression);
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_options(c, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    if (SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1) return InternalError("OpenSSL rejected the cipher list");
    if (SSL_CTX_set1_groups_list(c, "X25519:P-256:P-384") != 1) return InternalError("OpenSSL rejected the groups");
    RAMPART_ASSIGN_OR_RETURN(std::string cert, tls::ReadFile(options_.cert_file));
    RAMPART_ASSIGN_OR_RETURN(std::string key, tls::ReadSecretFile(options_.key_file));
    beast::error_code ec;
    ssl_ctx_.use_certificate_chain(net::buffer(cert), ec);
    if (ec) return InvalidArgumentError(options_.cert_file + ": not a PEM certificate chain: " + ec.message());
    ssl_ctx_.use_private_key(net::buffer(key), ssl::context::pem, ec);
    if (ec) return InvalidArgumentError(options_.key_file + ": not a PEM private key: " + ec.message());
    if (SSL_CTX_check_private_key(c) != 1) {
      return InvalidArgumentError(options_.key_file + " is not the key of " + options_.cert_file);
    }

    auto address = net::ip::make_address(options_.address, ec);
    if (ec) return InvalidArgumentError("web.address: not an IP address: " + options_.address);
    tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return UnavailableError("cannot listen on " + options_.address + ":" + std::to_string(options_.port) + ": " +
                              ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    DoAccept();
    for (int i = 0; i < std::max(1, options_.threads); ++i) {
      threads_.emplace_back([this] {
        for (;;) {
          try {
            ioc_.run();
            return;
          } catch (const std::exception& e) {
            log::Error("web", "I/O thread caught an exception", {{"what", e.what()}});
          }
        }
      });
    }
    log::Info("web", "listening", {{"address", options_.address}, {"port", port_}});
    return Status::Ok();
  }

  uint16_t port() const override { return port_; }

  void Publish(FeedMessage message) override EXCLUDES(feeds_mu_) {
    auto text = std::make_shared<const std::string>(std::move(message.json));
    FeedMessage probe{std::move(message.site), {}};
    MutexLock lock(&feeds_mu_);
    std::erase_if(feeds_, [](const std::shared_ptr<FeedSession>& f) { return f->closed(); });
    for (const auto& f : feeds_) {
      if (f->Wants(probe)) f->Send(text);
    }
  }

  size_t feed_clients() const override EXCLUDES(feeds_mu_) {
    MutexLock lock(&feeds_mu_);
    return static_cast<size_t>(std::count_if(feeds_.begin(), feeds_.end(), [](const auto& f) { return !f->closed(); }));
  }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    {
      MutexLock lock(&feeds_mu_);
      for (const auto& f : feeds_) f->Close();
      feeds_.clear();
    }
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  // Called by sessions.
  const ServerOptions& options() const { return options_; }
  const std::vector<std::pair<std::string, std::string>>& security_headers() const { return security_headers_; }
  HttpResponse Handle(const HttpRequest& req) {
    try {
      return handler_(req);
    } catch (const std::exception& e) {
      log::Error("web", "handler threw", {{"path", req.path}, {"what", e.what()}});
      return HttpResponse::Error(500, "internal error");
    }
  }
  std::expected<FeedFilter, HttpResponse> Authorize(const HttpRequest& req) {
    try {
      return authorizer_(req);
    } catch (const std::exception& e) {
      return std::unexpected(HttpResponse::Error(500, "internal error"));
    }
  }
  void AddFeed(std::shared_ptr<FeedSession> f) EXCLUDES(feeds_mu_) {
    MutexLock lock(&feeds_mu_);
    if (!stopped_) feeds_.push_back(std::move(f));
  }
  std::atomic<size_t>& connections() { return connections_; }

 private:
  void DoAccept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (acceptor_.is_open()) DoAccept();
        return;
      }
      OnAccept(std::move(socket));
      DoAccept();
    });
  }
  void OnAccept(tcp::socket socket);

  const ServerOptions options_;
  RequestHandler handler_;
  FeedAuthorizer authorizer_;
  const std::vector<std::pair<std::string, std::string>> security_headers_;
  std::atomic<size_t> connections_{0};
  mutable Mutex feeds_mu_;
  std::vector<std::shared_ptr<FeedSession>> feeds_ GUARDED_BY(feeds_mu_);
  std::atomic<bool> stopped_{false};
  uint16_t port_ = 0;
  ssl::context ssl_ctx_{ssl::context::tls_server};
  net::io_context ioc_;
  // Accepting and Stop's close run on one strand: several threads run the
  // io_context, and an accept re-armed on one while another closed the
  // acceptor used freed reactor state (a crash at shutdown under load).
  net::strand<net::io_context::executor_type> accept_strand_ = net::make_strand(ioc_);
  tcp::acceptor acceptor_{accept_strand_};
  std::vector<std::thread> threads_;
};

// One HTTPS connection: handshake, then requests until close or upgrade.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket&& socket, ssl::context& ctx, ServerImpl* server)
      : stream_(std::move(socket), ctx), server_(server) {
    beast::error_code ec;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string();
    server_->connections()++;
  }
  ~HttpSession() { server_->connections()--; }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      beast::get_lowest_layer(self->stream_).expires_after(std::chrono::seconds(10));
      self->stream_.async_handshake(ssl::stream_base::server, [self](beast::error_code ec) {
        if (ec) return;  // Scanners and plain-HTTP clients end here; nothing to report.
        self->DoRead();
      });
    });
  }

 private:
  void DoRead() {
    parser_.emplace();
    parser_->body_limit(server_->options().max_body_bytes);
    parser_->header_limit(16 * 1024);
    beast::get_lowest_layer(stream_).expires_after(server_->options().idle_timeout);
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->OnRead(ec);
    });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream) return DoClose();
    if (ec == http::error::body_limit) return Write(HttpResponse::Error(413, "request body is too large"), false, 11);
    if (ec == http::error::header_limit) return Write(HttpResponse::Error(431, "request headers are too large"), false, 11);
    if (ec) {
      // A malformed request gets a 400; timeouts and resets just end.
      if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
        return Write(HttpResponse::Error(400, "malformed HTTP request"), false, 11);
      }
      return;
    }
    http::request<http::string_body> req = parser_->release();
    auto ours = detail::FromBeast(req, remote_);
    if (!ours) return Write(HttpResponse::Error(400, ours.error().message()), false, req.version());
    if (websocket::is_upgrade(req)) {
      auto filter = server_->Authorize(*ours);
      if (!filter) return Write(std::move(filter.error()), false, req.version());
      auto feed = std::make_shared<FeedSession>(std::move(stream_), std::move(*filter), server_->options().max_feed_backlog);
      ServerImpl* server = server_;
      feed->Run(std::move(req), [server](std::shared_ptr<FeedSession> f) { server->AddFeed(std::move(f)); });
      return;
    }
    Write(server_->Handle(*ours), req.keep_alive(), req.version(), req.method() == http::verb::head);
  }

  void Write(HttpResponse r, bool keep_alive, unsigned version, bool head = false) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(version);
    res->result(static_cast<unsigned>(r.status));
    res->set(http::field::server, "rampart");
    res->set(http::field::date, HttpDate());
    res->set(http::field::content_type, r.content_type);
    bool has_cache_control = false;
    for (const auto& [k, v] : server_->security_headers()) res->set(k, v);
    for (const auto& [k, v] : r.headers) {
      if (beast::iequals(k, "cache-control")) has_cache_control = true;
      res->insert(k, v);
    }
    if (!has_cache_control) res->set(http::field::cache_control, "no-store");
    res->body() = head ? std::string() : std::move(r.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    res_ = res;
    http::async_write(stream_, *res, [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
      self->res_.reset();
      if (ec) return;
      if (!keep_alive) return self->DoClose();
      self->DoRead();
    });
  }

  void DoClose() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {});
  }

  TlsStream stream_;
  ServerImpl* server_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<void> res_;
};

void ServerImpl::OnAccept(tcp::socket socket) {
  if (stopped_) return;
  beast::error_code ec;
  if (connections_.load() >= options_.max_connections) {
    socket.close(ec);
    return;
  }
  // Responses are written whole; Nagle would hold their tail for the peer's delayed ACK.
  socket.set_option(tcp::no_delay(true), ec);
  std::make_shared<HttpSession>(std::move(socket), ssl_ctx_, this)->Run();
}

}  // namespace

std::vector<std::pair<std::string, std::string>> SecurityHeaders(std::chrono::seconds hsts_max_age) {
  return {
      {"Strict-Transport-Security", "max-age=" + std::to_string(hsts_max_age.count()) + "; includeSubDomains"},
      {"Content-Security-Policy",
       "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
      {"Permissions-Policy", "camera=(), microphone=(), geolocation=()"},
  };
}

Result<std::unique_ptr<HttpsServer>> HttpsServer::Start(const ServerOptions& options, RequestHandler handler,
                                                        FeedAuthorizer authorizer) {
  auto server = std::make_unique<ServerImpl>(options, std::move(handler), std::move(authorizer));
  RAMPART_RETURN_IF_ERROR(server->Init());
  return std::unique_ptr<HttpsServer>(std::move(server));
}

}  // namespace rampart::web
