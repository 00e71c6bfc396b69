// A virtual machine: builds memory, devices and vCPUs, runs them, stops them in order.
#include "core/machine.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>

#include "cmos_rtc.hpp"
#include "core/deadline_timer.hpp"
#include "core/pc_chipset.hpp"
#include "core/pc_interrupts.hpp"
#include "core/register_dump.hpp"
#include "core/vcpu_thread.hpp"
#include "core/vcpu_throttle.hpp"
#include "debug_exit.hpp"
#include "e820.hpp"
#include "fw_cfg.hpp"
#include "i8042.hpp"
#include "linux_boot_cpu_state.hpp"
#include "pc_testdev.hpp"
#include "serial_16550a.hpp"
#include "test_irq_device.hpp"

namespace kagami {
namespace {

// Where KVM on Intel keeps the real-mode TSS (three pages), as QEMU places it:
// just below the BIOS area at the top of the 32-bit space, inside the PCI hole.
constexpr uint64_t kTssAddress = 0xfffb'd000;

constexpr uint32_t kMultibootBootloaderMagic = 0x2BADB002;
constexpr uint32_t kMsrTsc = 0x10;

kvm_segment flat_segment(uint16_t selector, uint8_t type) {
  kvm_segment s{};
  s.base = 0;
  s.limit = 0xffffffff;
  s.selector = selector;
  s.type = type;
  s.present = 1;
  s.dpl = 0;
  s.db = 1;
  s.s = 1;
  s.l = 0;
  s.g = 1;
  return s;
}

}  // namespace

Machine::Machine(const MachineConfig& config, Hypervisor& hypervisor, EventLoop& loop,
                 Console& console)
    : config_(config),
      hypervisor_(hypervisor),
      loop_(loop),
      console_(console),
      memory_(config.memory,
              config.shared_memory ? GuestMemory::Backing::kMemfd : GuestMemory::Backing::kAuto) {
  if (config_.incoming)
    linux_ = is_bzimage(config_.kernel) && !is_multiboot(config_.kernel);
  else
    load_kernel();
  vm_ = hypervisor_.create_vm();
  vm_->set_tss_addr(kTssAddress);
  add_memory_slots(false);
  build_interrupts();
  build_devices();
  create_vcpus();
  // What discard() returns to after a failed incoming migration.
  if (config_.incoming) initial_state_ = save_state_now();
}

Machine::~Machine() {
  stop_throttle();
  if (!threads_.empty()) {
    request_stop({MachineExit::Reason::kFatal, kExitInternalError, "machine destroyed"});
    for (auto& t : threads_) t->join();
  }
  console_.stop_input();
}

void Machine::load_kernel() {
  linux_ = is_bzimage(config_.kernel) && !is_multiboot(config_.kernel);
  if (!linux_) {
    entry_ = load_multiboot(memory_, config_.kernel_path, config_.kernel, config_.cmdline,
                            config_.modules);
    return;
  }
  if (config_.modules.size() > 1)
    throw BootError(config_.kernel_path + ": a Linux kernel takes one --initrd, not " +
                    std::to_string(config_.modules.size()));
  std::span<const uint8_t> initrd;
  std::string initrd_name = "the initrd";
  if (!config_.modules.empty()) {
    initrd = config_.modules[0].data;
    initrd_name = config_.modules[0].cmdline;
  }
  linux_entry_ = load_linux(memory_, config_.kernel_path, config_.kernel, initrd, config_.cmdline,
                            pc_memory_map(memory_), PcChipset::kRsdpAddress, initrd_name);
}

void Machine::build_interrupts() {
  bool split = config_.irqchip == IrqchipMode::kSplit ||
               (config_.irqchip == IrqchipMode::kAuto &&
                hypervisor_.check_extension(KVM_CAP_SPLIT_IRQCHIP) > 0);
  const char* need = config_.cpus > 1 ? "more than one vCPU" : linux_ ? "a Linux kernel" : nullptr;
  if (!split && need)
    throw std::runtime_error(std::string(need) +
                             " needs interrupt controllers: the in-kernel local APIC "
                             "(KVM_CAP_SPLIT_IRQCHIP), which " +
                             hypervisor_.path() + " does not offer");
  if (!split) return;
  interrupts_ = std::make_unique<PcInterrupts>(*vm_, loop_);
  interrupts_->attach(io_bus_, mmio_bus_);
  interrupts_->set_extint_kick([this] {
    if (!threads_.empty()) threads_.front()->kick();
  });
  chipset_ = std::make_unique<PcChipset>(
      memory_, io_bus_, mmio_bus_, *interrupts_, config_.cpus,
      [this] {
        request_stop({MachineExit::Reason::kGuestExit, kExitOk, {}});
      },
      [this] {
        request_stop({MachineExit::Reason::kReset, kExitOk, {}});
      });
}

void Machine::build_devices() {
  serial_ = std::make_unique<Serial16550a>(
      [this](std::span<const uint8_t> bytes) { console_.write(bytes); });
  serial_->set_rx_space_callback([this] { console_.input_space_available(); });
  if (interrupts_) {
    IrqLine& com1 = interrupts_->isa_irq(4);
    serial_->set_irq_callback([&com1](bool level) { com1.set_level(level); });
  }
  serial_->attach(io_bus_);

  debug_exit_ = std::make_unique<DebugExit>([this](int status) {
    request_stop({MachineExit::Reason::kGuestExit, status, {}});
  });
  debug_exit_->attach(io_bus_);

  fw_cfg_ = std::make_unique<FwCfg>(memory_.size(), static_cast<uint16_t>(config_.cpus));
  fw_cfg_->add_file("etc/e820", e820_fw_cfg_bytes(pc_memory_map(memory_)));
  fw_cfg_->attach(io_bus_);

  if (interrupts_) {
    rtc_timer_ = std::make_unique<DeadlineTimer>(loop_, [this] { rtc_->timer_expired(); });
    rtc_ = std::make_unique<CmosRtc>(
        interrupts_->isa_irq(8),
        [this](std::optional<uint64_t> deadline) { rtc_timer_->arm(deadline); });
  } else {
    rtc_ = std::make_unique<CmosRtc>();
  }
  rtc_->attach(io_bus_);

  i8042_ = std::make_unique<I8042>([this] {
    request_stop({MachineExit::Reason::kReset, kExitOk, {}});
  });
  i8042_->attach(io_bus_);

  if (config_.testdev) {
    testdev_ = std::make_unique<PcTestdev>();
    testdev_->attach(io_bus_, mmio_bus_);
    if (interrupts_) attach_test_interrupts();
  }
  if (chipset_) chipset_->assign_pci_resources();
}

// The guest suite's interrupt sources: pc-testdev's IRQ lines (ISA IRQs 0-15, then IOAPIC pins
// 16-23), and the test-irq device's irqfd (an MSI route on the first GSI after the IOAPIC's)
// and ioeventfds, when the hypervisor has them.
void Machine::attach_test_interrupts() {
  for (unsigned n = 0; n < PcTestdev::kIrqLines; n++)
    testdev_->connect_irq_line(
        n, n < IsaIrqRouter::kIrqs ? interrupts_->isa_irq(n) : interrupts_->ioapic_pin(n));
  if (vm_->check_extension(KVM_CAP_IRQFD) <= 0 || vm_->check_extension(KVM_CAP_IOEVENTFD) <= 0)
    return;
  constexpr uint32_t kGsi = Ioapic::kPins;
  test_irq_ = std::make_unique<TestIrqDevice>(
      [this](uint64_t address, uint32_t data) { interrupts_->set_msi_route(kGsi, address, data); });
  test_irq_->attach(io_bus_, mmio_bus_);
  vm_->add_irqfd(test_irq_->irq_eventfd(), kGsi);
  constexpr uint64_t kBase = TestIrqDevice::kDefaultBase;
  vm_->add_ioeventfd(
      {test_irq_->doorbell_eventfd(), kBase + TestIrqDevice::kDoorbell, 4, true, {}});
  vm_->add_ioeventfd({test_irq_->matched_doorbell_eventfd(),
                      kBase + TestIrqDevice::kMatchedDoorbell, 4, true,
                      TestIrqDevice::kMatchValue});
  vm_->add_ioeventfd(
      {test_irq_->mmio_doorbell_eventfd(), TestIrqDevice::kDefaultMmioBase, 4, false, {}});
}

// Slot n is RAM region n; dirty logging on or off.
void Machine::add_memory_slots(bool log_dirty) {
  uint32_t slot = 0;
  for (const RamRegion& r : memory_.regions())
    vm_->set_user_memory_region(slot++, r.gpa, r.size, memory_.host_base() + r.offset,
                                Vm::MemoryFlags{.log_dirty_pages = log_dirty});
}

void Machine::create_vcpus() {
  for (unsigned id = 0; id < config_.cpus; id++) {
    std::unique_ptr<Vcpu> vcpu = vm_->create_vcpu(id);
    // Before anything else: without CPUID, KVM refuses EFER.LME and long mode.
    cpuid_.push_back(guest_cpuid(id));
    vcpu->set_cpuid(cpuid_.back());
    // Which MSRs migrate: probed on the first vCPU before it has any state worth keeping.
    if (id == 0)
      vcpu_layout_ = VcpuStateLayout::probe(hypervisor_, *vm_, *vcpu, interrupts_ != nullptr);
    // TSC 0 on every vCPU: KVM takes a host-initiated write of 0 as "keep the vCPUs' TSCs in
    // step" (as QEMU does at reset). Otherwise vCPUs created more than a second apart (a slow
    // host) get unrelated TSCs and Linux marks the TSC unstable.
    vcpu->set_msr(kMsrTsc, 0);
    // With the local APICs in the kernel the other vCPUs wait for INIT and SIPI, as on a PC.
    // An incoming guest's state comes with it (load_state).
    if (!config_.incoming && (id == 0 || !interrupts_)) set_boot_state(*vcpu);
    vcpus_.push_back(std::move(vcpu));
  }
}

void Machine::set_boot_state(Vcpu& vcpu) {
  if (interrupts_) {
    // As a PC's firmware leaves it: LINT0 takes the PIC's ExtINT, LINT1 is NMI.
    kvm_lapic_state lapic = vcpu.lapic();
    auto set_reg = [&lapic](unsigned offset, uint32_t value) {
      std::memcpy(lapic.regs + offset, &value, sizeof(value));
    };
    set_reg(0x350, 0x700);
    set_reg(0x360, 0x400);
    vcpu.set_lapic(lapic);
  }
  if (linux_) {
    kvm_sregs sregs = vcpu.sregs();
    set_linux_entry_sregs(linux_entry_, sregs);
    vcpu.set_sregs(sregs);
    vcpu.set_regs(linux_entry_regs(linux_entry_));
    return;
  }
  {
    // The Multiboot machine state: 32-bit protected mode, flat segments, paging off.
    kvm_sregs sregs = vcpu.sregs();
    sregs.cs = flat_segment(0x10, 0xb);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = flat_segment(0x18, 0x3);
    sregs.cr0 = 0x11;  // PE | ET
    sregs.cr4 = 0;
    sregs.efer = 0;
    vcpu.set_sregs(sregs);

    kvm_regs regs{};
    regs.rflags = 0x2;
    regs.rip = entry_.entry;
    regs.rax = kMultibootBootloaderMagic;
    regs.rbx = entry_.info_addr;
    vcpu.set_regs(regs);
  }
}

MachineExit Machine::run() {
  console_.start_input(
      loop_, [this](std::span<const uint8_t> bytes) { return serial_->receive(bytes); },
      [this] {
        request_stop({MachineExit::Reason::kQuit, kExitOk, "quit from the console"});
      });
  loop_.on_termination_signal([this](int signo) {
    request_stop({MachineExit::Reason::kSignal, kExitOk,
                  std::string("terminating on signal ") + std::to_string(signo)});
  });

  VcpuThread::install_kick_handler();
  {
    std::lock_guard guard(state_lock_);
    running_threads_ = static_cast<unsigned>(vcpus_.size());
  }
  for (auto& vcpu : vcpus_) threads_.push_back(std::make_unique<VcpuThread>(*this, *vcpu));
  for (auto& t : threads_) t->start();
  {
    std::lock_guard guard(throttle_lock_);
    throttle_allowed_ = true;
  }

  loop_.run();  // until request_stop

  stop_throttle();
  for (auto& t : threads_) t->join();
  threads_.clear();
  console_.stop_input();
  loop_.on_termination_signal(nullptr);
  if (config_.verbose) report_unassigned();
  MachineExit exit;
  {
    std::lock_guard guard(state_lock_);
    exit = exit_;
  }
  // Stopped from outside (a signal, the console): where was the guest? Shows where a hung guest
  // spins or waits. The vCPU threads are joined, so their registers can be read.
  if (config_.verbose &&
      (exit.reason == MachineExit::Reason::kSignal || exit.reason == MachineExit::Reason::kQuit))
    for (const auto& vcpu : vcpus_) std::fputs(format_registers(*vcpu).c_str(), stderr);
  return exit;
}

// Before the vCPU threads go: the throttle's thread kicks them.
void Machine::stop_throttle() {
  std::lock_guard guard(throttle_lock_);
  throttle_allowed_ = false;
  throttle_.reset();
}

void Machine::request_stop(MachineExit exit) {
  {
    std::lock_guard guard(state_lock_);
    if (stop_requested_.load()) return;
    exit_ = std::move(exit);
    stop_requested_.store(true, std::memory_order_release);
  }
  state_changed_.notify_all();
  for (auto& t : threads_) t->kick();
  loop_.stop();
}

void Machine::pause() {
  std::unique_lock guard(state_lock_);
  pause_count_++;
  pause_requested_.store(true, std::memory_order_release);
  state_changed_.notify_all();  // a throttled vCPU sleeping in throttle_sleep() parks at once
  for (auto& t : threads_) t->kick();
  state_changed_.wait(guard, [this] { return parked_ >= running_threads_ || stop_requested(); });
}

void Machine::resume() {
  {
    std::lock_guard guard(state_lock_);
    if (pause_count_ == 0) return;
    if (--pause_count_ > 0) return;
    pause_requested_.store(false, std::memory_order_release);
  }
  state_changed_.notify_all();
}

bool Machine::paused() const {
  std::lock_guard guard(state_lock_);
  return pause_count_ > 0;
}

void Machine::throttle_sleep(uint64_t ns) {
  std::unique_lock guard(state_lock_);
  state_changed_.wait_for(guard, std::chrono::nanoseconds(ns),
                          [this] { return pause_requested() || stop_requested() || !throttling_; });
}

void Machine::park_vcpu() {
  std::unique_lock guard(state_lock_);
  parked_++;
  state_changed_.notify_all();
  state_changed_.wait(guard, [this] { return !pause_requested() || stop_requested(); });
  parked_--;
}

void Machine::vcpu_halted_for_good(unsigned index) {
  bool all_halted;
  {
    std::lock_guard guard(state_lock_);
    halted_++;
    parked_++;
    all_halted = halted_ == running_threads_;
  }
  state_changed_.notify_all();
  if (all_halted)
    request_stop({MachineExit::Reason::kHalted, kExitOk,
                  "every vCPU has halted and nothing can wake it (last: vCPU " +
                      std::to_string(index) + "); stopping"});
}

void Machine::wait_until_stopped() {
  std::unique_lock guard(state_lock_);
  state_changed_.wait(guard, [this] { return stop_requested(); });
}

void Machine::report_unassigned() const {
  for (const Bus* bus : {&io_bus_, &mmio_bus_}) {
    UnassignedStats s = bus->unassigned();
    std::fprintf(stderr, "kagami: unassigned %s accesses: %llu reads, %llu writes\n",
                 bus->name().c_str(), static_cast<unsigned long long>(s.reads),
                 static_cast<unsigned long long>(s.writes));
  }
}

}  // namespace kagami
