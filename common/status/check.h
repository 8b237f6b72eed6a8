#pragma once
// RAMPART_CHECK(cond) << "context": aborts the process when an invariant of
// the program is broken. Never reachable from input (packets, rules, config,
// peers); those get a Status or a counter instead.

#include <sstream>

namespace rampart::detail {

// Collects the streamed context and aborts in its destructor.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  [[noreturn]] ~CheckFailure();
  CheckFailure(const CheckFailure&) = delete;
  CheckFailure& operator=(const CheckFailure&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

// Makes `cond ? (void)0 : Voidify() & stream` type-check.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace rampart::detail

#define RAMPART_CHECK(cond)               \
  (cond) ? (void)0                        \
         : ::rampart::detail::Voidify() & \
               ::rampart::detail::CheckFailure(__FILE__, __LINE__, #cond).stream()
