// Runs a Machine on its own thread for a test, and stops it at the end.
#pragma once

#include <thread>

#include "core/machine.hpp"

namespace kagami::test {

class MachineRunner {
 public:
  explicit MachineRunner(Machine& machine)
      : machine_(machine), thread_([this] { exit_ = machine_.run(); }) {}
  ~MachineRunner() { stop(); }
  MachineRunner(const MachineRunner&) = delete;
  MachineRunner& operator=(const MachineRunner&) = delete;

  MachineExit stop() {
    if (thread_.joinable()) {
      machine_.request_stop({MachineExit::Reason::kQuit, kExitOk, "test over"});
      thread_.join();
    }
    return exit_;
  }

 private:
  Machine& machine_;
  MachineExit exit_{MachineExit::Reason::kFatal, kExitInternalError, {}};
  std::thread thread_;
};

}  // namespace kagami::test
