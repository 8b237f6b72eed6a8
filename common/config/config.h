#pragma once
// Typed YAML configuration that reports *every* problem, each with its key
// path and line, instead of stopping at the first:
//
//   agent.capture.snaplen: must be 64..262144, got 10 (line 7)
//   agent.capture.snaplenn: unknown key; did you mean 'snaplen'? (line 8)
//
// A module reads its own section into its own Options struct; defaults stay
// in the struct, so a missing key keeps the default:
//
//   auto doc = config::Document::LoadFile(path);       // YAML syntax errors fail here
//   if (!doc) return doc.error();
//   config::Section capture = doc->Root().Child("agent").Child("capture");
//   capture.Int("snaplen", &options.snaplen, 64, 262144);
//   capture.String("interface", &options.interface, config::kRequired);
//   RAMPART_RETURN_IF_ERROR(doc->Finish());           // unknown keys + every problem
//
// Not thread-safe; read a document on one thread, then hand out the Options.

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status/status.h"

namespace rampart::config {

namespace detail {
struct DocumentState;
struct SectionState;
}  // namespace detail

inline constexpr bool kRequired = true;

// One mapping in the document, named by its dotted path ("agent.capture").
// Copies refer to the same mapping. A Section never fails on its own: each
// problem is recorded in the Document and reported by Finish().
class Section {
 public:
  const std::string& path() const;
  // 1-based line of the mapping in the file; 0 when it is absent.
  int line() const;
  // True when the key is present (and marks it as known).
  bool Has(std::string_view key) const;
  // Keys present in this mapping, in file order.
  std::vector<std::string> Keys() const;

  // Each reader: when `key` is present, converts and checks it into *out;
  // when absent, leaves *out alone, or records "is required" if required.
  void Int64(std::string_view key, int64_t* out, int64_t min, int64_t max, bool required = false);
  template <typename T>
  void Int(std::string_view key, T* out, int64_t min, int64_t max, bool required = false) {
    int64_t v = static_cast<int64_t>(*out);
    Int64(key, &v, min, max, required);
    *out = static_cast<T>(v);
  }
  void Double(std::string_view key, double* out, double min, double max, bool required = false);
  void Bool(std::string_view key, bool* out, bool required = false);
  void String(std::string_view key, std::string* out, bool required = false);
  // A string that must be one of `allowed`.
  void OneOf(std::string_view key, std::string* out, std::initializer_list<std::string_view> allowed,
             bool required = false);
  // "250ms", "30s", "5m", "24h", "7d" (common/util/units.h).
  void Duration(std::string_view key, std::chrono::milliseconds* out, std::chrono::milliseconds min,
                std::chrono::milliseconds max, bool required = false);
  // "512", "64KiB", "1GiB", "10MB".
  void ByteSize(std::string_view key, uint64_t* out, uint64_t min, uint64_t max, bool required = false);
  // A YAML sequence of scalars.
  void StringList(std::string_view key, std::vector<std::string>* out, bool required = false);
  // A YAML mapping of scalar to scalar (e.g. rule variables).
  void StringMap(std::string_view key, std::map<std::string, std::string>* out, bool required = false);

  // A nested mapping. Absent: an empty section (its readers keep defaults).
  Section Child(std::string_view key, bool required = false);
  // A sequence of mappings, one Section each ("links[2]").
  std::vector<Section> List(std::string_view key, bool required = false);

  // Records a problem found by the caller's own checks, at `key`'s line.
  void Problem(std::string_view key, std::string_view message) const;
  // Marks a key as known without reading it (deprecated or handled elsewhere).
  void Accept(std::string_view key) const;

 private:
  friend class Document;
  explicit Section(std::shared_ptr<detail::SectionState> state) : state_(std::move(state)) {}
  std::shared_ptr<detail::SectionState> state_;
};

class Document {
 public:
  // kNotFound / kPermissionDenied for the file; kInvalidArgument with
  // "FILE:LINE:COL: message" for YAML syntax errors.
  static Result<Document> LoadFile(const std::string& path);
  // `name` stands in for the file name in messages.
  static Result<Document> LoadString(std::string_view text, std::string_view name = "<string>");

  Document(Document&&) noexcept;
  Document& operator=(Document&&) noexcept;
  ~Document();

  // The top-level mapping. A document that is empty or not a mapping is
  // recorded as a problem.
  Section Root();

  // Every problem so far, in the order found: "path: message (line N)".
  std::vector<std::string> Problems() const;

  // Adds "unknown key" for every key that no reader asked about in any
  // mapping that was read, then returns OK or one kInvalidArgument Status
  // whose message lists every problem, one per line, under the file name.
  Status Finish();

 private:
  explicit Document(std::unique_ptr<detail::DocumentState> state);
  std::unique_ptr<detail::DocumentState> state_;
};

}  // namespace rampart::config
