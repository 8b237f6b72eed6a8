#pragma once
// What the HTTP parser's files share (not part of the module's contract):
// the progress bits and the text helpers. http.cc holds the parser's
// framing (the state machine, bodies, chunks, message ends), http_head.cc
// its heads (start lines, header blocks, the lenient response head).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/applayer/http.h"
#include "agent/applayer/http_lenient.h"

namespace rampart::applayer::http_detail {

// sensor::kHttp* progress bits (kept equal; the sensor static_asserts).
constexpr uint8_t kReqLine = 1 << 0, kReqHeaders = 1 << 1, kReqDone = 1 << 2;
constexpr uint8_t kRespLine = 1 << 3, kRespHeaders = 1 << 4, kRespDone = 1 << 5;

// ASCII lower case.
char Lower(char c);
bool EqualsNoCase(std::string_view a, std::string_view b);
// Comma-separated list membership, without case ("gzip, chunked").
bool ContainsTokenNoCase(std::string_view value, std::string_view token);
// The value of a hex digit, -1 for another character.
int HexValue(char c);
bool StartsWithNoCase(std::string_view s, std::string_view prefix);
std::string UrlDecode(std::string_view in, bool plus_space);
std::string RemoveDotSegments(std::string_view in);
// A decimal number of up to 18 digits between blanks.
bool ParseUint(std::string_view s, uint64_t* out);

// Headers the lenient parser read: names and values go to the derived
// buffer, as normalised values do, replacing any headers kept before.
void StoreLenientHeaders(const std::vector<LenientHeader>& headers, HttpMessage* m);

}  // namespace rampart::applayer::http_detail
