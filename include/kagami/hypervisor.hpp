// The hypervisor boundary: the KVM ABI spoken by /dev/kagami and /dev/kvm alike.
//
// vmm/hypervisor/ (kvm.cpp, kvm_state.cpp) is the only code in the VMM that issues ioctls.
// Everything above it (the machine, vCPU threads, devices) works with these three classes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "kagami/kvm_abi.h"

namespace kagami {

// An ioctl or open that failed; the message names the operation and errno.
class HypervisorError : public std::runtime_error {
 public:
  HypervisorError(const std::string& what, int err);
  int error() const { return err_; }

 private:
  int err_;
};

class Vcpu;
class Vm;

// The system device (/dev/kagami or /dev/kvm).
class Hypervisor {
 public:
  static constexpr const char* kKagamiPath = "/dev/kagami";
  static constexpr const char* kKvmPath = "/dev/kvm";
  static constexpr int kApiVersion = 12;

  // Opens `path`, or when empty /dev/kagami and else /dev/kvm. Checks the API
  // version and every capability kagami needs; throws HypervisorError naming the
  // paths tried, or the version or capabilities missing.
  static std::unique_ptr<Hypervisor> open(const std::string& path = {});
  ~Hypervisor();
  Hypervisor(const Hypervisor&) = delete;
  Hypervisor& operator=(const Hypervisor&) = delete;

  const std::string& path() const { return path_; }
  int check_extension(long capability) const;  // KVM_CHECK_EXTENSION's answer
  size_t vcpu_mmap_size() const { return vcpu_mmap_size_; }
  const std::vector<kvm_cpuid_entry2>& supported_cpuid() const { return supported_cpuid_; }
  std::unique_ptr<Vm> create_vm();

  // KVM_GET_MSR_INDEX_LIST: the MSRs whose state a vCPU carries, with the TSC and the kvm-clock
  // MSRs added when the list lacks them. Not every one need exist on a given vCPU.
  std::vector<uint32_t> msr_index_list() const;

 private:
  Hypervisor(int fd, std::string path);
  int fd_;
  std::string path_;
  size_t vcpu_mmap_size_ = 0;
  std::vector<kvm_cpuid_entry2> supported_cpuid_;
};

// A VM file descriptor.
class Vm {
 public:
  ~Vm();
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  void set_user_memory_region(uint32_t slot, uint64_t gpa, uint64_t size, void* host,
                              bool read_only = false);
  struct MemoryFlags {
    bool read_only = false;
    bool log_dirty_pages = false;  // KVM_MEM_LOG_DIRTY_PAGES
  };
  void set_user_memory_region(uint32_t slot, uint64_t gpa, uint64_t size, void* host,
                              MemoryFlags flags);
  void delete_user_memory_region(uint32_t slot);

  // KVM_ENABLE_CAP on the VM with one argument.
  void enable_cap(uint32_t capability, uint64_t arg0);

  // KVM_GET_DIRTY_LOG: the slot's dirty bitmap (bit N of word N / 64 = page N of the slot) into
  // `bitmap`, which must hold the slot's pages. Without KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2
  // enabled it also cleans and write-protects them; with it, clear_dirty_log() does.
  void get_dirty_log(uint32_t slot, std::span<uint64_t> bitmap);
  // KVM_CLEAR_DIRTY_LOG: cleans and write-protects the pages whose bits are set in `bitmap`, bit
  // 0 being page `first_page` (a multiple of 64) of the slot; num_pages a multiple of 64 unless
  // it reaches the end of the slot.
  void clear_dirty_log(uint32_t slot, uint64_t first_page, uint32_t num_pages,
                       std::span<const uint64_t> bitmap);

  // KVM_GET_CLOCK / KVM_SET_CLOCK: the kvm-clock's base.
  kvm_clock_data clock() const;
  void set_clock(const kvm_clock_data& clock);
  void set_tss_addr(uint64_t gpa);
  int check_extension(long capability) const;
  std::unique_ptr<Vcpu> create_vcpu(unsigned id);

  // KVM_CAP_SPLIT_IRQCHIP: local APICs in the kernel, the IOAPIC (with ioapic_pins pins, whose
  // GSIs 0..ioapic_pins-1 KVM reserves for its EOI exits) and PIC in the VMM. Before any vCPU.
  void enable_split_irqchip(uint32_t ioapic_pins);

