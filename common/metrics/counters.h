#pragma once
// A module's counters, declared once as a table (snort3's PegInfo beside its
// struct): each row gives the kind, the field name, the path of the same
// counter in Suricata's EVE `stats` record (empty when Suricata has none)
// and a one-line help text. The table makes the struct's fields and a
// constexpr description of them, so the stats records, status files and
// /metrics iterate one list instead of repeating the names.
//
//   #define RAMPART_FLOW_COUNTERS(X)  (rows joined by line continuations)
//     X(kCounter, created, "", "flows created")
//     X(kGauge, active, "", "flows in the table now")
//     X(kMax, peak_active, "", "most flows in the table at once")
//   struct FlowCounters {
//     RAMPART_COUNTERS(FlowCounters, "flow", RAMPART_FLOW_COUNTERS)
//   };
//
// A struct may hold other members besides the table's (arrays of event
// counts, strings); only the table's fields are described. `eve` may list
// several paths separated by spaces when Suricata reports the same count
// twice (flow.get_used and flow.mgr.flows_evicted).
//
// Everything here is compile-time data and plain functions: thread-safe as
// the values themselves are (workers keep their own copies and merge them).

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rampart::metrics {

enum class Kind : uint8_t {
  kCounter,  // Only grows; summed across workers (a Prometheus counter).
  kGauge,    // Goes up and down; summed across workers (memory in use, items queued).
  kMax,      // The largest value seen; the maximum across workers.
};

struct CounterInfo {
  Kind kind;
  std::string_view name;  // snake_case field name, unique within the module.
  std::string_view help;
  std::string_view eve;   // Suricata stats path(s), dot-separated; "" for none.
};

// Adds `from` into `into` row by row: counters and gauges add, maxima take
// the larger value.
template <class T>
void MergeCounters(T& into, const T& from) {
  const auto& fields = T::CounterFields();
  for (size_t i = 0; i < T::kCounterCount; ++i) {
    uint64_t& a = into.*fields[i];
    const uint64_t b = from.*fields[i];
    a = T::kCounters[i].kind == Kind::kMax ? (a > b ? a : b) : a + b;
  }
}

// Calls visit(const CounterInfo&, uint64_t value) for every row, in table order.
template <class T, class Visit>
void ForEachCounter(const T& counters, Visit&& visit) {
  const auto& fields = T::CounterFields();
  for (size_t i = 0; i < T::kCounterCount; ++i) visit(T::kCounters[i], counters.*fields[i]);
}

// Calls visit(std::string_view path) for each space-separated path of `eve`.
template <class Visit>
void ForEachEvePath(std::string_view eve, Visit&& visit) {
  while (!eve.empty()) {
    const size_t sp = eve.find(' ');
    const std::string_view path = eve.substr(0, sp);
    if (!path.empty()) visit(path);
    if (sp == std::string_view::npos) break;
    eve.remove_prefix(sp + 1);
  }
}

}  // namespace rampart::metrics

// Row expanders for RAMPART_COUNTERS; not for direct use.
#define RAMPART_METRICS_FIELD_(kind, name, eve, help) uint64_t name = 0;
#define RAMPART_METRICS_INFO_(kind, name, eve, help) \
  ::rampart::metrics::CounterInfo{::rampart::metrics::Kind::kind, #name, help, eve},
#define RAMPART_METRICS_MEMBER_(kind, name, eve, help) &RampartCountersSelf::name,

// Declares, inside struct `Self`, one uint64_t field per row of `TABLE`
// (an X-macro taking X(kind, name, eve, help)), and:
//   kCounterModule   the module's name (Prometheus: rampart_<module>_<name>)
//   kCounters        the rows, as constexpr CounterInfo
//   kCounterCount    how many
//   CounterFields()  the fields, as member pointers in row order
#define RAMPART_COUNTERS(Self, module, TABLE)                                                       \
  TABLE(RAMPART_METRICS_FIELD_)                                                                     \
  static constexpr std::string_view kCounterModule = module;                                        \
  static constexpr ::rampart::metrics::CounterInfo kCounters[] = {TABLE(RAMPART_METRICS_INFO_)};    \
  static constexpr size_t kCounterCount = sizeof(kCounters) / sizeof(kCounters[0]);                 \
  static const std::array<uint64_t Self::*, kCounterCount>& CounterFields() {                       \
    using RampartCountersSelf = Self;                                                               \
    static constexpr std::array<uint64_t Self::*, kCounterCount> kFields{TABLE(RAMPART_METRICS_MEMBER_)}; \
    return kFields;                                                                                 \
  }
