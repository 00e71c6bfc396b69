// A virtual machine: guest memory, devices on the port and MMIO buses, vCPU threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/console.hpp"
#include "core/device_state.hpp"
#include "core/event_loop.hpp"
#include "core/vcpu_state.hpp"
#include "kagami/bus.hpp"
#include "kagami/guest_memory.hpp"
#include "kagami/hypervisor.hpp"
#include "linux_boot.hpp"
#include "migratable_vm.hpp"
#include "multiboot.hpp"

namespace kagami {

class VcpuThread;
class Serial16550a;
class DebugExit;
class FwCfg;
class CmosRtc;
class I8042;
class PcTestdev;
class TestIrqDevice;
class PcInterrupts;
class PcChipset;
class DeadlineTimer;
class VcpuThrottle;

// Where the interrupt controllers live. kAuto: the split model (local APICs in the kernel, the
// rest in the VMM) when the hypervisor offers KVM_CAP_SPLIT_IRQCHIP, else none. Without them a
// guest gets no interrupts, has one vCPU, and a HLT stops it for good.
enum class IrqchipMode { kAuto, kSplit, kNone };

struct MachineConfig {
  std::string kernel_path;
  std::vector<uint8_t> kernel;  // the image, read once (a reset reloads it from here)
  std::vector<BootModule> modules;
  std::string cmdline;
  uint64_t memory = 512ull << 20;
  unsigned cpus = 1;
  IrqchipMode irqchip = IrqchipMode::kAuto;
  bool testdev = false;
  bool verbose = false;
  // The guest arrives by migration: no kernel is loaded and no boot state set (the image stays
  // in `kernel` for a later reset); the machine waits for load_state() before run().
  bool incoming = false;
  // Guest RAM in a memfd (GuestMemory::Backing::kMemfd), which a --local migration hands over.
  bool shared_memory = false;
};

// Why a machine stopped, and the status the kagami process should exit with.
// Odd statuses come from the guest's debug-exit port ((value << 1) | 1); kagami's
// own are even.
struct MachineExit {
  enum class Reason { kGuestExit, kReset, kHalted, kSignal, kQuit, kFatal, kMigrated };
  Reason reason;
  int status;
  std::string message;  // for the user, empty when there is nothing to say
};

constexpr int kExitOk = 0;
constexpr int kExitUserError = 2;
constexpr int kExitGuestCrashed = 4;
constexpr int kExitInternalError = 6;

class Machine : public MigratableVm, public IncomingVm {
 public:
  // Builds the VM and loads the kernel (unless incoming); throws (before any vCPU runs) with a
  // message naming what is wrong.
  Machine(const MachineConfig& config, Hypervisor& hypervisor, EventLoop& loop, Console& console);
  ~Machine() override;
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  // Runs the vCPUs and the event loop until the machine stops.
  MachineExit run();

  // Thread-safe. The first request wins; later ones are ignored.
  void request_stop(MachineExit exit);

  // Thread-safe, from any thread but a vCPU's: returns once every vCPU is out of
  // KVM_RUN and parked; resume() lets them go on. Pauses nest (the control socket's and a
  // migration's): the vCPUs run again after as many resumes as pauses; an extra resume is
  // ignored.
  void pause() override;
  void resume() override;
  bool paused() const;

  // DescribedVm, MigratableVm and IncomingVm (machine_state.cpp, machine_migration.cpp).
  std::vector<uint8_t> describe() const override;
  GuestMemory& memory() override { return memory_; }
  void start_dirty_log() override;
  void collect_dirty(std::vector<uint64_t>& bitmap) override;
  void stop_dirty_log() override;
  void set_throttle(unsigned percent) override;
  std::vector<uint8_t> save_state() override;
  void migrated_away(const std::string& destination) override;
  void adopt_memory(int memfd) override;
  void load_state(std::span<const uint8_t> blob) override;
  void discard() override;

