// Compiled, not run, by the ctest `thread_safety_annotations_are_checked`
// in clang builds (tests/unit/common/CMakeLists.txt): once as written, where
// clang must refuse it (an unguarded access is an error under
// -Werror=thread-safety), and once with RAMPART_LOCK_CORRECTLY, where it
// must compile. The pair shows the check is live and that the failure is
// the annotation's, not a broken include.

#include "common/util/mutex.h"

namespace {

class Counter {
 public:
  void Add() EXCLUDES(mu_) {
#if defined(RAMPART_LOCK_CORRECTLY)
    rampart::MutexLock lock(&mu_);
#endif
    ++count_;
  }

 private:
  rampart::Mutex mu_;
  int count_ GUARDED_BY(mu_) = 0;
};

}  // namespace

int main() {
  Counter c;
  c.Add();
  return 0;
}
