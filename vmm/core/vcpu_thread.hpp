// One thread per vCPU: the KVM_RUN loop and the dispatch of its exits.
#pragma once

#include <pthread.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <string>
#include <thread>

#include "kagami/hypervisor.hpp"

namespace kagami {

class Machine;

class VcpuThread {
 public:
  VcpuThread(Machine& machine, Vcpu& vcpu);
  ~VcpuThread();
  VcpuThread(const VcpuThread&) = delete;
  VcpuThread& operator=(const VcpuThread&) = delete;

  void start();
  void join();
  // Thread-safe: makes KVM_RUN return to the loop soon (immediate_exit + signal),
  // so the thread notices a pause or stop request.
  void kick();
  // Thread-safe: the vCPU leaves KVM_RUN and stays out for ns (auto-converge's throttle).
  void throttle(uint64_t ns);

  // The signal used to kick vCPU threads out of KVM_RUN (as QEMU's SIG_IPI).
  static constexpr int kKickSignal = SIGUSR1;
  // Installs the kick signal's handler; once per process, before any kick.
  static void install_kick_handler();

 private:
  void loop();
  // Each returns false when the vCPU must stop.
  bool handle_exit();
  bool handle_io();
  bool handle_mmio();
  bool handle_hlt();
  void fatal(const std::string& what);
  void log_unassigned(const char* kind, bool write, uint64_t addr, unsigned width);

  Machine& machine_;
  Vcpu& vcpu_;
  kvm_run* run_;
  std::thread thread_;
  std::atomic<pthread_t> handle_{};
  std::atomic<bool> started_{false};
  std::atomic<uint64_t> throttle_ns_{0};  // a sleep asked for and not yet taken
  unsigned unassigned_logged_ = 0;
};

}  // namespace kagami
