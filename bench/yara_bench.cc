// YARA file-scan speed: rampart-agent scan against the yara CLI (Debian's
// yara 4.2.3, single-threaded: yara -p 1) on the same corpus with the same
// rules, in the same run, plus an unchanged re-scan served by the scan
// cache. Prints the median wall time of each and the ratios; also checks
// that both report the same (rule, file) pairs.
//
//   yara_bench --corpus DIR [--rules FILE] [--runs N] [--agent BIN] [--yara BIN]
//   (../shared/tools/make_benign_corpus.sh OUT builds a corpus: OUT/files)

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_util.h"

namespace {

using rampart::bench::Median;
using rampart::bench::Run;
using rampart::bench::Time;

std::set<std::string> Lines(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty()) out.insert(l);
  }
  return out;
}


}  // namespace

int main(int argc, char** argv) {
  std::string corpus, rules, agent, yara = "/usr/bin/yara";
  int runs = 3;
  const std::filesystem::path self = std::filesystem::canonical("/proc/self/exe");
  agent = (self.parent_path() / "rampart-agent").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--corpus") corpus = v;
    else if (k == "--rules") rules = v;
    else if (k == "--runs") runs = std::max(1, std::atoi(v.c_str()));
    else if (k == "--agent") agent = v;
    else if (k == "--yara") yara = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (corpus.empty()) {
    std::fprintf(stderr,
                 "usage: yara_bench --corpus DIR [--rules FILE] [--runs N] [--agent BIN] [--yara BIN]\n"
                 "  make a corpus with ../shared/tools/make_benign_corpus.sh OUT (then --corpus OUT/files)\n");
    return 2;
  }
  if (rules.empty()) {
    rules = (self.parent_path() / "../../../../shared/data/yara/signature-base/_index.yar").lexically_normal().string();
    if (!std::filesystem::exists(rules)) rules = "../shared/data/yara/signature-base/_index.yar";
  }
  const std::string tmp = std::filesystem::temp_directory_path() / ("yara-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(tmp);
  std::vector<double> t_yara, t_one, t_two, t_first_cached, t_rescan;
  bool same = true;
  for (int i = 0; i < runs; ++i) {
    const Run y = Time({yara, "-w", "-r", "-p", "1", rules, corpus}, tmp + "/yara.out");
    const Run o1 = Time({agent, "scan", corpus, "--yara", rules, "-w", "--threads", "1"}, tmp + "/one.out");
    const Run o2 = Time({agent, "scan", corpus, "--yara", rules, "-w", "--threads", "2"}, tmp + "/two.out");
    const std::string cache = tmp + "/cache-" + std::to_string(i);
    const Run c1 = Time({agent, "scan", corpus, "--yara", rules, "-w", "--threads", "2", "--cache", cache},
                        tmp + "/c1.out");
    const Run c2 = Time({agent, "scan", corpus, "--yara", rules, "-w", "--threads", "2", "--cache", cache},
                        tmp + "/c2.out");
    for (const Run* r : {&y, &o1, &o2, &c1, &c2}) {
      if (r->exit_code != 0) {
        std::fprintf(stderr, "a scan failed (exit %d)\n", r->exit_code);
        return 1;
      }
    }
    const auto ref = Lines(y.out);
    same = same && Lines(o1.out) == ref && Lines(o2.out) == ref && Lines(c1.out) == ref && Lines(c2.out) == ref;
    t_yara.push_back(y.seconds);
    t_one.push_back(o1.seconds);
    t_two.push_back(o2.seconds);
    t_first_cached.push_back(c1.seconds);
    t_rescan.push_back(c2.seconds);
    std::printf("run %d: yara -p 1 %.2f s, scan -p 1 %.2f s, scan -p 2 %.2f s, cached first %.2f s, unchanged re-scan %.3f s (%zu matches)\n",
                i + 1, y.seconds, o1.seconds, o2.seconds, c1.seconds, c2.seconds, ref.size());
  }
  std::filesystem::remove_all(tmp);
  const double my = Median(t_yara), m1 = Median(t_one), m2 = Median(t_two), mc = Median(t_first_cached),
               mr = Median(t_rescan);
  std::printf("median of %d runs: yara -r -p 1 %.2f s | rampart scan 1 thread %.2f s (%.2fx) | 2 threads %.2f s "
              "(%.2fx) | unchanged re-scan %.3f s (%.1fx faster than its first scan, %.2f s)\n",
              runs, my, m1, my / m1, m2, my / m2, mr, mc / mr, mc);
  std::printf("same (rule, file) pairs as yara in every run: %s\n", same ? "yes" : "NO");
  return same ? 0 : 1;
}
