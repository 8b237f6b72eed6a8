// Detection engine throughput: `rampart-agent replay FILE --rules RULES
// --eve /dev/null` as a whole process against `tcpdump -r FILE -w
// /dev/null` (the read limit) on the 8x benchmark capture
// (bench/make_mixed_8x.sh), alternating, for three rule sets:
//   gen1000  ../shared/data/bench/gen1000.rules (1,000 generated content rules)
//   gen10k   10,000 rules from ../shared/tools/gen_rules.py 10000 (seed 42)
//   etopen   the whole ET Open snapshot in ../shared/data/et-open (every
//            *.rules file of the tarball, joined)
// For each: rule-load time (median wall time of a replay of an empty
// capture with the rules: loading, parsing, building the Vectorscan
// databases, process start and exit), then median wall time, Mbps, kpps
// and peak RSS of the replay of the capture, and the ratio to tcpdump.
// Also the replay without rules, for the sensor's own share.
//
//   detect_bench [--runs N] [--sets gen1000,gen10k,etopen] [--file PCAP]
//                [--agent BIN] [--tcpdump BIN]

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_util.h"

namespace {

namespace fs = std::filesystem;
using rampart::bench::CountPcap;
using rampart::bench::EightTimes;
using rampart::bench::Median;
using rampart::bench::Run;
using rampart::bench::System;
using rampart::bench::Time;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "detect_bench: %s\n", what.c_str());
  std::exit(1);
}

// A capture with a header and no packets (Ethernet, classic pcap).
std::string EmptyPcap(const fs::path& dir) {
  const fs::path out = dir / "empty.pcap";
  std::ofstream f(out, std::ios::binary | std::ios::trunc);
  const uint32_t hdr[6] = {0xa1b2c3d4u, 0x00040002u, 0, 0, 65535, 1};
  f.write(reinterpret_cast<const char*>(hdr), sizeof(hdr));
  if (!f) Die("cannot write " + out.string());
  return out.string();
}

// The rule file of a set, made once under dir.
std::string RuleFile(const std::string& set, const fs::path& dir, const fs::path& shared) {
  if (set == "gen1000") return (shared / "data" / "bench" / "gen1000.rules").string();
  if (set == "gen10k") {
    const fs::path out = dir / "gen10k.suricata.rules";
    if (!fs::exists(out) &&
        System({"/usr/bin/python3", (shared / "tools" / "gen_rules.py").string(), "10000", (dir / "gen10k").string()}) !=
            0) {
      Die("gen_rules.py failed");
    }
    return out.string();
  }
  if (set == "etopen") {
    const fs::path out = dir / "et-open-all.rules";
    if (fs::exists(out)) return out.string();
    const fs::path tgz = shared / "data" / "et-open" / "et-open-suricata-5.0-2024-04-21.tar.gz";
    const fs::path x = dir / "et-open";
    fs::create_directories(x);
    if (System({"tar", "-xzf", tgz.string(), "-C", x.string()}) != 0) Die("cannot unpack " + tgz.string());
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(x)) {
      if (e.is_regular_file() && e.path().extension() == ".rules") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    std::ofstream all(dir / "et-open-all.rules.tmp", std::ios::trunc);
    for (const fs::path& f : files) {
      std::ifstream in(f);
      all << in.rdbuf() << "\n";
    }
    all.close();
    fs::rename(dir / "et-open-all.rules.tmp", out);
    return out.string();
  }
  Die("unknown rule set '" + set + "' (gen1000, gen10k, etopen)");
}

// "rules: 1 rule file: 1000 rules loaded, 0 skipped, 0 failed" from replay's stderr.
std::string RulesLine(const std::string& err) {
  std::istringstream in(err);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("rules:", 0) == 0) return line;
  }
  return "";
}

