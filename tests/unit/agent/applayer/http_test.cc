// HTTP/1.x parsing: requests and responses in any split, pipelining,
// bodies (length, chunked, close, gzip), interim responses, tunnels, resync
// after gaps and cruft, and protocol detection.

#include "agent/applayer/http.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace rampart::applayer {
namespace {

class HttpTest : public ::testing::Test {
 protected:
  void Feed(HttpParser& p, int dir, std::string_view s, bool gap = false) {
    progressed_.clear();
    p.Feed(dir, reinterpret_cast<const uint8_t*>(s.data()), s.size(), gap, &progressed_, &events_);
    for (HttpTx* t : progressed_) t->progressed = 0;
  }
  bool Raised(HttpEvent e) const {
    for (HttpEvent x : events_) {
      if (x == e) return true;
    }
    return false;
  }
  std::vector<HttpTx*> progressed_;
  std::vector<HttpEvent> events_;
};

constexpr std::string_view kRequest =
    "POST /a/./b/../c%41?q=%41 HTTP/1.1\r\nHost: Example.COM:8080\r\nUser-Agent: test-agent\r\n"
    "X-Folded: one\r\n two\r\nContent-Length: 5\r\n\r\nhello";
constexpr std::string_view kResponse =
    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;ext=1\r\nabcde\r\n3\r\nfgh\r\n0\r\nTrailer: x\r\n\r\n";

TEST_F(HttpTest, RequestAndResponseInAnySplit) {
  for (size_t split = 1; split <= kRequest.size(); split += 3) {
    HttpOptions o;
    o.body_limit = 1024;
    HttpParser p(o);
    for (size_t i = 0; i < kRequest.size(); i += split) Feed(p, 0, kRequest.substr(i, split));
    for (size_t i = 0; i < kResponse.size(); i += split) Feed(p, 1, kResponse.substr(i, split));
    ASSERT_EQ(p.txs().size(), 1u) << split;
    const HttpTx& tx = *p.txs()[0];
    EXPECT_EQ(tx.Method(), "POST");
    EXPECT_EQ(tx.Uri(), "/a/./b/../c%41?q=%41");
    EXPECT_EQ(tx.UriNormalized(), "/a/cA?q=A");
    EXPECT_EQ(tx.Host(), "example.com");
    EXPECT_EQ(tx.host_port, 8080);
    EXPECT_EQ(tx.request.Header("user-agent"), "test-agent");
    EXPECT_EQ(tx.request.Header("X-Folded"), "one two");
    EXPECT_EQ(tx.request.body, "hello");
    EXPECT_EQ(tx.status, 200);
    EXPECT_EQ(tx.response.body, "abcdefgh");
    EXPECT_EQ(tx.response.wire_body_length, 8u);
    EXPECT_TRUE(tx.RequestComplete());
    EXPECT_TRUE(tx.ResponseComplete());
  }
}

TEST_F(HttpTest, PipelinedRequestsMatchResponsesInOrder) {
  HttpParser p({});
  Feed(p, 0, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(p.txs().size(), 3u);
  Feed(p, 1,
       "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n"
       "Content-Length: 99\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(p.txs()[0]->status, 200);  // The 100 was interim.
  EXPECT_EQ(p.txs()[1]->status, 200);  // HEAD: no body despite the length.
  EXPECT_TRUE(p.txs()[1]->ResponseComplete());
  EXPECT_EQ(p.txs()[2]->status, 404);
  EXPECT_EQ(p.txs()[2]->id, 2u);
}

TEST_F(HttpTest, GzipBodyIsDecodedUpToTheLimit) {
  std::string plain(10000, 'z');
  for (size_t i = 0; i < plain.size(); i += 7) plain[i] = 'q';
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string gz(deflateBound(&zs, plain.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(plain.data());
  zs.avail_in = static_cast<uInt>(plain.size());
  zs.next_out = reinterpret_cast<Bytef*>(gz.data());
  zs.avail_out = static_cast<uInt>(gz.size());
  ASSERT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  gz.resize(zs.total_out);
  deflateEnd(&zs);
  HttpOptions o;
  o.body_limit = 4096;
  HttpParser p(o);
  Feed(p, 0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  Feed(p, 1, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " + std::to_string(gz.size()) +
                 "\r\n\r\n" + gz);
  const HttpTx& tx = *p.txs()[0];
  EXPECT_EQ(tx.response.body, plain.substr(0, 4096));
  EXPECT_EQ(tx.response.wire_body_length, gz.size());
  EXPECT_TRUE(tx.ResponseComplete());
  // Without a body limit nothing is kept (and nothing decompressed).
  HttpParser none({});
  Feed(none, 0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  Feed(none, 1, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd");
  EXPECT_TRUE(none.txs()[0]->response.body.empty());
}

TEST_F(HttpTest, BodyUntilCloseAndHttp09) {
  HttpParser p({});
  Feed(p, 0, "GET /old\r\n");
  ASSERT_EQ(p.txs().size(), 1u);
  EXPECT_EQ(p.txs()[0]->Uri(), "/old");
  EXPECT_TRUE(p.txs()[0]->Protocol().empty());
  Feed(p, 1, "HTTP/1.0 200 OK\r\n\r\nbody runs until close");
  EXPECT_FALSE(p.txs()[0]->ResponseComplete());
  std::vector<HttpTx*> prog;
  p.Close(&prog);
  EXPECT_TRUE(p.txs()[0]->RequestComplete());
  EXPECT_TRUE(p.txs()[0]->ResponseComplete());
  // A 0.9 request followed by another request line ends at its own line.
  HttpParser q({});
  Feed(q, 0, "GET /a\r\nGET /b HTTP/1.0\r\n\r\n");
  ASSERT_EQ(q.txs().size(), 2u);
  EXPECT_TRUE(q.txs()[0]->RequestComplete());
  EXPECT_EQ(q.txs()[1]->Uri(), "/b");
  EXPECT_EQ(p.txs()[0]->response.wire_body_length, 21u);
}

TEST_F(HttpTest, GapEndsTheMessageAndParsingResumesAtTheNextRequest) {
  HttpParser p({});
  Feed(p, 0, "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\npart");
  Feed(p, 0, "more body after a hole", /*gap=*/true);
  Feed(p, 0, "GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(p.txs().size(), 2u);
  EXPECT_EQ(p.txs()[1]->Uri(), "/next");
  // Cruft between requests is skipped, not parsed as a request.
  HttpParser q({});
  Feed(q, 0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  Feed(q, 0, "T / HTTP\r\n\r\n");
  EXPECT_EQ(q.txs().size(), 1u);
  EXPECT_TRUE(Raised(HttpEvent::kRequestLineInvalid));
}

TEST_F(HttpTest, ConnectTunnelStopsParsing) {
  HttpParser p({});
  Feed(p, 0, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  Feed(p, 1, "HTTP/1.1 200 Connection established\r\n\r\n");
  EXPECT_TRUE(p.tunnel());
  Feed(p, 0, "\x16\x03\x01 binary tls");
  EXPECT_EQ(p.txs().size(), 1u);
  EXPECT_EQ(p.txs()[0]->Uri(), "example.com:443");
}

TEST_F(HttpTest, InvalidContentLengthAndMissingHost) {
  HttpParser p({});
  Feed(p, 0, "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_TRUE(Raised(HttpEvent::kInvalidContentLengthRequest));
  EXPECT_TRUE(Raised(HttpEvent::kMissingHostHeader));
  ASSERT_EQ(p.txs().size(), 2u);  // The smuggled request is seen as one.
  EXPECT_EQ(p.txs()[1]->Uri(), "/smuggled");
}

TEST_F(HttpTest, FoldedHostAndHeadsSplitAtAwkwardPlaces) {
  // A folded Host value is built in the parser's own buffer (found by the fuzzer).
  HttpParser p({});
  Feed(p, 0, "GET / HTTP/1.1\r\nHost: a\r\n  b.example\r\nX: y\r\n\r\n");
  ASSERT_EQ(p.txs().size(), 1u);
  EXPECT_EQ(p.txs()[0]->Host(), "a b.example");
  // A request line without protocol, then a lone CR, then something that is
  // not a header (found by the fuzzer): the head ends where it can.
  HttpParser q({});
  Feed(q, 0, "GET /x\r\n");
  Feed(q, 0, "\r");
  Feed(q, 0, "junk that is not a header");
  ASSERT_GE(q.txs().size(), 1u);
  EXPECT_EQ(q.txs()[0]->Uri(), "/x");
}

TEST_F(HttpTest, UriQueryIsUrlDecodedAsLibhtpDoes) {
  HttpParser p({});
  // %HH decoded (also bytes above 0x7f), '+' a space in the query only, an
  // escape without two hex digits keeps its '%', the fragment decoded too.
  Feed(p, 0,
       "GET /a+b/%7e/x?data=%7Dk%BB+1%2&z=%zz%4#fr%41g HTTP/1.1\r\nHost: a\r\n\r\n"
       "GET http://h.example/p%2Fq?%41%4 HTTP/1.1\r\nHost: a\r\n\r\n"
       "GET /only?%41%42%43 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(p.txs().size(), 3u);
  EXPECT_EQ(p.txs()[0]->UriNormalized(), "/a+b/~/x?data=}k\xbb 1%2&z=%zz%4#frAg");
  EXPECT_EQ(p.txs()[1]->UriNormalized(), "/p/q?A%4");
  EXPECT_EQ(p.txs()[2]->UriNormalized(), "/only?ABC");
  EXPECT_EQ(p.txs()[0]->Uri(), "/a+b/%7e/x?data=%7Dk%BB+1%2&z=%zz%4#fr%41g");  // The raw URI stays.
}

TEST_F(HttpTest, UnrecognizedAuthorizationIsAnEventOfTheTransaction) {
  HttpParser p({});
  Feed(p, 0, "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic dTpw\r\n\r\n");
  Feed(p, 0, "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: bearer x\r\n\r\n");
  Feed(p, 0, "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: DIGEST a=b\r\n\r\n");
  EXPECT_FALSE(Raised(HttpEvent::kRequestAuthUnrecognized));
  Feed(p, 0, "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Turbo customAuthDataHere\r\n\r\n");
  EXPECT_TRUE(Raised(HttpEvent::kRequestAuthUnrecognized));
  ASSERT_EQ(p.txs().size(), 4u);
  EXPECT_EQ(p.txs()[2]->events, 0u);
  EXPECT_EQ(p.txs()[3]->events, 1u << static_cast<int>(HttpEvent::kRequestAuthUnrecognized));
  EXPECT_STREQ(HttpEventName(HttpEvent::kRequestAuthUnrecognized), "http.request_auth_unrecognized");
}

TEST_F(HttpTest, TooManyContentEncodingLayersAlsoWithoutBodies) {
  for (size_t limit : {size_t{0}, size_t{1024}}) {
    HttpOptions o;
    o.body_limit = limit;
    HttpParser p(o);
    events_.clear();
    Feed(p, 0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    Feed(p, 1, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Encoding: identity, identity, gzip, identity\r\n\r\nabc");
    EXPECT_TRUE(Raised(HttpEvent::kTooManyEncodingLayers)) << limit;
    ASSERT_EQ(p.txs().size(), 1u);
    EXPECT_NE(p.txs()[0]->events & (1u << static_cast<int>(HttpEvent::kTooManyEncodingLayers)), 0u);
    EXPECT_TRUE(p.txs()[0]->ResponseComplete());
  }
  HttpParser q({});
  events_.clear();
  Feed(q, 0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  Feed(q, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Encoding: gzip, deflate,, gzip\r\n\r\n");
  EXPECT_FALSE(Raised(HttpEvent::kTooManyEncodingLayers));  // Three layers are allowed.
}

TEST_F(HttpTest, ResponseHeadEndedByTheConnectionKeepsItsHeaders) {
  HttpParser p({});
  Feed(p, 0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  Feed(p, 1, "HTTP/1.0 200 OK\nServer:ng1nx\r\n");
  ASSERT_EQ(p.txs().size(), 1u);
  EXPECT_EQ(p.txs()[0]->response.Header("Server"), "");
  progressed_.clear();
  p.Close(&progressed_);
  ASSERT_EQ(progressed_.size(), 1u);
  const HttpTx& tx = *p.txs()[0];
  EXPECT_EQ(tx.response.Header("Server"), "ng1nx");
  EXPECT_TRUE(tx.ResponseComplete());
  // A last header line without its line end counts too; a head that is only
  // a status line gets no headers.
  HttpParser q({});
  Feed(q, 0, "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
  Feed(q, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 404 Not Found\r\nX-A: 1\r\nX-B: 2");
  progressed_.clear();
  q.Close(&progressed_);
  ASSERT_EQ(q.txs().size(), 2u);
  EXPECT_EQ(q.txs()[1]->response.Header("X-B"), "2");
  HttpParser r({});
  Feed(r, 0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  Feed(r, 1, "HTTP/1.1 204 No Content\r\n");
  progressed_.clear();
  r.Close(&progressed_);
  EXPECT_TRUE(r.txs()[0]->response.headers.empty());
}

TEST_F(HttpTest, RequestBodyAnnouncedAsGzipButPlainPassesThrough) {
  HttpOptions o;
  o.body_limit = 4096;
  HttpParser p(o);
  const std::string body = "{\"sdk_version\":11026,\"app_package\":\"com.example\",\"device_id\":\"350672920106648\"}";
  Feed(p, 0, "POST /api HTTP/1.1\r\nHost: a\r\nContent-Encoding: gzip\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body);
  ASSERT_EQ(p.txs().size(), 1u);
  EXPECT_EQ(p.txs()[0]->request.body, body);
  EXPECT_TRUE(Raised(HttpEvent::kGzipDecompressionFailed));
}

TEST(HttpStartTest, KnownMethodsStatusLinesAndOthers) {
  auto c = [](std::string_view s) { return ClassifyHttpStart(reinterpret_cast<const uint8_t*>(s.data()), s.size()); };
  EXPECT_EQ(c("GET / HTTP/1.1\r\n"), HttpStart::kRequest);
  EXPECT_EQ(c("CCM_POST /x HTTP/1.0\r\n"), HttpStart::kRequest);
  EXPECT_EQ(c("OPTIONS\r\n"), HttpStart::kRequest);
  EXPECT_EQ(c("FOO /x HTTP/1.1\r\n"), HttpStart::kRequest);  // Any token with a version.
  EXPECT_EQ(c("FOO /x\r\n"), HttpStart::kNo);
  EXPECT_EQ(c("HTTP/1.1 200 OK\r\n"), HttpStart::kResponse);
  EXPECT_EQ(c("GE"), HttpStart::kNeedMore);
  EXPECT_EQ(c("SSH-2.0-OpenSSH\r\n"), HttpStart::kNo);
  EXPECT_EQ(c("\x16\x03\x01"), HttpStart::kNo);
}

}  // namespace
}  // namespace rampart::applayer
