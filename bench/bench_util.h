#pragma once
// Helpers of the whole-process benchmarks (sensor_bench, detect_bench,
// yara_bench): run
// a program and take its wall time and peak RSS, medians, pcap packet and
// byte counts, and the 8x benchmark capture (bench/make_mixed_8x.sh).
// Header-only; benchmarks are single-threaded drivers.

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace rampart::bench {

namespace fs = std::filesystem;

struct Run {
  double seconds = 0;
  long max_rss_kb = 0;
  int exit_code = -1;
  std::string err;
  std::string out;  // Standard output, when Time() was given a file for it.
};

// Runs argv with stderr captured and stdout to /dev/null, or to
// `stdout_file` (then read back into Run::out); wall time and peak RSS.
inline Run Time(const std::vector<std::string>& argv, const std::string& stdout_file = "") {
  char tmpl[] = "/tmp/rampart_bench_errXXXXXX";
  const int err_fd = ::mkstemp(tmpl);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int out = stdout_file.empty() ? ::open("/dev/null", O_WRONLY)
                                        : ::open(stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(err_fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  struct rusage ru = {};
  ::wait4(pid, &status, 0, &ru);
  Run r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.max_rss_kb = ru.ru_maxrss;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  ::lseek(err_fd, 0, SEEK_SET);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(err_fd, buf, sizeof(buf))) > 0) r.err.append(buf, static_cast<size_t>(n));
  ::close(err_fd);
  ::unlink(tmpl);
  if (!stdout_file.empty()) {
    std::ifstream in(stdout_file, std::ios::binary);
    r.out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return r;
}

inline int System(const std::vector<std::string>& argv) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : (v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2);
}

// Packets and captured bytes of a classic little- or big-endian pcap file.
inline bool CountPcap(const std::string& path, uint64_t* packets, uint64_t* bytes) {
  std::ifstream in(path, std::ios::binary);
  uint32_t hdr[6];
  if (!in.read(reinterpret_cast<char*>(hdr), sizeof(hdr))) return false;
  const bool swap = hdr[0] == 0xd4c3b2a1 || hdr[0] == 0x4d3cb2a1;
  auto fix = [&](uint32_t v) { return swap ? __builtin_bswap32(v) : v; };
  *packets = *bytes = 0;
  uint32_t rec[4];
  while (in.read(reinterpret_cast<char*>(rec), sizeof(rec))) {
    const uint32_t caplen = fix(rec[2]);
    ++*packets;
    *bytes += caplen;
    in.seekg(caplen, std::ios::cur);
  }
  return true;
}

// The 8x file, built once by bench/make_mixed_8x.sh into the build tree
// (the rules benchmark uses the same script and file); returns its path.
inline std::string EightTimes(const fs::path& build, const fs::path& source) {
  const fs::path out = build / "bench-data" / "mixed-8x.pcap";
  if (System({"/bin/bash", (source / "bench" / "make_mixed_8x.sh").string(), out.string()}) != 0) {
    std::fprintf(stderr, "bench/make_mixed_8x.sh failed\n");
    std::exit(1);
  }
  return out.string();
}

}  // namespace rampart::bench
