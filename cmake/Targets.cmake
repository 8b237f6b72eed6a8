# rampart_add_library(NAME SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
#   One static library per module folder: target rampart_NAME, alias rampart::NAME.
#   Includes start at the repository root ("common/status/status.h").
function(rampart_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(rampart_${name} STATIC ${ARG_SOURCES})
  add_library(rampart::${name} ALIAS rampart_${name})
  target_include_directories(rampart_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(rampart_${name}
    PUBLIC ${ARG_PUBLIC_DEPS}
    PRIVATE rampart::build_flags ${ARG_PRIVATE_DEPS})
  # Sanitizer and fuzzer flags must reach every consumer's link line too.
  if(RAMPART_SANITIZERS OR RAMPART_ENABLE_FUZZERS)
    target_link_libraries(rampart_${name} PUBLIC $<BUILD_INTERFACE:rampart::build_flags>)
  endif()
endfunction()

# rampart_add_executable(NAME SOURCES ... DEPS ...): a program in <build>/bin.
function(rampart_add_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE rampart::build_flags ${ARG_DEPS})
endfunction()

# rampart_add_test(NAME SOURCES ... DEPS ... LABELS ... [TIMEOUT s] [RUN_SERIAL])
#   A GoogleTest binary; each TEST becomes one ctest entry carrying LABELS, so
#   `ctest -L unit` runs exactly the unit group. Discovery happens when the
#   tests run, not at build time, so cross-checking builds stay fast.
function(rampart_add_test name)
  cmake_parse_arguments(ARG "RUN_SERIAL" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    message(FATAL_ERROR "rampart_add_test(${name}): LABELS is required")
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE rampart::build_flags rampart::testing ${ARG_DEPS}
    GTest::gmock GTest::gtest_main)
  # The test binaries know the source and build trees (tests/testing/paths.h).
  set(_props LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
  if(ARG_RUN_SERIAL)
    list(APPEND _props RUN_SERIAL TRUE)
  endif()
  gtest_discover_tests(${name}
    DISCOVERY_MODE PRE_TEST
    DISCOVERY_TIMEOUT 60
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    PROPERTIES ${_props})
endfunction()

# rampart_add_script_test(NAME COMMAND ... LABELS ... [TIMEOUT s] [RUN_SERIAL])
#   A test driven by a script (python3, bash) that starts real components.
function(rampart_add_script_test name)
  cmake_parse_arguments(ARG "RUN_SERIAL" "TIMEOUT" "COMMAND;LABELS;DEPENDS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_test(NAME ${name} COMMAND ${ARG_COMMAND} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  # Exit code 77 means "skipped" (e.g. network namespaces unavailable), with the reason printed.
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT} SKIP_RETURN_CODE 77
    ENVIRONMENT "RAMPART_SOURCE_DIR=${PROJECT_SOURCE_DIR};RAMPART_BINARY_DIR=${PROJECT_BINARY_DIR};RAMPART_BIN=${PROJECT_BINARY_DIR}/bin")
  if(ARG_RUN_SERIAL)
    set_tests_properties(${name} PROPERTIES RUN_SERIAL TRUE)
  endif()
endfunction()

# rampart_add_fuzzer(NAME SOURCES ... DEPS ... [SECONDS s])
#   A libFuzzer target (built only with RAMPART_ENABLE_FUZZERS). ctest -L fuzz
#   runs each for SECONDS on its seed corpus in tests/fuzz/corpus/NAME.
function(rampart_add_fuzzer name)
  cmake_parse_arguments(ARG "" "SECONDS" "SOURCES;DEPS" ${ARGN})
  if(NOT RAMPART_ENABLE_FUZZERS)
    return()
  endif()
  if(NOT ARG_SECONDS)
    set(ARG_SECONDS 20)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE rampart::build_flags ${ARG_DEPS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  set(_corpus ${PROJECT_BINARY_DIR}/fuzz-corpus/${name})
  set(_seeds ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${name})
  add_test(NAME fuzz.${name}
    COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=1
      ${PROJECT_SOURCE_DIR}/tests/fuzz/run_fuzzer.sh $<TARGET_FILE:${name}> ${_corpus} ${_seeds} ${ARG_SECONDS})
  set_tests_properties(fuzz.${name} PROPERTIES LABELS fuzz TIMEOUT 600)
endfunction()
