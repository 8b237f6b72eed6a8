# One INTERFACE target carries every project-wide compile flag, so no one
# edits CMAKE_CXX_FLAGS and third-party code is not held to our warnings.
add_library(rampart_build_flags INTERFACE)
add_library(rampart::build_flags ALIAS rampart_build_flags)

target_compile_options(rampart_build_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wformat=2
  -Wimplicit-fallthrough -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  # Lock annotations (GUARDED_BY, REQUIRES: common/util/thread_annotations.h)
  # are checked wherever clang builds, and a violation is an error even
  # without RAMPART_WERROR: an unguarded access is a data race to be.
  target_compile_options(rampart_build_flags INTERFACE -Wthread-safety -Werror=thread-safety)
endif()
if(RAMPART_WERROR)
  target_compile_options(rampart_build_flags INTERFACE -Werror)
endif()

# Packed relative relocations (DT_RELR; binutils >= 2.38, glibc >= 2.36): a
# PIE's R_X86_64_RELATIVE table shrinks about 40-fold (rampart-agent: 347 KiB
# of .rela.dyn down to 53 KiB + 2 KiB of .relr.dyn). ld.so reads that table
# once at start-up but its pages stay mapped, so this is resident memory that
# disappears: measured -0.4 MiB of idle rampart-agent RSS
# (bench/transport_bench). No run-time cost; start-up does less work.
include(CheckLinkerFlag)
check_linker_flag(CXX "-Wl,-z,pack-relative-relocs" RAMPART_HAVE_PACK_RELATIVE_RELOCS)
if(RAMPART_HAVE_PACK_RELATIVE_RELOCS)
  target_link_options(rampart_build_flags INTERFACE "-Wl,-z,pack-relative-relocs")
endif()

if(RAMPART_SANITIZERS)
  set(_san -fsanitize=${RAMPART_SANITIZERS} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_compile_options(rampart_build_flags INTERFACE ${_san})
  target_link_options(rampart_build_flags INTERFACE ${_san})
endif()

if(RAMPART_ENABLE_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "RAMPART_ENABLE_FUZZERS needs clang (libFuzzer); use the asan preset")
  endif()
  # Instrument every library for coverage; only fuzz targets link the driver.
  target_compile_options(rampart_build_flags INTERFACE -fsanitize=fuzzer-no-link)
endif()
