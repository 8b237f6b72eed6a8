// The EVE sink sensors write to: each Write is one Append (one group commit
// shared with concurrent writers), so a line is durable before Write returns.

#include <string_view>
#include <vector>

#include "agent/store/spool.h"

namespace rampart::agent_store {
namespace {

class SpoolSink final : public eve::EveSink {
 public:
  explicit SpoolSink(Spool& spool) : spool_(spool) {}

  Status Write(std::string_view lines) override {
    std::vector<std::string_view> records;
    size_t start = 0;
    while (start < lines.size()) {
      const size_t nl = lines.find('\n', start);
      const size_t end = nl == std::string_view::npos ? lines.size() : nl;
      std::string_view line = lines.substr(start, end - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!line.empty()) records.push_back(line);
      start = end + 1;
    }
    if (records.empty()) return Status::Ok();
    auto r = spool_.Append(records);
    return r.has_value() ? Status::Ok() : r.error();
  }

  // Every Write is already durable.
  Status Flush() override { return Status::Ok(); }

 private:
  Spool& spool_;
};

}  // namespace

std::unique_ptr<eve::EveSink> NewSpoolSink(Spool& spool) { return std::make_unique<SpoolSink>(spool); }

}  // namespace rampart::agent_store
