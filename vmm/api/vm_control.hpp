// What the control socket asks of a VM: vmm/cli's MachineControl does it, unit tests fake it.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "migration.hpp"

namespace kagami {

// A request the VM refuses (wrong state, bad argument); the message goes back to the client.
class ControlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct VmStatus {
  // "running", "paused", "migrating" (an outgoing migration is under way), "incoming" (waiting
  // for one), "migrated" (the guest runs on the destination; this VMM is about to exit) or
  // "stopped".
  std::string state = "running";
  unsigned vcpus = 0;
  uint64_t memory = 0;  // bytes of guest RAM
  std::string hypervisor;
  MigrationStatus migration;  // the last (or current) migration; state kNone when none
};

// The migrate request, checked for syntax and bounds; `to` is parsed by the VM side.
struct MigrateRequest {
  std::string to;
  uint64_t downtime_ms = 300;
  uint64_t bandwidth_mib = 0;  // MiB/s, 0: unlimited
  uint64_t time_limit_s = 0;   // 0: none
  bool auto_converge = true;
  bool local = false;
  uint64_t settle_passes = 8;  // MigrationOptions::max_settle_passes
};

// Every call comes from the event loop's thread; each throws ControlError (or MigrationError)
// to refuse, changing nothing.
class VmControl {
 public:
  virtual ~VmControl() = default;
  virtual VmStatus status() = 0;
  virtual void pause() = 0;
  virtual void resume() = 0;
  virtual void migrate(const MigrateRequest& request) = 0;  // starts it and returns
  virtual void cancel_migration() = 0;
  // Pauses, writes Machine::save_state() to path, resumes; returns the bytes written.
  virtual uint64_t save_state(const std::string& path) = 0;
  virtual void quit() = 0;  // called after the reply has been sent
};

}  // namespace kagami
