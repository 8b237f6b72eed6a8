#pragma once
// The literal prefilter: one Vectorscan (Hyperscan) block-mode database per
// rule group and inspection buffer, built from each rule's fast pattern.
// A scan returns the ids of the patterns present; only rules owning those
// patterns are then verified. hs.h stays inside prefilter.cc.
//
// A PatternDb is immutable and shared by every worker. Each worker owns a
// PrefilterScratch sized for every database of the engine.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status/status.h"

struct hs_database;
struct hs_scratch;

namespace rampart::detect {

class PatternDb;

class PrefilterScratch {
 public:
  PrefilterScratch() = default;
  ~PrefilterScratch();
  PrefilterScratch(const PrefilterScratch&) = delete;
  PrefilterScratch& operator=(const PrefilterScratch&) = delete;
  // Grows the scratch to cover `db`. kResourceExhausted on allocation failure.
  Status Cover(const PatternDb& db);

 private:
  friend class PatternDb;
  hs_scratch* scratch_ = nullptr;
};

class PatternDb {
 public:
  struct Pattern {
    std::string bytes;
    bool nocase = false;
  };
  // Identical patterns should be merged by the caller; the id of a pattern
  // is its index in `patterns`. kInvalidArgument carries Vectorscan's error.
  static Result<std::unique_ptr<PatternDb>> Build(const std::vector<Pattern>& patterns);
  ~PatternDb();
  PatternDb(const PatternDb&) = delete;
  PatternDb& operator=(const PatternDb&) = delete;

  // Appends the id of each pattern found in `data` (once per scan).
  void Scan(std::span<const uint8_t> data, PrefilterScratch& scratch, std::vector<uint32_t>* ids) const;
  size_t bytes() const { return size_; }
  size_t patterns() const { return count_; }

 private:
  friend class PrefilterScratch;
  PatternDb() = default;
  hs_database* db_ = nullptr;
  size_t size_ = 0;
  size_t count_ = 0;
};

}  // namespace rampart::detect
