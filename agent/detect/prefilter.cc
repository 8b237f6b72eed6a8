#include "agent/detect/prefilter.h"

#include <hs.h>

#include <string>

namespace rampart::detect {

PrefilterScratch::~PrefilterScratch() {
  if (scratch_ != nullptr) hs_free_scratch(scratch_);
}

Status PrefilterScratch::Cover(const PatternDb& db) {
  if (db.db_ == nullptr) return Status::Ok();
  if (hs_alloc_scratch(db.db_, &scratch_) != HS_SUCCESS) {
    return ResourceExhaustedError("cannot allocate Vectorscan scratch space");
  }
  return Status::Ok();
}

Result<std::unique_ptr<PatternDb>> PatternDb::Build(const std::vector<Pattern>& patterns) {
  std::unique_ptr<PatternDb> out(new PatternDb());
  out->count_ = patterns.size();
  if (patterns.empty()) return out;
  std::vector<const char*> exprs;
  std::vector<size_t> lens;
  std::vector<unsigned> flags;
  std::vector<unsigned> ids;
  exprs.reserve(patterns.size());
  for (size_t i = 0; i < patterns.size(); ++i) {
    exprs.push_back(patterns[i].bytes.data());
    lens.push_back(patterns[i].bytes.size());
    flags.push_back(HS_FLAG_SINGLEMATCH | (patterns[i].nocase ? HS_FLAG_CASELESS : 0u));
    ids.push_back(static_cast<unsigned>(i));
  }
  hs_compile_error_t* err = nullptr;
  hs_database_t* db = nullptr;
  if (hs_compile_lit_multi(exprs.data(), flags.data(), ids.data(), lens.data(),
                           static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK, nullptr, &db,
                           &err) != HS_SUCCESS) {
    std::string msg = err != nullptr && err->message != nullptr ? err->message : "unknown error";
    if (err != nullptr) hs_free_compile_error(err);
    return InvalidArgumentError("Vectorscan could not compile the fast patterns: " + msg);
  }
  out->db_ = db;
  size_t size = 0;
  if (hs_database_size(db, &size) == HS_SUCCESS) out->size_ = size;
  return out;
}

PatternDb::~PatternDb() {
  if (db_ != nullptr) hs_free_database(db_);
}

namespace {
int OnMatch(unsigned int id, unsigned long long /*from*/, unsigned long long /*to*/, unsigned int /*flags*/,
            void* ctx) {
  static_cast<std::vector<uint32_t>*>(ctx)->push_back(id);
  return 0;
}
}  // namespace

void PatternDb::Scan(std::span<const uint8_t> data, PrefilterScratch& scratch, std::vector<uint32_t>* ids) const {
  if (db_ == nullptr || data.empty() || scratch.scratch_ == nullptr) return;
  hs_scan(db_, reinterpret_cast<const char*>(data.data()), static_cast<unsigned>(data.size()), 0, scratch.scratch_,
          OnMatch, ids);
}

}  // namespace rampart::detect
