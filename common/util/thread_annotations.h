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

// gRPC's headers bring abseil's legacy annotations, which define five of
// the same names (GUARDED_BY, PT_GUARDED_BY, ACQUIRED_BEFORE/AFTER,
// NO_THREAD_SAFETY_ANALYSIS) through THREAD_ANNOTATION_ATTRIBUTE__. Those
// five are spelled here token for token as abseil spells them, so whichever
// header comes first, the other's definition is an identical redefinition,
// which the preprocessor accepts.
#if defined(__clang__)
#define THREAD_ANNOTATION_ATTRIBUTE__(x) __attribute__((x))
#else
#define THREAD_ANNOTATION_ATTRIBUTE__(x)
#endif

#define GUARDED_BY(x) THREAD_ANNOTATION_ATTRIBUTE__(guarded_by(x))
#define PT_GUARDED_BY(x) THREAD_ANNOTATION_ATTRIBUTE__(pt_guarded_by(x))
#define ACQUIRED_AFTER(...) THREAD_ANNOTATION_ATTRIBUTE__(acquired_after(__VA_ARGS__))
#define ACQUIRED_BEFORE(...) THREAD_ANNOTATION_ATTRIBUTE__(acquired_before(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS THREAD_ANNOTATION_ATTRIBUTE__(no_thread_safety_analysis)

#define CAPABILITY(x) THREAD_ANNOTATION_ATTRIBUTE__(capability(x))
#define SCOPED_CAPABILITY THREAD_ANNOTATION_ATTRIBUTE__(scoped_lockable)
#define REQUIRES(...) THREAD_ANNOTATION_ATTRIBUTE__(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) THREAD_ANNOTATION_ATTRIBUTE__(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) THREAD_ANNOTATION_ATTRIBUTE__(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) THREAD_ANNOTATION_ATTRIBUTE__(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) THREAD_ANNOTATION_ATTRIBUTE__(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) THREAD_ANNOTATION_ATTRIBUTE__(release_shared_capability(__VA_ARGS__))
#define RELEASE_GENERIC(...) THREAD_ANNOTATION_ATTRIBUTE__(release_generic_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) THREAD_ANNOTATION_ATTRIBUTE__(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) THREAD_ANNOTATION_ATTRIBUTE__(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) THREAD_ANNOTATION_ATTRIBUTE__(assert_capability(x))
#define RETURN_CAPABILITY(x) THREAD_ANNOTATION_ATTRIBUTE__(lock_returned(x))