  // Used by vCPU threads.
  Bus& io_bus() { return io_bus_; }
  Bus& mmio_bus() { return mmio_bus_; }
  bool verbose() const { return config_.verbose; }
  // The interrupt controllers in the VMM, or nullptr without them.
  PcInterrupts* interrupts() const { return interrupts_.get(); }
  bool stop_requested() const { return stop_requested_.load(std::memory_order_acquire); }
  bool pause_requested() const { return pause_requested_.load(std::memory_order_acquire); }
  // Parks the calling vCPU thread while a pause is requested.
  void park_vcpu();
  // A vCPU halted with nothing that could wake it: counts it (as parked, too),
  // stops the machine once every vCPU is halted that way.
  void vcpu_halted_for_good(unsigned index);
  // Blocks the calling vCPU thread until the machine stops.
  void wait_until_stopped();
  // Keeps the calling vCPU thread out of the guest for `ns` (auto-converge), or less when a
  // pause or stop comes.
  void throttle_sleep(uint64_t ns);

 private:
  void build_devices();
  void load_kernel();
  void build_interrupts();
  void create_vcpus();
  void attach_test_interrupts();
  void set_boot_state(Vcpu& vcpu);
  std::vector<kvm_cpuid_entry2> guest_cpuid(unsigned vcpu_id) const;
  void report_unassigned() const;
  void add_memory_slots(bool log_dirty);
  void stop_throttle();
  std::vector<NamedDevice> devices() const;
  bool quiescent() const;
  std::vector<uint8_t> save_state_now() const;
  void apply_state(std::span<const uint8_t> blob);

  MachineConfig config_;
  Hypervisor& hypervisor_;
  EventLoop& loop_;
  Console& console_;
  GuestMemory memory_;
  std::unique_ptr<Vm> vm_;
  Bus io_bus_{"port I/O"};
  Bus mmio_bus_{"MMIO"};
  bool linux_ = false;  // a bzImage, entered as the Linux boot protocol says
  MultibootEntry entry_{};
  LinuxEntry linux_entry_{};
  std::unique_ptr<PcInterrupts> interrupts_;
  std::unique_ptr<PcChipset> chipset_;  // with the interrupt controllers only

  std::unique_ptr<Serial16550a> serial_;
  std::unique_ptr<DebugExit> debug_exit_;
  std::unique_ptr<FwCfg> fw_cfg_;
  std::unique_ptr<CmosRtc> rtc_;
  std::unique_ptr<DeadlineTimer> rtc_timer_;  // after rtc_: it goes first
  std::unique_ptr<I8042> i8042_;
  std::unique_ptr<PcTestdev> testdev_;
  std::unique_ptr<TestIrqDevice> test_irq_;  // --testdev with interrupt controllers only

  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  std::vector<std::unique_ptr<VcpuThread>> threads_;
  VcpuStateLayout vcpu_layout_;
  std::vector<std::vector<kvm_cpuid_entry2>> cpuid_;  // as set on each vCPU
  std::vector<uint8_t> initial_state_;                // incoming: the state discard() goes back to

  std::mutex throttle_lock_;  // guards throttle_, throttle_allowed_
  std::unique_ptr<VcpuThrottle> throttle_;
  bool throttle_allowed_ = false;  // the vCPU threads run

  std::mutex dirty_lock_;  // guards the dirty log's state below
  bool dirty_logging_ = false;
  bool manual_dirty_protect_ = false;  // KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 enabled

  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> pause_requested_{false};
  // Guards exit_, parked_, halted_, pause_count_, throttling_.
  mutable std::mutex state_lock_;
  std::condition_variable state_changed_;
  unsigned pause_count_ = 0;
  bool throttling_ = false;  // set_throttle() above 0
  MachineExit exit_{MachineExit::Reason::kFatal, kExitInternalError, {}};
  unsigned parked_ = 0;
  unsigned halted_ = 0;
  unsigned running_threads_ = 0;
};

}  // namespace kagami
