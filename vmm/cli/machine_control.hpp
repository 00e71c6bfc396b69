// The control socket's VmControl over the running Machine, its outgoing migration, and on a
// destination the incoming one.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/vm_control.hpp"
#include "migration.hpp"

namespace kagami {

class Machine;

class MachineControl : public VmControl {
 public:
  MachineControl(std::string hypervisor, unsigned vcpus, uint64_t memory,
                 std::vector<uint8_t> migration_key);
  ~MachineControl() override;
  // TLS for outgoing tcp: migrations (null: plaintext, the key alone).
  void set_migration_tls(std::shared_ptr<TlsCredentials> tls) { tls_ = std::move(tls); }

  // The machine requests now go to (each boot builds a new one). While `incoming` is set the
  // machine waits for a migration and takes no request but status and quit.
  void attach(Machine& machine, IncomingMigration* incoming = nullptr);
  void incoming_over();
  // The machine stopped (`migrated`: because its guest moved away); status still answers.
  void stopped(bool migrated);
  // Ends (joins) its migration, keeping the last status to report. Must come before the
  // Machine is destroyed.
  void detach();

  VmStatus status() override;
  void pause() override;
  void resume() override;
  void migrate(const MigrateRequest& request) override;
  void cancel_migration() override;
  uint64_t save_state(const std::string& path) override;
  void quit() override;

 private:
  Machine& running(const char* what);
  bool migration_under_way() const;

  std::string hypervisor_;
  unsigned vcpus_;
  uint64_t memory_;
  std::vector<uint8_t> key_;
  std::shared_ptr<TlsCredentials> tls_;
  Machine* machine_ = nullptr;
  IncomingMigration* incoming_ = nullptr;
  std::unique_ptr<OutgoingMigration> outgoing_;
  MigrationStatus last_migration_;  // of a migration that is over
  bool api_paused_ = false;
  bool migrated_ = false;
};

}  // namespace kagami
