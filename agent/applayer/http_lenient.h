#pragma once
// HTTP response reading as libhtp (Suricata's HTTP library) does it, where
// browsers and libhtp accept what the RFCs do not: header blocks with bare
// CR line ends and deformed separators, header names with NUL bytes, chunk
// lines with stray control characters, layered and malformed content
// codings. The HTTP parser (http.h) uses these for responses so that a
// body a browser would decode is decoded for detection too (the
// http-evader cases of suricata-verify).
//
// Pure functions and a per-message decoder; no shared state.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::applayer {

// ASCII case-insensitive equality / substring search that skip NUL bytes
// in `text` (libhtp's *_nocase_nozero).
bool EqualsNoCaseNoZero(std::string_view text, std::string_view want);
bool ContainsNoCaseNoZero(std::string_view text, std::string_view want);

// The end of a response start line: the first CR or LF. *eol_len is 2 for
// CRLF, else 1. npos when no line end is there yet, or when a final CR may
// still be followed by LF.
size_t ResponseLineEnd(std::string_view data, size_t* eol_len);

// Whether a line starts a response as browsers read one: optional blanks
// or NULs, then "http" in any case. Other lines are body data.
bool LooksLikeResponseLine(std::string_view line);

struct LenientHeader {
  std::string name;
  std::string value;
};

enum class HeadResult : uint8_t {
  kNeedMore,  // No end of the header block yet.
  kDone,      // *consumed bytes (the end-of-headers line included) hold the headers.
  kError,     // Not a header block.
};

// Parses the header block after the response start line, as libhtp's
// response header parser: line ends CRLF, LFCR, LF or CR (and a few
// deformed mixes), folding, separators with blanks, CR, LF, VT or FF around
// the colon, lines without a colon (empty name). Repeated names are kept as
// separate entries. Appends to *out.
HeadResult ParseResponseHeaders(std::string_view data, std::vector<LenientHeader>* out, size_t* consumed);

// A chunk-size line (without its LF), as libhtp reads one: leading CR, LF,
// blanks, VT and FF skipped, then hex digits; anything may follow.
struct ChunkLine {
  enum class Kind : uint8_t { kSkip, kLength, kInvalid } kind = Kind::kInvalid;
  uint64_t length = 0;
};
ChunkLine ParseChunkLine(std::string_view line);
// Whether the start of a chunk-size line (no LF yet) can still be one.
bool MayBeChunkLine(std::string_view partial);

// Content-Length as libhtp reads it: leading non-digits skipped, digits,
// anything after. False when there are no digits.
bool ParseLenientContentLength(std::string_view value, uint64_t* out);

// How many content codings a Content-Encoding value lists, as libhtp counts
// layers: items split on ',' and ' ', "identity" included.
size_t ContentEncodingLayers(std::string_view value);

// Decodes a body through its content codings, outermost first. Gzip headers
// are read leniently (reserved flags ignored, optional fields skipped), the
// trailer is not checked, "deflate" may come with or without the zlib
// wrapper, and a layer whose data does not decode passes it through as it
// is (as libhtp does).
class BodyDecoder {
 public:
  enum class Coding : uint8_t { kGzip, kDeflate };
  // From the Content-Encoding value (repeated headers joined with ", "):
  // plain "gzip"/"x-gzip"/"deflate"/"x-deflate" name one layer; any other
  // value is a list split on ',' and ' ' whose items name gzip or deflate
  // anywhere in them, at most `max_layers` items. Null when nothing is to
  // be decoded.
  static std::unique_ptr<BodyDecoder> FromContentEncoding(std::string_view value, size_t max_layers);
  explicit BodyDecoder(std::vector<Coding> outermost_first);
  ~BodyDecoder();
  BodyDecoder(const BodyDecoder&) = delete;
  BodyDecoder& operator=(const BodyDecoder&) = delete;

  // Decodes coded bytes; appends at most `room` decoded bytes to *out and
  // returns how many bytes were decoded in all (also those past `room`,
  // while decoding continues).
  uint64_t Feed(const uint8_t* data, size_t len, std::string* out, size_t room);
  // The body ended: hands on what the layers still hold (a stream cut
  // short before its end or 8 KiB of output); returns the bytes decoded.
  uint64_t Finish(std::string* out, size_t room);
  // A layer failed and passed data through (libhtp logs this).
  bool any_failed() const { return any_failed_; }
  size_t layers() const { return layers_.size(); }

 private:
  struct Layer;
  void FeedLayer(size_t i, const uint8_t* data, size_t len, std::string* out, size_t room, uint64_t* produced);
  void FlushHeld(size_t i, std::string* out, size_t limit, uint64_t* produced);
  std::vector<std::unique_ptr<Layer>> layers_;
  bool any_failed_ = false;
};

}  // namespace rampart::applayer
