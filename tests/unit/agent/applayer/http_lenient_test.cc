// Responses read as libhtp reads them (agent/applayer/http_lenient.h):
// deformed header blocks, NUL bytes in names, lenient chunk lines, layered
// and malformed content codings, and the parser's use of them.

#include "agent/applayer/http_lenient.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

#include "agent/applayer/http.h"

namespace rampart::applayer {
namespace {

using namespace std::string_literals;

std::vector<LenientHeader> Headers(std::string_view block, size_t* consumed = nullptr) {
  std::vector<LenientHeader> out;
  size_t used = 0;
  EXPECT_EQ(ParseResponseHeaders(block, &out, &used), HeadResult::kDone) << block;
  if (consumed != nullptr) *consumed = used;
  return out;
}

TEST(HttpLenientTest, NamesWithoutCaseAndNulBytes) {
  EXPECT_TRUE(EqualsNoCaseNoZero("Transfer\0-Encoding"s, "transfer-encoding"));
  EXPECT_FALSE(EqualsNoCaseNoZero("Transfer-Encodings", "transfer-encoding"));
  EXPECT_TRUE(ContainsNoCaseNoZero("xchu\0nKedx"s, "chunked"));
  EXPECT_FALSE(ContainsNoCaseNoZero("chunke", "chunked"));
}

TEST(HttpLenientTest, ResponseLinesEndAtCrOrLf) {
  size_t eol = 0;
  EXPECT_EQ(ResponseLineEnd("HTTP/1.1 200 ok\r\nA: b", &eol), 15u);
  EXPECT_EQ(eol, 2u);
  EXPECT_EQ(ResponseLineEnd("HTTP/1.1\rTransfer-Encoding: chunked", &eol), 8u);
  EXPECT_EQ(eol, 1u);
  EXPECT_EQ(ResponseLineEnd("HTTP/1.1 200 ok\r", &eol), std::string_view::npos);  // LF may follow.
  EXPECT_TRUE(LooksLikeResponseLine(" http/1.0 200 ok"));
  EXPECT_FALSE(LooksLikeResponseLine("foobar"));
}

TEST(HttpLenientTest, RegularAndDeformedHeaderBlocks) {
  size_t used = 0;
  auto h = Headers("A: 1\r\nB:2 \r\n\r\nbody", &used);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1].name, "B");
  EXPECT_EQ(h[1].value, "2");
  EXPECT_EQ(used, 14u);
  // Bare CR line ends.
  h = Headers("Content-type: x\rTransfer-Encoding: chunked\r\r\n\nbody");
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1].value, "chunked");
  // LF CR CR LF ends the block too; so does LF, blank, LF before a non-header line.
  EXPECT_EQ(Headers("A: 1\n\r\r\nX5O!P").size(), 1u);
  Headers("A: 1\n \nX5O!P%@AP[4", &used);
  EXPECT_EQ(used, 7u);
  // Folding, and blanks / VT / CR LF around the colon.
  h = Headers("A: one\r\n two\r\nTransfer-Encoding\v:chunked\r\nB\r\n :\r\n v\r\n\r\n");
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].value, "one two");
  EXPECT_EQ(h[1].name, "Transfer-Encoding");
  EXPECT_EQ(h[1].value, "chunked");
  EXPECT_EQ(h[2].name, "B");
  EXPECT_EQ(h[2].value, "v");
  // A NUL stays in the name (lookups skip it); a line without colon has an empty name.
  h = Headers("Transfer-Encoding\0:chunked\r\nno colon here\r\n\r\n"s);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[0].name, "Transfer-Encoding\0"s);
  EXPECT_EQ(h[1].name, "");
  EXPECT_EQ(h[1].value, "no colon here");
  // Incomplete blocks ask for more.
  std::vector<LenientHeader> out;
  EXPECT_EQ(ParseResponseHeaders("A: 1\r\nB: 2", &out, &used), HeadResult::kNeedMore);
  EXPECT_EQ(ParseResponseHeaders("A: 1\r\n", &out, &used), HeadResult::kNeedMore);
}

TEST(HttpLenientTest, ChunkLines) {
  EXPECT_EQ(ParseChunkLine("\f4\r\n").kind, ChunkLine::Kind::kLength);
  EXPECT_EQ(ParseChunkLine("\f4\r\n").length, 4u);
  EXPECT_EQ(ParseChunkLine("1a;ext=1\r\n").length, 26u);
  EXPECT_EQ(ParseChunkLine(" \t\r\n").kind, ChunkLine::Kind::kSkip);
  EXPECT_EQ(ParseChunkLine("X5O!P\r\n").kind, ChunkLine::Kind::kInvalid);
  EXPECT_TRUE(MayBeChunkLine("\r\n 1"));
  EXPECT_FALSE(MayBeChunkLine(" X"));
  uint64_t n = 0;
  EXPECT_TRUE(ParseLenientContentLength(" x34 68", &n));
  EXPECT_EQ(n, 34u);
  EXPECT_FALSE(ParseLenientContentLength("none", &n));
}

