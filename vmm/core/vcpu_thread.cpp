// One thread per vCPU: the KVM_RUN loop and the dispatch of its exits to the buses.
#include "core/vcpu_thread.hpp"

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "core/machine.hpp"
#include "core/pc_interrupts.hpp"
#include "core/register_dump.hpp"

namespace kagami {
namespace {

constexpr unsigned kMaxUnassignedLogLines = 32;

// The kick only has to interrupt KVM_RUN; immediate_exit carries the meaning.
void kick_handler(int) {}

const char* exit_reason_name(uint32_t reason) {
  switch (reason) {
    case KVM_EXIT_SHUTDOWN: return "KVM_EXIT_SHUTDOWN (triple fault)";
    case KVM_EXIT_FAIL_ENTRY: return "KVM_EXIT_FAIL_ENTRY";
    case KVM_EXIT_INTERNAL_ERROR: return "KVM_EXIT_INTERNAL_ERROR";
    default: return "unexpected exit";
  }
}

}  // namespace

VcpuThread::VcpuThread(Machine& machine, Vcpu& vcpu)
    : machine_(machine), vcpu_(vcpu), run_(vcpu.run_page()) {}

VcpuThread::~VcpuThread() {
  join();
}

void VcpuThread::install_kick_handler() {
  struct sigaction sa {};
  sa.sa_handler = kick_handler;  // no SA_RESTART: KVM_RUN must return EINTR
  sigemptyset(&sa.sa_mask);
  sigaction(kKickSignal, &sa, nullptr);
}

void VcpuThread::start() {
  thread_ = std::thread([this] {
    handle_.store(pthread_self());
    started_.store(true);
    loop();
  });
}

void VcpuThread::join() {
  if (thread_.joinable()) thread_.join();
}

void VcpuThread::kick() {
  __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
  if (started_.load() && thread_.joinable()) pthread_kill(handle_.load(), kKickSignal);
}

void VcpuThread::throttle(uint64_t ns) {
  throttle_ns_.store(ns, std::memory_order_release);
  kick();
}

void VcpuThread::loop() {
  // Termination signals belong to the event loop's thread; the kick must get through.
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGINT);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
  sigset_t kick;
  sigemptyset(&kick);
  sigaddset(&kick, kKickSignal);
  pthread_sigmask(SIG_UNBLOCK, &kick, nullptr);

  while (!machine_.stop_requested()) {
    if (machine_.pause_requested()) {
      machine_.park_vcpu();
      continue;
    }
    PcInterrupts* interrupts = machine_.interrupts();
    if (interrupts && vcpu_.id() == 0) interrupts->before_run(vcpu_);
    int err = vcpu_.run();
    if (err == EINTR || err == EAGAIN) {
      __atomic_store_n(&run_->immediate_exit, 0, __ATOMIC_SEQ_CST);
      if (uint64_t ns = throttle_ns_.exchange(0, std::memory_order_acq_rel))
        machine_.throttle_sleep(ns);
      continue;
    }
    if (err) {
      fatal(std::string("KVM_RUN failed: ") + strerror(err));
      return;
    }
    try {
      if (!handle_exit()) return;
    } catch (const std::exception& e) {
      fatal(std::string("exit handling failed: ") + e.what());
      return;
    }
  }
}

