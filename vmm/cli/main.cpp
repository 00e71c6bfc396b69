// The `kagami` launcher: parses the command line and runs the command it names.
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/machine.hpp"
#include "kagami/hypervisor.hpp"

int main(int argc, char** argv) {
  using namespace kagami;
  // A console reader that goes away (kagami ... | head) must not kill the VM: writes
  // then fail with EPIPE, which the console ignores.
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    Options options = parse_options(args);
    switch (options.command) {
      case Command::kHelp: std::fputs(help_text(options.help_topic).c_str(), stdout); return 0;
      case Command::kVersion:
        std::printf("kagami %s (KVM API %d)\n", KAGAMI_VERSION, Hypervisor::kApiVersion);
        return 0;
      case Command::kRun: return run_vm(options.run);
      case Command::kMigrate: return migrate_command(options.migrate);
      case Command::kApi: return api_command(options.api);
      case Command::kStateDump: return state_dump_command(options.state_file);
    }
  } catch (const std::exception& e) {
    // Usage, boot-image, hypervisor, control-socket and migration-setup errors alike: one
    // line, before any vCPU ran.
    std::fprintf(stderr, "kagami: %s\n", e.what());
    return kExitUserError;
  }
  return kExitInternalError;
}
