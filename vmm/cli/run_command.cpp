// `kagami run`: builds the machine (or receives it by migration) and runs it until it stops,
// with the control socket served on the event loop throughout.
#include <sys/sysinfo.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>

#include "api/control_server.hpp"
#include "boot_error.hpp"
#include "cli/commands.hpp"
#include "cli/machine_control.hpp"
#include "core/console.hpp"
#include "core/event_loop.hpp"
#include "core/machine.hpp"
#include "image_file.hpp"
#include "kagami/hypervisor.hpp"
#include "migration.hpp"
#include "multiboot.hpp"
#include "tls.hpp"

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
  config.incoming = !run.incoming.empty();
  config.shared_memory = run.shared_memory;
  return config;
}

// Waits for a migration into `machine` while the event loop serves signals and the control
// socket; true once the guest's state is loaded, false when cancelled (a signal or quit).
bool receive_guest(Machine& machine, const MigrationEndpoint& from, const std::vector<uint8_t>& key,
                   const std::shared_ptr<TlsCredentials>& tls, EventLoop& loop,
                   MachineControl& control) {
  IncomingMigration incoming(machine, from, key, tls);
  control.attach(machine, &incoming);
  std::atomic<bool> received{false};
  std::string error;
  std::thread waiter([&] {
    try {
      received = incoming.run();
    } catch (const std::exception& e) {
      error = e.what();
    }
    loop.stop();
  });
  loop.on_termination_signal([&](int) { incoming.cancel(); });
  std::fprintf(stderr, "kagami: waiting for the guest on %s\n", from.to_string().c_str());
  loop.run();  // until the waiter is done
  waiter.join();
  loop.on_termination_signal(nullptr);
  control.incoming_over();
  loop.rearm();
  if (!error.empty()) throw MigrationError(error);
  return received;
}

// After the guest moved away, the `kagami migrate` watching must still see "completed": keep
// answering until every client hung up, for 2 s at most.
void serve_last_words(EventLoop& loop, ControlServer& server) {
  using namespace std::chrono;
  loop.rearm();
  boost::asio::steady_timer timer(loop.context());
  auto deadline = steady_clock::now() + seconds(2);
  std::function<void()> check = [&] {
    if (server.clients() == 0 || steady_clock::now() >= deadline) return loop.stop();
    timer.expires_after(milliseconds(20));
    timer.async_wait([&check](boost::system::error_code ec) {
      if (!ec) check();
    });
  };
  check();
  loop.run();
  timer.cancel();
}

struct Session {
  std::unique_ptr<Hypervisor> hypervisor;
  EventLoop loop;  // before the console and the control socket: they live on the loop
  std::unique_ptr<Console> console;
  std::unique_ptr<MachineControl> control;
  std::unique_ptr<ControlServer> server;
  std::shared_ptr<TlsCredentials> tls;  // for tcp: migrations both ways, or null
};

// One boot: builds the machine, receives its guest when incoming, runs it.
std::optional<MachineExit> boot(Session& s, MachineConfig& config, const RunOptions& run,
                                const std::vector<uint8_t>& key) {
  Machine machine(config, *s.hypervisor, s.loop, *s.console);
  // On every way out, before the machine goes: a migration thread may still use it.
  struct Detach {
    MachineControl& control;
    ~Detach() { control.detach(); }
  } detach{*s.control};
  if (config.incoming) {
    if (!receive_guest(machine, MigrationEndpoint::parse(run.incoming), key, s.tls, s.loop,
                       *s.control))
      return std::nullopt;
    config.incoming = false;  // a reset boots the kernel again
  }
  s.control->attach(machine);
  MachineExit exit = machine.run();
  bool migrated = exit.reason == MachineExit::Reason::kMigrated;
  s.control->stopped(migrated);
  if (migrated && s.server) serve_last_words(s.loop, *s.server);
  return exit;
}

}  // namespace

int run_vm(const RunOptions& run) {
  check_host_can_provide(run.memory);
  MachineConfig config = machine_config(run);
  std::vector<uint8_t> key;
  if (!run.migration_key.empty()) key = read_migration_key(run.migration_key);
  if (!run.incoming.empty()) MigrationEndpoint::parse(run.incoming);  // refused before any work
  Session s;
  if (!run.tls_cert.empty())
    s.tls = TlsCredentials::load(TlsFiles{run.tls_cert, run.tls_key, run.tls_ca});
  s.hypervisor = Hypervisor::open(run.hypervisor);
  if (run.verbose) std::fprintf(stderr, "kagami: using %s\n", s.hypervisor->path().c_str());
  s.console = std::make_unique<Console>(run.serial);
  s.control = std::make_unique<MachineControl>(s.hypervisor->path(), run.cpus, run.memory, key);
  s.control->set_migration_tls(s.tls);
  if (!run.api_socket.empty())
    s.server = std::make_unique<ControlServer>(s.loop.context(), run.api_socket, *s.control);
  for (;;) {
    std::optional<MachineExit> exit = boot(s, config, run, key);
    if (!exit) {
      std::fprintf(stderr, "kagami: stopped waiting for an incoming migration\n");
      return kExitOk;
    }
    if (exit->reason == MachineExit::Reason::kReset) {
      if (run.no_reboot) return kExitOk;
      if (run.verbose) std::fprintf(stderr, "kagami: guest reset: rebooting\n");
      s.loop.rearm();
      continue;
    }
    if (!exit->message.empty()) std::fprintf(stderr, "kagami: %s\n", exit->message.c_str());
    return exit->status;
  }
}

}  // namespace kagami