bool VcpuThread::handle_exit() {
  switch (run_->exit_reason) {
    case KVM_EXIT_IO: return handle_io();
    case KVM_EXIT_MMIO: return handle_mmio();
    case KVM_EXIT_HLT: return handle_hlt();
    case KVM_EXIT_INTR: return true;
    case KVM_EXIT_IRQ_WINDOW_OPEN: return true;  // before_run() injects on the next round
    case KVM_EXIT_IOAPIC_EOI:
      if (machine_.interrupts()) machine_.interrupts()->ioapic_eoi(run_->eoi.vector);
      return true;
    case KVM_EXIT_SYSTEM_EVENT:
      switch (run_->system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN:
          machine_.request_stop({MachineExit::Reason::kGuestExit, kExitOk, {}});
          return false;
        case KVM_SYSTEM_EVENT_RESET:
          machine_.request_stop({MachineExit::Reason::kReset, kExitOk, {}});
          return false;
        default: fatal("system event " + std::to_string(run_->system_event.type)); return false;
      }
    case KVM_EXIT_FAIL_ENTRY: {
      char detail[96];
      std::snprintf(detail, sizeof(detail), ": hardware entry failure reason 0x%" PRIx64,
                    static_cast<uint64_t>(run_->fail_entry.hardware_entry_failure_reason));
      fatal(std::string(exit_reason_name(run_->exit_reason)) + detail);
      return false;
    }
    case KVM_EXIT_INTERNAL_ERROR: {
      std::string detail = ": suberror " + std::to_string(run_->internal.suberror);
      uint32_t n = run_->internal.ndata;
      if (n > sizeof(run_->internal.data) / sizeof(run_->internal.data[0])) n = 0;
      for (uint32_t i = 0; i < n; i++) {
        char word[24];
        std::snprintf(word, sizeof(word), " %#" PRIx64,
                      static_cast<uint64_t>(run_->internal.data[i]));
        detail += word;
      }
      fatal(exit_reason_name(run_->exit_reason) + detail);
      return false;
    }
    default:
      fatal(std::string(exit_reason_name(run_->exit_reason)) + " " +
            std::to_string(run_->exit_reason));
      return false;
  }
}

bool VcpuThread::handle_io() {
  const auto& io = run_->io;
  const uint64_t span_bytes = static_cast<uint64_t>(io.count) * io.size;
  if ((io.size != 1 && io.size != 2 && io.size != 4) || io.data_offset > vcpu_.run_page_size() ||
      span_bytes > vcpu_.run_page_size() - io.data_offset) {
    fatal("malformed KVM_EXIT_IO from the hypervisor (size " + std::to_string(io.size) +
          ", count " + std::to_string(io.count) + ")");
    return false;
  }
  uint8_t* data = reinterpret_cast<uint8_t*>(run_) + io.data_offset;
  const bool write = io.direction == KVM_EXIT_IO_OUT;
  for (uint32_t i = 0; i < io.count; i++, data += io.size) {
    bool hit = write ? machine_.io_bus().write(io.port, {data, io.size})
                     : machine_.io_bus().read(io.port, {data, io.size});
    if (!hit) log_unassigned("port", write, io.port, io.size);
  }
  return !machine_.stop_requested();
}

bool VcpuThread::handle_mmio() {
  auto& mmio = run_->mmio;
  if (mmio.len == 0 || mmio.len > sizeof(mmio.data)) {
    fatal("malformed KVM_EXIT_MMIO from the hypervisor (len " + std::to_string(mmio.len) + ")");
    return false;
  }
  bool hit = mmio.is_write ? machine_.mmio_bus().write(mmio.phys_addr, {mmio.data, mmio.len})
                           : machine_.mmio_bus().read(mmio.phys_addr, {mmio.data, mmio.len});
  if (!hit) log_unassigned("MMIO", mmio.is_write, mmio.phys_addr, mmio.len);
  return !machine_.stop_requested();
}

// This machine has no interrupt sources yet, so a halted vCPU can never be woken:
// it parks until the machine stops (or pauses), and once every vCPU has halted the
// machine stops.
bool VcpuThread::handle_hlt() {
  machine_.vcpu_halted_for_good(vcpu_.id());
  machine_.wait_until_stopped();
  return false;
}

void VcpuThread::fatal(const std::string& what) {
  std::string report =
      "kagami: vCPU " + std::to_string(vcpu_.id()) + ": " + what + "\n" + format_registers(vcpu_);
  std::fputs(report.c_str(), stderr);
  machine_.request_stop({MachineExit::Reason::kFatal, kExitGuestCrashed, {}});
}

void VcpuThread::log_unassigned(const char* kind, bool write, uint64_t addr, unsigned width) {
  if (!machine_.verbose() || unassigned_logged_ >= kMaxUnassignedLogLines) return;
  unassigned_logged_++;
  std::fprintf(stderr, "kagami: vCPU %u: unassigned %s %s at %#" PRIx64 " (%u bytes)%s\n",
               vcpu_.id(), kind, write ? "write" : "read", addr, width,
               unassigned_logged_ == kMaxUnassignedLogLines ? "; not logging more" : "");
}

}  // namespace kagami
