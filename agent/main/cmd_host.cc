// rampart-agent host --once [--json]: a snapshot of the host sensors for
// troubleshooting (resources, listening sockets, running processes). The
// work lives in agent/host.

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "agent/host/event_writer.h"
#include "agent/host/inventory.h"
#include "agent/host/processes.h"
#include "agent/main/commands.h"
#include "common/eve/sink.h"
#include "common/util/build_info.h"

namespace rampart::agent_cli {
namespace {

struct HostFlags {
  bool once = false;
  bool json = false;
  bool no_processes = false;
  bool no_hashes = false;
};

int RunHost(const HostFlags& f) {
  if (!f.once) {
    std::fprintf(stderr,
                 "rampart-agent host: only --once is supported here; the daemon (rampart-agent run) runs the "
                 "host sensors continuously\n");
    return kExitUsage;
  }
  host::ResourceSampler sampler;
  (void)sampler.Sample();
  std::this_thread::sleep_for(std::chrono::milliseconds(250));  // CPU percent needs two readings.
  const host::ResourceSample resources = sampler.Sample();
  const auto sockets = host::ListListeningSockets();
  host::ExeHashCache hashes;
  std::vector<host::ProcessEvent> processes;
  if (!f.no_processes) processes = host::ListProcesses(f.no_hashes ? nullptr : &hashes);

  if (f.json) {
    auto sink = eve::OpenFileSink("-", eve::OpenMode::kAppend);
    if (!sink) {
      std::fprintf(stderr, "rampart-agent host: %s\n", sink.error().message().c_str());
      return kExitFailure;
    }
    host::EventWriter writer(sink->get(), {});
    Status s = writer.WriteStats(resources);
    for (const auto& sock : sockets) {
      if (s.ok()) s = writer.WriteSocket(sock);
    }
    for (const auto& p : processes) {
      if (s.ok()) s = writer.WriteProcess(p);
    }
    if (s.ok()) s = (*sink)->Flush();
    if (!s.ok()) {
      std::fprintf(stderr, "rampart-agent host: %s\n", s.message().c_str());
      return kExitFailure;
    }
    return kExitOk;
  }
  std::printf("cpu %.1f%% of %u cores, load %.2f %.2f %.2f, memory %llu MiB available of %llu MiB\n",
              resources.cpu_percent, resources.cpu_count, resources.load1, resources.load5, resources.load15,
              static_cast<unsigned long long>(resources.memory_available_bytes >> 20),
              static_cast<unsigned long long>(resources.memory_total_bytes >> 20));
  for (const auto& d : resources.disks) {
    std::printf("disk %s (%s): %llu MiB free of %llu MiB\n", d.mount.c_str(), d.fs_type.c_str(),
                static_cast<unsigned long long>(d.available_bytes >> 20),
                static_cast<unsigned long long>(d.total_bytes >> 20));
  }
  for (const auto& s : sockets) {
    std::printf("listen %s %s:%u pid %d %s\n", s.proto.c_str(), s.local_ip.c_str(), s.local_port, s.pid,
                s.process.c_str());
  }
  std::printf("%zu processes\n", processes.size());
  return kExitOk;
}

}  // namespace

Command AddHostCommand(CLI::App& app) {
  auto f = std::make_shared<HostFlags>();
  CLI::App* cmd = app.add_subcommand(
      "host", "Print a snapshot of the host sensors (resources, listening sockets, processes) for troubleshooting");
  cmd->add_flag("--once", f->once, "Take one snapshot and exit (required)");
  cmd->add_flag("--json", f->json, "EVE JSON records (stats, socket, process) instead of a summary");
  cmd->add_flag("--no-processes", f->no_processes, "Leave out the process list");
  cmd->add_flag("--no-hashes", f->no_hashes, "Do not hash executables");
  return {cmd, [f] { return RunHost(*f); }};
}

}  // namespace rampart::agent_cli
