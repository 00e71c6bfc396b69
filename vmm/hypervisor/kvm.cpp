// The KVM-ABI backend: the one place in the VMM that issues ioctls.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hypervisor/kvm_ioctl.hpp"
#include "kagami/hypervisor.hpp"

namespace kagami {
namespace {

// Capabilities the VMM relies on, with the reason it needs each (shown when missing).
struct RequiredCapability {
  long cap;
  const char* name;
};
constexpr RequiredCapability kRequiredCapabilities[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
};

}  // namespace

HypervisorError::HypervisorError(const std::string& what, int err)
    : std::runtime_error(err ? what + ": " + strerror(err) : what), err_(err) {}

std::unique_ptr<Hypervisor> Hypervisor::open(const std::string& path) {
  std::vector<std::string> candidates;
  if (!path.empty())
    candidates.push_back(path);
  else
    candidates = {kKagamiPath, kKvmPath};

  std::string tried;
  for (const std::string& candidate : candidates) {
    int fd = ::open(candidate.c_str(), O_RDWR | O_CLOEXEC);
    if (fd >= 0) return std::unique_ptr<Hypervisor>(new Hypervisor(fd, candidate));
    if (!tried.empty()) tried += ", ";
    tried += candidate + " (" + strerror(errno) + ")";
  }
  std::string hint = path.empty()
                         ? "; load kagami.ko (insmod build/kmod/kagami.ko) or Linux's kvm "
                           "(modprobe kvm-amd or kvm-intel), or name a device with --hypervisor"
                         : "";
  throw HypervisorError("no hypervisor device: tried " + tried + hint, 0);
}

Hypervisor::Hypervisor(int fd, std::string path) : fd_(fd), path_(std::move(path)) {
  try {
    int version = checked_ioctl(fd_, KVM_GET_API_VERSION, "KVM_GET_API_VERSION", nullptr);
    if (version != kApiVersion)
      throw HypervisorError(path_ + " speaks KVM API version " + std::to_string(version) +
                                ", kagami needs " + std::to_string(kApiVersion),
                            0);
    std::string missing;
    for (const RequiredCapability& rc : kRequiredCapabilities) {
      if (check_extension(rc.cap) <= 0)
        missing += std::string(missing.empty() ? "" : ", ") + rc.name;
    }
    if (!missing.empty())
      throw HypervisorError(path_ + " lacks capabilities kagami needs: " + missing, 0);

    vcpu_mmap_size_ = static_cast<size_t>(
        checked_ioctl(fd_, KVM_GET_VCPU_MMAP_SIZE, "KVM_GET_VCPU_MMAP_SIZE", nullptr));
    if (vcpu_mmap_size_ < sizeof(kvm_run))
      throw HypervisorError(path_ + ": vCPU mmap size " + std::to_string(vcpu_mmap_size_) +
                                " is smaller than struct kvm_run",
                            0);

    // KVM_GET_SUPPORTED_CPUID fails with E2BIG until the buffer is large enough.
    for (uint32_t n = 64; n <= 4096; n *= 2) {
      std::vector<uint8_t> buf(sizeof(kvm_cpuid2) + n * sizeof(kvm_cpuid_entry2));
      auto* cpuid = reinterpret_cast<kvm_cpuid2*>(buf.data());
      cpuid->nent = n;
      if (ioctl(fd_, KVM_GET_SUPPORTED_CPUID, cpuid) == 0) {
        supported_cpuid_.assign(cpuid->entries, cpuid->entries + cpuid->nent);
        break;
      }
      if (errno != E2BIG) throw HypervisorError("KVM_GET_SUPPORTED_CPUID", errno);
    }
    if (supported_cpuid_.empty())
      throw HypervisorError("KVM_GET_SUPPORTED_CPUID returned no entries", 0);
  } catch (...) {
    close(fd_);
    throw;
  }
}

Hypervisor::~Hypervisor() {
  close(fd_);
}

int Hypervisor::check_extension(long capability) const {
  return ioctl(fd_, KVM_CHECK_EXTENSION, capability);
}

std::unique_ptr<Vm> Hypervisor::create_vm() {
  int fd;
  do {
    fd = ioctl(fd_, KVM_CREATE_VM, 0);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw HypervisorError("KVM_CREATE_VM", errno);
  return std::unique_ptr<Vm>(new Vm(fd, vcpu_mmap_size_));
}

Vm::Vm(int fd, size_t vcpu_mmap_size) : fd_(fd), vcpu_mmap_size_(vcpu_mmap_size) {}

Vm::~Vm() {
  close(fd_);
}

void Vm::set_user_memory_region(uint32_t slot, uint64_t gpa, uint64_t size, void* host,
                                bool read_only) {
  set_user_memory_region(slot, gpa, size, host, MemoryFlags{.read_only = read_only});
}

void Vm::set_user_memory_region(uint32_t slot, uint64_t gpa, uint64_t size, void* host,
                                MemoryFlags flags) {
  kvm_userspace_memory_region region{};
  region.slot = slot;
  region.flags = (flags.read_only ? KVM_MEM_READONLY : 0) |
                 (flags.log_dirty_pages ? KVM_MEM_LOG_DIRTY_PAGES : 0);
  region.guest_phys_addr = gpa;
  region.memory_size = size;
  region.userspace_addr = reinterpret_cast<uint64_t>(host);
  checked_ioctl(fd_, KVM_SET_USER_MEMORY_REGION, "KVM_SET_USER_MEMORY_REGION", &region);
  if (size)
    slot_sizes_[slot] = size;
  else
    slot_sizes_.erase(slot);
}

void Vm::delete_user_memory_region(uint32_t slot) {
  set_user_memory_region(slot, 0, 0, nullptr, MemoryFlags{});
}

void Vm::set_tss_addr(uint64_t gpa) {
  int r;
  do {
    r = ioctl(fd_, KVM_SET_TSS_ADDR, static_cast<unsigned long>(gpa));
  } while (r < 0 && errno == EINTR);
  if (r < 0) throw HypervisorError("KVM_SET_TSS_ADDR", errno);
}

int Vm::check_extension(long capability) const {
  return ioctl(fd_, KVM_CHECK_EXTENSION, capability);
}

void Vm::enable_split_irqchip(uint32_t ioapic_pins) {
  kvm_enable_cap cap{};
  cap.cap = KVM_CAP_SPLIT_IRQCHIP;
  cap.args[0] = ioapic_pins;
  checked_ioctl(fd_, KVM_ENABLE_CAP, "KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)", &cap);
}

void Vm::set_msi_routes(std::span<const MsiRoute> routes) {
  std::vector<uint8_t> buf(sizeof(kvm_irq_routing) + routes.size() * sizeof(kvm_irq_routing_entry));
  auto* table = reinterpret_cast<kvm_irq_routing*>(buf.data());
  table->nr = static_cast<uint32_t>(routes.size());
  for (size_t i = 0; i < routes.size(); i++) {
    kvm_irq_routing_entry& e = table->entries[i];
    e.gsi = routes[i].gsi;
    e.type = KVM_IRQ_ROUTING_MSI;
    e.u.msi.address_lo = static_cast<uint32_t>(routes[i].address);
    e.u.msi.address_hi = static_cast<uint32_t>(routes[i].address >> 32);
    e.u.msi.data = routes[i].data;
  }
  checked_ioctl(fd_, KVM_SET_GSI_ROUTING, "KVM_SET_GSI_ROUTING", table);
}

bool Vm::signal_msi(uint64_t address, uint32_t data) {
  kvm_msi msi{};
  msi.address_lo = static_cast<uint32_t>(address);
  msi.address_hi = static_cast<uint32_t>(address >> 32);
  msi.data = data;
  return checked_ioctl(fd_, KVM_SIGNAL_MSI, "KVM_SIGNAL_MSI", &msi) > 0;
}

void Vm::add_irqfd(int eventfd, uint32_t gsi, int resample_fd) {
  kvm_irqfd irqfd{};
  irqfd.fd = static_cast<uint32_t>(eventfd);
  irqfd.gsi = gsi;
  if (resample_fd >= 0) {
    irqfd.flags = KVM_IRQFD_FLAG_RESAMPLE;
    irqfd.resamplefd = static_cast<uint32_t>(resample_fd);
  }
  checked_ioctl(fd_, KVM_IRQFD, "KVM_IRQFD", &irqfd);
}

void Vm::remove_irqfd(int eventfd, uint32_t gsi) {
  kvm_irqfd irqfd{};
  irqfd.fd = static_cast<uint32_t>(eventfd);
  irqfd.gsi = gsi;
  irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
  checked_ioctl(fd_, KVM_IRQFD, "KVM_IRQFD(deassign)", &irqfd);
}

namespace {

kvm_ioeventfd ioeventfd_request(const Vm::Ioeventfd& e, bool deassign) {
  kvm_ioeventfd request{};
  request.fd = e.eventfd;
  request.addr = e.address;
  request.len = e.length;
  if (e.pio) request.flags |= KVM_IOEVENTFD_FLAG_PIO;
  if (e.datamatch) {
    request.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
    request.datamatch = *e.datamatch;
  }
  if (deassign) request.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
  return request;
}

}  // namespace

void Vm::add_ioeventfd(const Ioeventfd& ioeventfd) {
  kvm_ioeventfd request = ioeventfd_request(ioeventfd, false);
  checked_ioctl(fd_, KVM_IOEVENTFD, "KVM_IOEVENTFD", &request);
}

void Vm::remove_ioeventfd(const Ioeventfd& ioeventfd) {
  kvm_ioeventfd request = ioeventfd_request(ioeventfd, true);
  checked_ioctl(fd_, KVM_IOEVENTFD, "KVM_IOEVENTFD(deassign)", &request);
}

std::unique_ptr<Vcpu> Vm::create_vcpu(unsigned id) {
  int fd;
  do {
    fd = ioctl(fd_, KVM_CREATE_VCPU, static_cast<unsigned long>(id));
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw HypervisorError("KVM_CREATE_VCPU " + std::to_string(id), errno);
  return std::unique_ptr<Vcpu>(new Vcpu(fd, id, vcpu_mmap_size_));
}

Vcpu::Vcpu(int fd, unsigned id, size_t mmap_size) : fd_(fd), id_(id), mmap_size_(mmap_size) {
  void* p = mmap(nullptr, mmap_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (p == MAP_FAILED) {
    int err = errno;
    close(fd_);
    throw HypervisorError("mmap of vCPU " + std::to_string(id) + " run page", err);
  }
  run_ = static_cast<kvm_run*>(p);
}

Vcpu::~Vcpu() {
  munmap(run_, mmap_size_);
  close(fd_);
}

int Vcpu::run() {
  return ioctl(fd_, KVM_RUN, 0) < 0 ? errno : 0;
}

kvm_regs Vcpu::regs() const {
  kvm_regs r{};
  checked_ioctl(fd_, KVM_GET_REGS, "KVM_GET_REGS", &r);
  return r;
}

void Vcpu::set_regs(const kvm_regs& regs) {
  kvm_regs r = regs;
  checked_ioctl(fd_, KVM_SET_REGS, "KVM_SET_REGS", &r);
}

kvm_sregs Vcpu::sregs() const {
  kvm_sregs s{};
  checked_ioctl(fd_, KVM_GET_SREGS, "KVM_GET_SREGS", &s);
  return s;
}

void Vcpu::set_sregs(const kvm_sregs& sregs) {
  kvm_sregs s = sregs;
  checked_ioctl(fd_, KVM_SET_SREGS, "KVM_SET_SREGS", &s);
}

void Vcpu::set_cpuid(const std::vector<kvm_cpuid_entry2>& entries) {
  std::vector<uint8_t> buf(sizeof(kvm_cpuid2) + entries.size() * sizeof(kvm_cpuid_entry2));
  auto* cpuid = reinterpret_cast<kvm_cpuid2*>(buf.data());
  cpuid->nent = static_cast<uint32_t>(entries.size());
  std::memcpy(cpuid->entries, entries.data(), entries.size() * sizeof(kvm_cpuid_entry2));
  checked_ioctl(fd_, KVM_SET_CPUID2, "KVM_SET_CPUID2", cpuid);
}

}  // namespace kagami

namespace kagami {

void Vcpu::interrupt(uint8_t vector) {
  kvm_interrupt irq{};
  irq.irq = vector;
  checked_ioctl(fd_, KVM_INTERRUPT, "KVM_INTERRUPT", &irq);
}

kvm_lapic_state Vcpu::lapic() const {
  kvm_lapic_state state{};
  checked_ioctl(fd_, KVM_GET_LAPIC, "KVM_GET_LAPIC", &state);
  return state;
}

void Vcpu::set_lapic(const kvm_lapic_state& state) {
  kvm_lapic_state copy = state;
  checked_ioctl(fd_, KVM_SET_LAPIC, "KVM_SET_LAPIC", &copy);
}

void Vcpu::set_msr(uint32_t index, uint64_t value) {
  struct {
    kvm_msrs head;
    kvm_msr_entry entry;
  } msrs{};
  msrs.head.nmsrs = 1;
  msrs.entry.index = index;
  msrs.entry.data = value;
  if (checked_ioctl(fd_, KVM_SET_MSRS, "KVM_SET_MSRS", &msrs) != 1)
    throw HypervisorError("KVM_SET_MSRS refused MSR " + std::to_string(index), 0);
}

}  // namespace kagami
