#include "agent/ship/batch_encoding.h"

#include <string_view>

namespace rampart::ship::detail {
namespace {

void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void AppendField(std::string* out, uint32_t field, std::string_view bytes) {
  AppendVarint(out, (uint64_t{field} << 3) | 2);
  AppendVarint(out, bytes.size());
  out->append(bytes);
}

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// A length-delimited field with a one-byte tag (field numbers below 16).
size_t FieldSize(size_t length) { return 1 + VarintSize(length) + length; }

}  // namespace

// The size is computed first: a batch is up to a megabyte, and building the
// body then copying it behind its header cost a second fresh allocation (and
// its page faults) per batch.
std::string EncodeBatch(const std::vector<agent_store::OutboxEntry>& entries, bool backlog,
                        const std::vector<agent_store::SeqRange>& gone, uint64_t batch_id) {
  std::vector<std::string> ranges;
  ranges.reserve(gone.size());
  for (const agent_store::SeqRange& g : gone) {
    std::string& r = ranges.emplace_back();
    AppendVarint(&r, (1 << 3) | 0);
    AppendVarint(&r, g.first);
    AppendVarint(&r, (2 << 3) | 0);
    AppendVarint(&r, g.last);
  }
  size_t body = 1 + VarintSize(batch_id) + (backlog ? 2 : 0);
  for (const agent_store::OutboxEntry& e : entries) body += FieldSize(e.event.size());
  for (const std::string& r : ranges) body += FieldSize(r.size());
  std::string msg;
  msg.reserve(FieldSize(body));
  AppendVarint(&msg, (2 << 3) | 2);  // AgentMessage.batch
  AppendVarint(&msg, body);
  for (const agent_store::OutboxEntry& e : entries) AppendField(&msg, 1, e.event);
  if (backlog) {
    AppendVarint(&msg, (2 << 3) | 0);
    AppendVarint(&msg, 1);
  }
  for (const std::string& r : ranges) AppendField(&msg, 3, r);
  AppendVarint(&msg, (4 << 3) | 0);
  AppendVarint(&msg, batch_id);
  return msg;
}

}  // namespace rampart::ship::detail