std::string Compress(std::string_view data, int window_bits) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(compressBound(static_cast<uLong>(data.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string Decode(std::string_view ce, std::string_view body, size_t split = 0) {
  auto d = BodyDecoder::FromContentEncoding(ce, 3);
  EXPECT_NE(d, nullptr) << ce;
  if (d == nullptr) return {};
  std::string out;
  if (split == 0) split = body.size();
  for (size_t i = 0; i < body.size(); i += split) {
    const std::string_view part = body.substr(i, split);
    d->Feed(reinterpret_cast<const uint8_t*>(part.data()), part.size(), &out, 1 << 20);
  }
  return out;
}

const std::string kText = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

TEST(HttpLenientTest, GzipHeadersReadLeniently) {
  const std::string gz = Compress(kText, 31);
  EXPECT_EQ(Decode("gzip", gz), kText);
  EXPECT_EQ(Decode("gzip", gz, 1), kText);  // One byte at a time.
  // Reserved flag bits set, and a broken trailer: still decoded.
  std::string odd = gz;
  odd[3] = static_cast<char>(odd[3] | 0xe0);
  odd[odd.size() - 5] ^= 0x55;
  EXPECT_EQ(Decode("gzip", odd), kText);
  // Optional fields: extra, name, comment, header CRC.
  std::string fields = gz.substr(0, 10);
  fields[3] = 0x04 | 0x08 | 0x10 | 0x02;
  fields += "\x03\x00" "abc" "name\0" "comment\0" "\x12\x34"s;
  fields += gz.substr(10);
  EXPECT_EQ(Decode("x-gzip", fields, 3), kText);
}

TEST(HttpLenientTest, DeflateLayersAndPassThrough) {
  EXPECT_EQ(Decode("deflate", Compress(kText, 15)), kText);   // zlib wrapper
  EXPECT_EQ(Decode("deflate", Compress(kText, -15)), kText);  // raw
  // "gzip, deflate": gzip applied first, then deflate; undone the other way.
  EXPECT_EQ(Decode("gzip, deflate", Compress(Compress(kText, 31), 15)), kText);
  EXPECT_EQ(Decode("gzip,gzip", Compress(Compress(kText, 31), 31), 2), kText);
  // Items naming a coding anywhere in them count.
  EXPECT_EQ(Decode("x_gzip", Compress(kText, 31)), kText);
  // Data that is not coded passes through.
  EXPECT_EQ(Decode("gzip", kText), kText);
  EXPECT_EQ(BodyDecoder::FromContentEncoding("identity", 3), nullptr);
  // More layers than allowed: the extra ones are not undone.
  auto d = BodyDecoder::FromContentEncoding("gzip, gzip, gzip, gzip", 3);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->layers(), 3u);
}

// The parser with these rules: the bodies of evasive responses.
class HttpLenientParserTest : public ::testing::Test {
 protected:
  std::string Body(std::string_view response) {
    HttpOptions o;
    o.body_limit = 4096;
    HttpParser p(o);
    std::vector<HttpTx*> progressed;
    std::vector<HttpEvent> events;
    const std::string_view req = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
    p.Feed(0, reinterpret_cast<const uint8_t*>(req.data()), req.size(), false, &progressed, &events);
    p.Feed(1, reinterpret_cast<const uint8_t*>(response.data()), response.size(), false, &progressed, &events);
    p.Close(&progressed);
    if (p.txs().empty()) return "<no transaction>";
    return p.txs()[0]->response.body;
  }
};

TEST_F(HttpLenientParserTest, EvasiveFramingStillYieldsTheBody) {
  const std::string chunked = "4\r\nX5O!\r\n4\r\nP%@A\r\n0\r\n\r\n";
  // A NUL inside the header name; "chunked" inside a longer value.
  EXPECT_EQ(Body("HTTP/1.1 200 ok\r\nTransfer\0-Encoding: chunked\r\n\r\n"s + chunked), "X5O!P%@A");
  EXPECT_EQ(Body("HTTP/1.1 200 ok\r\nTransfer-Encoding: xchunkedx\r\n\r\n" + chunked), "X5O!P%@A");
  // Bare CR line ends, and a form feed before a chunk size.
  EXPECT_EQ(Body("HTTP/1.1 200 ok\rTransfer-Encoding: chunked\r\r\n\n\f4\r\nX5O!\r\n0\r\n\r\n"), "X5O!");
  // Not chunked after all: the rest of the connection is the body.
  EXPECT_EQ(Body("HTTP/1.1 200 ok\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\nX5O!P"), "X5O!P");
  // 100 with a body, and 204 with a length, carry a body.
  EXPECT_EQ(Body("HTTP/1.1 100 ok\r\nContent-Length: 4\r\n\r\nX5O!"), "X5O!");
  EXPECT_EQ(Body("HTTP/1.1 204 ok\r\nContent-Length: 4\r\n\r\nX5O!"), "X5O!");
  // Junk before the status line is dropped when a response follows.
  EXPECT_EQ(Body("foobar\r\nHTTP/1.1 200 ok\r\nContent-Length: 4\r\n\r\nX5O!"), "X5O!");
  // Lines after the announced length that do not start a response.
  EXPECT_EQ(Body("HTTP/1.1 200 ok\r\nContent-Length: 2\r\n\r\nX5O!P%@AP[4\r\n"), "X5O!P%@AP[4\r\n");
  // Repeated Content-Encoding headers are layers.
  const std::string twice = Compress(Compress("EICAR", 31), 31);
  EXPECT_EQ(Body("HTTP/1.1 200 ok\r\nContent-Encoding: gzip\r\nContent-Encoding: gzip\r\nContent-Length: " +
                 std::to_string(twice.size()) + "\r\n\r\n" + twice),
            "EICAR");
}

}  // namespace
}  // namespace rampart::applayer