  // One MSI route of the GSI routing table. KVM reads the IOAPIC pins' routes (GSIs below
  // ioapic_pins) to know which vectors are level-triggered and need KVM_EXIT_IOAPIC_EOI.
  struct MsiRoute {
    uint32_t gsi;
    uint64_t address;
    uint32_t data;
  };
  // KVM_SET_GSI_ROUTING: replaces the whole table.
  void set_msi_routes(std::span<const MsiRoute> routes);

  // KVM_SIGNAL_MSI: true when delivered, false when the destination refused it (no APIC matched,
  // or the APIC is disabled).
  bool signal_msi(uint64_t address, uint32_t data);

  // KVM_IRQFD: a write to eventfd raises gsi without a vCPU thread; with a resample eventfd the
  // GSI is level-triggered and resample_fd is signalled on its EOI.
  void add_irqfd(int eventfd, uint32_t gsi, int resample_fd = -1);
  void remove_irqfd(int eventfd, uint32_t gsi);

  // KVM_IOEVENTFD: a guest write of `length` bytes (1, 2, 4 or 8; 0 = any, MMIO only) at
  // `address` in port space (pio) or MMIO signals eventfd in the kernel instead of exiting to
  // the VMM; with datamatch, only writes of that value do.
  struct Ioeventfd {
    int eventfd;
    uint64_t address;
    uint32_t length;
    bool pio;
    std::optional<uint64_t> datamatch;
  };
  void add_ioeventfd(const Ioeventfd& ioeventfd);
  void remove_ioeventfd(const Ioeventfd& ioeventfd);

 private:
  friend class Hypervisor;
  Vm(int fd, size_t vcpu_mmap_size);
  uint64_t slot_pages(uint32_t slot) const;

  int fd_;
  size_t vcpu_mmap_size_;
  std::map<uint32_t, uint64_t> slot_sizes_;  // bytes of each memory slot set
};

// A vCPU file descriptor and its shared kvm_run page.
class Vcpu {
 public:
  ~Vcpu();
  Vcpu(const Vcpu&) = delete;
  Vcpu& operator=(const Vcpu&) = delete;

  unsigned id() const { return id_; }
  kvm_run* run_page() const { return run_; }
  size_t run_page_size() const { return mmap_size_; }

  // KVM_RUN: 0, or the errno it failed with (EINTR when a signal or
  // immediate_exit ended it).
  int run();

  kvm_regs regs() const;
  void set_regs(const kvm_regs& regs);
  kvm_sregs sregs() const;
  void set_sregs(const kvm_sregs& sregs);
  void set_cpuid(const std::vector<kvm_cpuid_entry2>& entries);

  // KVM_INTERRUPT: an external interrupt (the PIC's INTA answer) for a vCPU whose kvm_run said
  // ready_for_interrupt_injection.
  void interrupt(uint8_t vector);
  // The in-kernel local APIC's register page (KVM_GET/SET_LAPIC).
  kvm_lapic_state lapic() const;
  void set_lapic(const kvm_lapic_state& state);
  void set_msr(uint32_t index, uint64_t value);

  // KVM_GET_MSRS / KVM_SET_MSRS: reads (fills in .data) or writes the entries in order and
  // returns how many it did; it stops at the first MSR the vCPU refuses.
  size_t get_msrs(std::span<kvm_msr_entry> entries) const;
  size_t set_msrs(std::span<const kvm_msr_entry> entries);

  // The rest of a vCPU's state, as the KVM ioctls of the same names. xsave needs
  // KVM_CAP_XSAVE (else fpu), xcrs KVM_CAP_XCRS, debugregs KVM_CAP_DEBUGREGS.
  kvm_xsave xsave() const;
  void set_xsave(const kvm_xsave& xsave);
  kvm_fpu fpu() const;
  void set_fpu(const kvm_fpu& fpu);
  kvm_xcrs xcrs() const;
  void set_xcrs(const kvm_xcrs& xcrs);
  kvm_vcpu_events vcpu_events() const;
  void set_vcpu_events(const kvm_vcpu_events& events);
  kvm_mp_state mp_state() const;
  void set_mp_state(const kvm_mp_state& state);
  kvm_debugregs debugregs() const;
  void set_debugregs(const kvm_debugregs& debugregs);

 private:
  friend class Vm;
  Vcpu(int fd, unsigned id, size_t mmap_size);
  int fd_;
  unsigned id_;
  kvm_run* run_;
  size_t mmap_size_;
};

}  // namespace kagami
