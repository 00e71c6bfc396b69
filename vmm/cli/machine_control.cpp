// The control socket's requests carried out on the Machine (docs/api.md).
#include "cli/machine_control.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/machine.hpp"

namespace kagami {
namespace {

// Writes next to `path` and renames, so a failed write (a full disk) leaves any earlier file
// whole and no partial one behind.
void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::string temporary = path + ".partial";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw ControlError(temporary + ": " + std::strerror(errno));
  size_t done = 0;
  errno = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  int error = done < bytes.size() ? (errno ? errno : EIO) : 0;
  if (!error && ::fsync(fd) != 0) error = errno;
  if (::close(fd) != 0 && !error) error = errno;
  if (!error && ::rename(temporary.c_str(), path.c_str()) != 0) error = errno;
  if (error) {
    ::unlink(temporary.c_str());
    throw ControlError(path + ": " + std::strerror(error));
  }
}

// Resumes on every way out, so a failed save never leaves the guest paused.
class PauseGuard {
 public:
  explicit PauseGuard(Machine& machine) : machine_(machine) { machine_.pause(); }
  ~PauseGuard() { machine_.resume(); }
  PauseGuard(const PauseGuard&) = delete;
  PauseGuard& operator=(const PauseGuard&) = delete;

 private:
  Machine& machine_;
};

}  // namespace

MachineControl::MachineControl(std::string hypervisor, unsigned vcpus, uint64_t memory,
                               std::vector<uint8_t> migration_key)
    : hypervisor_(std::move(hypervisor)),
      vcpus_(vcpus),
      memory_(memory),
      key_(std::move(migration_key)) {}

MachineControl::~MachineControl() = default;

void MachineControl::attach(Machine& machine, IncomingMigration* incoming) {
  machine_ = &machine;
  incoming_ = incoming;
  api_paused_ = false;  // a new machine starts running
}

void MachineControl::incoming_over() {
  if (incoming_) last_migration_ = incoming_->status();
  incoming_ = nullptr;
}

void MachineControl::stopped(bool migrated) {
  incoming_over();
  machine_ = nullptr;
  migrated_ = migrated;
}

void MachineControl::detach() {
  stopped(migrated_);
  if (outgoing_) last_migration_ = outgoing_->status();
  outgoing_.reset();  // cancels one still going (the guest reset meanwhile) and joins it
}

bool MachineControl::migration_under_way() const {
  return outgoing_ && !outgoing_->finished();
}

Machine& MachineControl::running(const char* what) {
  if (incoming_)
    throw ControlError(std::string(what) + ": the VM is waiting for an incoming migration");
  if (!machine_) throw ControlError(std::string(what) + ": the VM has stopped");
  return *machine_;
}

VmStatus MachineControl::status() {
  VmStatus s;
  s.vcpus = vcpus_;
  s.memory = memory_;
  s.hypervisor = hypervisor_;
  s.migration = last_migration_;
  if (outgoing_) s.migration = outgoing_->status();
  if (incoming_) {
    s.state = "incoming";
    s.migration = incoming_->status();
  } else if (!machine_) {
    s.state = migrated_ ? "migrated" : "stopped";
  } else if (migration_under_way()) {
    s.state = "migrating";
  } else {
    s.state = machine_->paused() ? "paused" : "running";
  }
  return s;
}

void MachineControl::pause() {
  Machine& machine = running("pause");
  if (api_paused_) throw ControlError("pause: the VM is already paused");
  machine.pause();
  api_paused_ = true;
}

void MachineControl::resume() {
  Machine& machine = running("resume");
  if (!api_paused_) throw ControlError("resume: the VM was not paused (by pause)");
  machine.resume();
  api_paused_ = false;
}

void MachineControl::migrate(const MigrateRequest& request) {
  Machine& machine = running("migrate");
  if (migration_under_way())
    throw ControlError("migrate: a migration is already under way (migrate-cancel stops it)");
  MigrationOptions options;
  options.to = MigrationEndpoint::parse(request.to);
  options.local = request.local;
  if (options.local && options.to.kind != MigrationEndpoint::Kind::kUnix)
    throw ControlError("migrate: local migration needs a unix:PATH destination");
  bool tls = tls_ && options.to.kind == MigrationEndpoint::Kind::kTcp;
  if (!options.local && key_.empty() && !tls)
    throw ControlError("migrate: migrating to " + request.to +
                       " needs the key or TLS: start kagami run with --migration-key FILE or, " +
                       "for tcp:, --tls-cert/--tls-key/--tls-ca (only --local goes without)");
  options.key = key_;
  if (tls) options.tls = tls_;
  options.downtime_limit_ms = request.downtime_ms;
  options.bandwidth_limit = request.bandwidth_mib << 20;
  options.time_limit_ms = request.time_limit_s * 1000;
  options.auto_converge = request.auto_converge;
  options.max_settle_passes = static_cast<unsigned>(request.settle_passes);
  if (outgoing_) last_migration_ = outgoing_->status();
  outgoing_.reset();
  auto migration = std::make_unique<OutgoingMigration>(machine, std::move(options));
  migration->start();
  outgoing_ = std::move(migration);
}

void MachineControl::cancel_migration() {
  if (!migration_under_way()) throw ControlError("migrate-cancel: no migration is under way");
  outgoing_->cancel();
}

uint64_t MachineControl::save_state(const std::string& path) {
  Machine& machine = running("save-state");
  if (migration_under_way()) throw ControlError("save-state: a migration is under way");
  std::vector<uint8_t> blob;
  {
    PauseGuard paused(machine);
    blob = machine.save_state();
  }
  write_file(path, blob);
  return blob.size();
}

void MachineControl::quit() {
  if (incoming_) {
    incoming_->cancel();
    return;
  }
  if (machine_)
    machine_->request_stop({MachineExit::Reason::kQuit, kExitOk, "quit (control socket)"});
}

}  // namespace kagami