void Line(const char* name, double t, long rss_kb, uint64_t bytes, uint64_t packets) {
  std::printf("  %-34s median %7.3f s  %8.1f Mbps  %7.1f kpps  peak RSS %6.1f MB\n", name, t,
              static_cast<double>(bytes) * 8 / 1e6 / t, static_cast<double>(packets) / 1e3 / t,
              static_cast<double>(rss_kb) / 1024.0);
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 3;
  std::string file, tcpdump = "/usr/bin/tcpdump", sets = "gen1000,gen10k,etopen";
  const fs::path self = fs::canonical("/proc/self/exe");
  std::string agent = (self.parent_path() / "rampart-agent").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--runs") {
      runs = std::max(1, std::atoi(v.c_str()));
    } else if (k == "--sets") {
      sets = v;
    } else if (k == "--file") {
      file = v;
    } else if (k == "--agent") {
      agent = v;
    } else if (k == "--tcpdump") {
      tcpdump = v;
    } else {
      std::fprintf(stderr,
                   "usage: detect_bench [--runs N] [--sets gen1000,gen10k,etopen] [--file PCAP] [--agent BIN] "
                   "[--tcpdump BIN]\n");
      return 2;
    }
  }
  if (argc % 2 == 0) {
    std::fprintf(stderr, "detect_bench: every option takes a value\n");
    return 2;
  }
  const fs::path source(RAMPART_SOURCE_DIR);
  const fs::path shared = source.parent_path() / "shared";
  const fs::path data_dir = self.parent_path().parent_path() / "bench-data";
  fs::create_directories(data_dir);
  if (file.empty()) file = EightTimes(self.parent_path().parent_path(), source);
  uint64_t packets = 0, bytes = 0;
  if (!CountPcap(file, &packets, &bytes)) Die("cannot read " + file);
  std::printf("file: %s (%.1f MB, %llu packets, %.1f MB of packet data)\n", file.c_str(),
              static_cast<double>(fs::file_size(file)) / 1e6, static_cast<unsigned long long>(packets),
              static_cast<double>(bytes) / 1e6);
  const std::string empty = EmptyPcap(data_dir);

  // The read limit and the sensor without rules, measured once for all sets.
  std::vector<double> t_dump, t_plain;
  long rss_dump = 0, rss_plain = 0;
  for (int i = 0; i < runs; ++i) {
    const Run d = Time({tcpdump, "-r", file, "-w", "/dev/null"});
    const Run a = Time({agent, "replay", file, "--eve", "/dev/null"});
    if (d.exit_code != 0 || a.exit_code != 0) Die("tcpdump or plain replay failed: " + a.err);
    t_dump.push_back(d.seconds);
    t_plain.push_back(a.seconds);
    rss_dump = std::max(rss_dump, d.max_rss_kb);
    rss_plain = std::max(rss_plain, a.max_rss_kb);
  }
  const double md = Median(t_dump);
  Line("tcpdump -r -w /dev/null", md, rss_dump, bytes, packets);
  Line("rampart-agent replay, no rules", Median(t_plain), rss_plain, bytes, packets);
  std::printf("  ratio: replay without rules takes %.2fx the tcpdump time\n", Median(t_plain) / md);

  std::stringstream list(sets);
  std::string set;
  while (std::getline(list, set, ',')) {
    const std::string rules = RuleFile(set, data_dir, shared);
    std::printf("\nrule set %s: %s\n", set.c_str(), rules.c_str());
    std::vector<double> t_load, t_rep, t_dump2;
    long rss_load = 0, rss_rep = 0;
    std::string summary;
    for (int i = 0; i < runs; ++i) {
      const Run l = Time({agent, "replay", empty, "--rules", rules, "--eve", "/dev/null"});
      const Run d = Time({tcpdump, "-r", file, "-w", "/dev/null"});
      const Run a = Time({agent, "replay", file, "--rules", rules, "--eve", "/dev/null"});
      if (l.exit_code != 0 || a.exit_code != 0 || d.exit_code != 0) {
        Die("a run failed (load " + std::to_string(l.exit_code) + ", replay " + std::to_string(a.exit_code) +
            ", tcpdump " + std::to_string(d.exit_code) + "): " + a.err.substr(a.err.size() > 400 ? a.err.size() - 400 : 0));
      }
      summary = RulesLine(a.err);
      t_load.push_back(l.seconds);
      t_rep.push_back(a.seconds);
      t_dump2.push_back(d.seconds);
      rss_load = std::max(rss_load, l.max_rss_kb);
      rss_rep = std::max(rss_rep, a.max_rss_kb);
      std::printf("  run %d: load %.3f s, tcpdump %.3f s, replay %.3f s\n", i + 1, l.seconds, d.seconds, a.seconds);
    }
    const double ml = Median(t_load), mr = Median(t_rep), md2 = Median(t_dump2);
    std::printf("  %s\n", summary.c_str());
    std::printf("  rule load (empty capture)          median %7.3f s  peak RSS %6.1f MB\n", ml,
                static_cast<double>(rss_load) / 1024.0);
    Line("tcpdump -r -w /dev/null", md2, rss_dump, bytes, packets);
    Line(("rampart-agent replay --rules " + set).c_str(), mr, rss_rep, bytes, packets);
    std::printf("  ratio: replay with %s takes %.2fx the tcpdump time (%.2fx without the rule load); %d runs, medians\n",
                set.c_str(), mr / md2, (mr - ml) / md2, runs);
  }
  return 0;
}
