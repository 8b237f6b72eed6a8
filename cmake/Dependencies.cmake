# Every third-party dependency gets one name here (deps::x), so modules never
# care whether a package ships a CMake config or only a pkg-config file.
# All come from Debian 12 packages installed by deploy/install-deps.sh.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

find_package(OpenSSL 3 REQUIRED)
add_library(deps::openssl INTERFACE IMPORTED GLOBAL)
target_link_libraries(deps::openssl INTERFACE OpenSSL::SSL OpenSSL::Crypto)

find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_program(RAMPART_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

find_package(RocksDB CONFIG REQUIRED)
add_library(deps::rocksdb INTERFACE IMPORTED GLOBAL)
target_link_libraries(deps::rocksdb INTERFACE RocksDB::rocksdb)

find_package(spdlog CONFIG REQUIRED)
add_library(deps::spdlog INTERFACE IMPORTED GLOBAL)
target_link_libraries(deps::spdlog INTERFACE spdlog::spdlog)

find_package(yaml-cpp CONFIG REQUIRED)
add_library(deps::yaml INTERFACE IMPORTED GLOBAL)
target_link_libraries(deps::yaml INTERFACE yaml-cpp)

find_package(nlohmann_json CONFIG REQUIRED)
add_library(deps::json INTERFACE IMPORTED GLOBAL)
target_link_libraries(deps::json INTERFACE nlohmann_json::nlohmann_json)

find_package(CLI11 CONFIG REQUIRED)
add_library(deps::cli11 INTERFACE IMPORTED GLOBAL)
target_link_libraries(deps::cli11 INTERFACE CLI11::CLI11)

find_package(Boost 1.74 REQUIRED)
add_library(deps::boost INTERFACE IMPORTED GLOBAL)
target_link_libraries(deps::boost INTERFACE Boost::headers)
target_compile_definitions(deps::boost INTERFACE BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)

find_package(ZLIB REQUIRED)
add_library(deps::zlib INTERFACE IMPORTED GLOBAL)
target_link_libraries(deps::zlib INTERFACE ZLIB::ZLIB)

find_package(CURL REQUIRED)
add_library(deps::curl INTERFACE IMPORTED GLOBAL)
target_link_libraries(deps::curl INTERFACE CURL::libcurl)

# pkg-config only (Debian's cnats CMake config is broken; the others ship none).
pkg_check_modules(pcap REQUIRED IMPORTED_TARGET GLOBAL libpcap)
add_library(deps::pcap ALIAS PkgConfig::pcap)
pkg_check_modules(hs REQUIRED IMPORTED_TARGET GLOBAL libhs)  # libvectorscan-dev or libhyperscan-dev
add_library(deps::hs ALIAS PkgConfig::hs)
pkg_check_modules(pcre2 REQUIRED IMPORTED_TARGET GLOBAL libpcre2-8)
add_library(deps::pcre2 ALIAS PkgConfig::pcre2)
pkg_check_modules(yara REQUIRED IMPORTED_TARGET GLOBAL yara)
add_library(deps::yara ALIAS PkgConfig::yara)
pkg_check_modules(nats REQUIRED IMPORTED_TARGET GLOBAL libnats)
add_library(deps::nats ALIAS PkgConfig::nats)
pkg_check_modules(argon2 REQUIRED IMPORTED_TARGET GLOBAL libargon2)
add_library(deps::argon2 ALIAS PkgConfig::argon2)

# The controller's allocator (libgoogle-perftools-dev). Ingest frees on the
# store's writer threads what gRPC's threads allocated; glibc's malloc spent
# about a tenth of the controller's CPU on that (consolidation, cross-thread
# frees); thread-caching tcmalloc does not. Sanitizer builds keep the
# allocator the sanitizer brings.
add_library(deps::controller_malloc INTERFACE IMPORTED GLOBAL)
if(NOT RAMPART_SANITIZERS AND NOT RAMPART_ENABLE_FUZZERS)
  pkg_check_modules(tcmalloc REQUIRED IMPORTED_TARGET GLOBAL libtcmalloc_minimal)
  target_link_libraries(deps::controller_malloc INTERFACE PkgConfig::tcmalloc)
endif()
pkg_check_modules(systemd IMPORTED_TARGET GLOBAL libsystemd)
if(TARGET PkgConfig::systemd)
  add_library(deps::systemd ALIAS PkgConfig::systemd)
endif()

if(RAMPART_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
  include(GoogleTest)
endif()
if(RAMPART_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()
