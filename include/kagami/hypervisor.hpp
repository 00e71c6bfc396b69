// The hypervisor boundary: the KVM ABI spoken by /dev/kagami and /dev/kvm alike.
//
// vmm/hypervisor/kvm.cpp is the only code in the VMM that issues ioctls. Everything
// above it (the machine, vCPU threads, devices) works with these three classes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
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
  void set_tss_addr(uint64_t gpa);
  int check_extension(long capability) const;
  std::unique_ptr<Vcpu> create_vcpu(unsigned id);

 private:
  friend class Hypervisor;
  Vm(int fd, size_t vcpu_mmap_size);
  int fd_;
  size_t vcpu_mmap_size_;
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

 private:
  friend class Vm;
  Vcpu(int fd, unsigned id, size_t mmap_size);
  int fd_;
  unsigned id_;
  kvm_run* run_;
  size_t mmap_size_;
};

}  // namespace kagami
