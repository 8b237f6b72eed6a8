// Network sensor throughput: `rampart-agent replay FILE --eve /dev/null`
// (no rules) as a whole process against `tcpdump -r FILE -w /dev/null` (the
// speed at which the file can be read at all) on the same file, in the same
// run, alternating. Prints the median wall time, Mbps and kpps of each, the
// peak RSS, and the ratio.
//
// The file is ../shared/data/bench/mixed-52mb.pcap made 8 times larger:
// copies with distinct addresses (../shared/tools/pcap_ipshift.py K for
// K=1..7) joined with `mergecap -a -F pcap` by bench/make_mixed_8x.sh, built
// once and cached in the build tree (bench-data/mixed-8x.pcap).
//
//   sensor_bench [--runs N] [--threads N] [--file PCAP] [--agent BIN] [--tcpdump BIN]

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench/bench_util.h"

namespace {

namespace fs = std::filesystem;
using rampart::bench::CountPcap;
using rampart::bench::EightTimes;
using rampart::bench::Median;
using rampart::bench::Run;
using rampart::bench::Time;

}  // namespace

int main(int argc, char** argv) {
  int runs = 5, threads = 1;
  std::string file, tcpdump = "/usr/bin/tcpdump";
  const fs::path self = fs::canonical("/proc/self/exe");
  std::string agent = (self.parent_path() / "rampart-agent").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--runs") {
      runs = std::max(1, std::atoi(v.c_str()));
    } else if (k == "--threads") {
      threads = std::max(1, std::atoi(v.c_str()));
    } else if (k == "--file") {
      file = v;
    } else if (k == "--agent") {
      agent = v;
    } else if (k == "--tcpdump") {
      tcpdump = v;
    } else {
      std::fprintf(stderr, "usage: sensor_bench [--runs N] [--threads N] [--file PCAP] [--agent BIN] [--tcpdump BIN]\n");
      return 2;
    }
  }
  if (file.empty()) file = EightTimes(self.parent_path().parent_path(), fs::path(RAMPART_SOURCE_DIR));
  uint64_t packets = 0, bytes = 0;
  if (!CountPcap(file, &packets, &bytes)) {
    std::fprintf(stderr, "cannot read %s\n", file.c_str());
    return 1;
  }
  std::printf("file: %s (%.1f MB, %llu packets, %.1f MB of packet data)\n", file.c_str(),
              static_cast<double>(fs::file_size(file)) / 1e6, static_cast<unsigned long long>(packets),
              static_cast<double>(bytes) / 1e6);
  std::vector<double> t_dump, t_agent;
  long rss_dump = 0, rss_agent = 0;
  for (int i = 0; i < runs; ++i) {
    const Run d = Time({tcpdump, "-r", file, "-w", "/dev/null"});
    const Run a = Time({agent, "replay", file, "--eve", "/dev/null", "--threads", std::to_string(threads)});
    if (d.exit_code != 0 || a.exit_code != 0) {
      std::fprintf(stderr, "a run failed: tcpdump %d, rampart-agent %d: %s\n", d.exit_code, a.exit_code,
                   a.err.c_str());
      return 1;
    }
    t_dump.push_back(d.seconds);
    t_agent.push_back(a.seconds);
    rss_dump = std::max(rss_dump, d.max_rss_kb);
    rss_agent = std::max(rss_agent, a.max_rss_kb);
    std::printf("run %d: tcpdump %.3f s, rampart-agent replay %.3f s (%s)", i + 1, d.seconds, a.seconds,
                a.err.substr(0, a.err.find('\n')).c_str());
    std::printf("\n");
  }
  const double md = Median(t_dump), ma = Median(t_agent);
  auto line = [&](const char* name, double t, long rss_kb) {
    std::printf("%-28s median %7.3f s  %8.1f Mbps  %7.1f kpps  peak RSS %6.1f MB\n", name, t,
                static_cast<double>(bytes) * 8 / 1e6 / t, static_cast<double>(packets) / 1e3 / t,
                static_cast<double>(rss_kb) / 1024.0);
  };
  line("tcpdump -r -w /dev/null", md, rss_dump);
  const std::string label = "rampart-agent replay (" + std::to_string(threads) + "t)";
  line(label.c_str(), ma, rss_agent);
  std::printf("ratio: replay takes %.2fx the tcpdump time (%d runs, medians)\n", ma / md, runs);
  return 0;
}
