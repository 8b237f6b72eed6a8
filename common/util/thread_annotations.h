#pragma once
// Clang's thread-safety annotations (-Wthread-safety), as leveldb's
// port/thread_annotations.h spells them. They cost nothing at run time and
// compile to nothing under GCC; clang builds (the asan, tsan and
// thread-safety presets) check them and fail on a violation
// (-Werror=thread-safety).
//
//   GUARDED_BY(mu)     a member read or written only with `mu` held
//   PT_GUARDED_BY(mu)  what a pointer member points to, likewise
//   REQUIRES(mu)       a function its caller must call with `mu` held
//   REQUIRES_SHARED    ... held at least for reading
//   EXCLUDES(mu)       a function that takes `mu` itself (calling it with
//                      `mu` held would deadlock)
//   ACQUIRE / RELEASE  functions that take or give back a capability
//
// Use them with the annotated types of common/util/mutex.h: libstdc++'s
// std::mutex carries no capability attribute, so clang cannot track it.

#if defined(__clang__)
#define RAMPART_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define RAMPART_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) RAMPART_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY RAMPART_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) RAMPART_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) RAMPART_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) RAMPART_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) RAMPART_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define REQUIRES(...) RAMPART_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) RAMPART_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) RAMPART_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) RAMPART_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) RAMPART_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) RAMPART_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define RELEASE_GENERIC(...) RAMPART_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) RAMPART_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) RAMPART_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) RAMPART_THREAD_ANNOTATION(assert_capability(x))
#define RETURN_CAPABILITY(x) RAMPART_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS RAMPART_THREAD_ANNOTATION(no_thread_safety_analysis)
