// The `kagami` launcher: parses the command line and runs a machine until it stops.
#include <sys/sysinfo.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "boot_error.hpp"
#include "cli/options.hpp"
#include "core/console.hpp"
#include "core/event_loop.hpp"
#include "core/machine.hpp"
#include "image_file.hpp"
#include "kagami/hypervisor.hpp"
#include "multiboot.hpp"

namespace kagami {
namespace {

std::string gib(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f GiB", static_cast<double>(bytes) / (1ull << 30));
  return text;
}

// Guest RAM is backed lazily, so refuse up front what the host could never back.
void check_host_can_provide(uint64_t memory) {
  struct sysinfo info {};
  if (sysinfo(&info) != 0) return;
  uint64_t ram = static_cast<uint64_t>(info.totalram) * info.mem_unit;
  uint64_t swap = static_cast<uint64_t>(info.totalswap) * info.mem_unit;
  if (memory > ram + swap)
    throw UsageError("--memory " + gib(memory) + ": the host has only " + gib(ram) +
                     " of RAM and " + gib(swap) + " of swap");
}

MachineConfig machine_config(const RunOptions& run) {
  MachineConfig config;
  config.kernel_path = run.kernel;
  config.kernel = read_image_file(run.kernel, run.memory);
  if (!is_multiboot(config.kernel) && !is_bzimage(config.kernel))
    throw BootError(run.kernel +
                    ": neither a Linux bzImage (no \"HdrS\" setup header) nor a Multiboot v1 "
                    "kernel (no Multiboot header in its first 8 KiB)");
  for (const std::string& path : run.initrds)
    config.modules.push_back({path, read_image_file(path, run.memory)});
  config.cmdline = run.cmdline;
  config.memory = run.memory;
  config.cpus = run.cpus;
  config.testdev = run.testdev;
  config.verbose = run.verbose;
  return config;
}

int run_vm(const RunOptions& run) {
  check_host_can_provide(run.memory);
  MachineConfig config = machine_config(run);
  std::unique_ptr<Hypervisor> hypervisor = Hypervisor::open(run.hypervisor);
  if (run.verbose) std::fprintf(stderr, "kagami: using %s\n", hypervisor->path().c_str());
  EventLoop loop;  // before the console: its stdin reader lives on the loop
  Console console(run.serial);
  for (;;) {
    MachineExit exit;
    {
      Machine machine(config, *hypervisor, loop, console);
      exit = machine.run();
    }
    if (exit.reason == MachineExit::Reason::kReset) {
      if (run.no_reboot) return kExitOk;
      if (run.verbose) std::fprintf(stderr, "kagami: guest reset: rebooting\n");
      loop.rearm();
      continue;
    }
    if (!exit.message.empty()) std::fprintf(stderr, "kagami: %s\n", exit.message.c_str());
    return exit.status;
  }
}

}  // namespace
}  // namespace kagami

int main(int argc, char** argv) {
  using namespace kagami;
  // A console reader that goes away (kagami ... | head) must not kill the VM: writes
  // then fail with EPIPE, which the console ignores.
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    Options options = parse_options(args);
    switch (options.command) {
      case Command::kHelp:
        std::fputs(options.help_topic == "run" ? run_usage_text().c_str() : usage_text().c_str(),
                   stdout);
        return 0;
      case Command::kVersion:
        std::printf("kagami %s (KVM API %d)\n", KAGAMI_VERSION, Hypervisor::kApiVersion);
        return 0;
      case Command::kRun: return run_vm(options.run);
    }
  } catch (const std::exception& e) {
    // Usage, boot-image and hypervisor errors alike: one line, before any vCPU ran.
    std::fprintf(stderr, "kagami: %s\n", e.what());
    return kExitUserError;
  }
  return kExitInternalError;
}
