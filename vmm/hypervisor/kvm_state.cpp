// The KVM-ABI calls migration needs: dirty logging, the VM clock, and a vCPU's whole state.
#include <algorithm>
#include <cstring>

#include "hypervisor/kvm_ioctl.hpp"
#include "kagami/hypervisor.hpp"

namespace kagami {
namespace {

constexpr uint32_t kMaxMsrs = 4096;  // far above any hypervisor's list; bounds the buffer

// Always migrated when the vCPU has them, whether or not the index list names them: the TSC
// and the kvm-clock MSRs (old and new numbers). The TSC goes first: KVM adjusts other
// TSC-derived state from it.
constexpr uint32_t kEssentialMsrs[] = {0x10, 0x11, 0x12, 0x4b564d00, 0x4b564d01};

// struct kvm_msrs followed by its entries, as the ioctls want them.
class MsrBuffer {
 public:
  explicit MsrBuffer(size_t n) : words_((sizeof(kvm_msrs) + n * sizeof(kvm_msr_entry) + 7) / 8) {
    head()->nmsrs = static_cast<uint32_t>(n);
  }
  kvm_msrs* head() { return reinterpret_cast<kvm_msrs*>(words_.data()); }
  kvm_msr_entry* entries() { return head()->entries; }

 private:
  std::vector<uint64_t> words_;
};

}  // namespace

std::vector<uint32_t> Hypervisor::msr_index_list() const {
  kvm_msr_list probe{};
  if (ioctl(fd_, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
    throw HypervisorError("KVM_GET_MSR_INDEX_LIST", errno);
  if (probe.nmsrs > kMaxMsrs)
    throw HypervisorError("KVM_GET_MSR_INDEX_LIST: " + std::to_string(probe.nmsrs) +
                              " MSRs, more than kagami takes (" + std::to_string(kMaxMsrs) + ")",
                          0);
  std::vector<uint32_t> words(1 + probe.nmsrs);
  auto* list = reinterpret_cast<kvm_msr_list*>(words.data());
  list->nmsrs = probe.nmsrs;
  checked_ioctl(fd_, KVM_GET_MSR_INDEX_LIST, "KVM_GET_MSR_INDEX_LIST", list);
  std::vector<uint32_t> indices(std::begin(kEssentialMsrs), std::end(kEssentialMsrs));
  for (uint32_t i = 0; i < list->nmsrs && i < probe.nmsrs; i++) {
    bool known = false;
    for (uint32_t e : kEssentialMsrs) known |= e == list->indices[i];
    if (!known) indices.push_back(list->indices[i]);
  }
  return indices;
}

uint64_t Vm::slot_pages(uint32_t slot) const {
  auto it = slot_sizes_.find(slot);
  if (it == slot_sizes_.end())
    throw HypervisorError("dirty log of memory slot " + std::to_string(slot) + ", which is not set",
                          0);
  return it->second / 4096;
}

void Vm::enable_cap(uint32_t capability, uint64_t arg0) {
  kvm_enable_cap cap{};
  cap.cap = capability;
  cap.args[0] = arg0;
  checked_ioctl(fd_, KVM_ENABLE_CAP, ("KVM_ENABLE_CAP " + std::to_string(capability)).c_str(),
                &cap);
}

void Vm::get_dirty_log(uint32_t slot, std::span<uint64_t> bitmap) {
  if (bitmap.size() < (slot_pages(slot) + 63) / 64)
    throw HypervisorError("KVM_GET_DIRTY_LOG: bitmap too small for slot " + std::to_string(slot),
                          0);
  kvm_dirty_log log{};
  log.slot = slot;
  log.dirty_bitmap = bitmap.data();
  checked_ioctl(fd_, KVM_GET_DIRTY_LOG, "KVM_GET_DIRTY_LOG", &log);
}

void Vm::clear_dirty_log(uint32_t slot, uint64_t first_page, uint32_t num_pages,
                         std::span<const uint64_t> bitmap) {
  uint64_t pages = slot_pages(slot);
  if (first_page % 64 || first_page > pages || num_pages > pages - first_page ||
      bitmap.size() < (num_pages + 63) / 64)
    throw HypervisorError("KVM_CLEAR_DIRTY_LOG: pages out of slot " + std::to_string(slot), 0);
  kvm_clear_dirty_log clear{};
  clear.slot = slot;
  clear.first_page = first_page;
  clear.num_pages = num_pages;
  // The kernel only reads the bitmap.
  clear.dirty_bitmap = const_cast<uint64_t*>(bitmap.data());
  checked_ioctl(fd_, KVM_CLEAR_DIRTY_LOG, "KVM_CLEAR_DIRTY_LOG", &clear);
}

kvm_clock_data Vm::clock() const {
  kvm_clock_data data{};
  checked_ioctl(fd_, KVM_GET_CLOCK, "KVM_GET_CLOCK", &data);
  return data;
}

void Vm::set_clock(const kvm_clock_data& clock) {
  kvm_clock_data data{};
  data.clock = clock.clock;  // flags 0: the clock alone, not the realtime pairing
  checked_ioctl(fd_, KVM_SET_CLOCK, "KVM_SET_CLOCK", &data);
}

// KVM takes fewer than 256 MSRs per call (MAX_IO_MSRS): larger requests go in batches.
constexpr size_t kMsrBatch = 128;

size_t Vcpu::get_msrs(std::span<kvm_msr_entry> entries) const {
  size_t done = 0;
  while (done < entries.size()) {
    std::span<kvm_msr_entry> batch =
        entries.subspan(done, std::min(kMsrBatch, entries.size() - done));
    MsrBuffer buffer(batch.size());
    for (size_t i = 0; i < batch.size(); i++) buffer.entries()[i].index = batch[i].index;
    auto n = static_cast<size_t>(checked_ioctl(fd_, KVM_GET_MSRS, "KVM_GET_MSRS", buffer.head()));
    n = std::min(n, batch.size());
    for (size_t i = 0; i < n; i++) batch[i].data = buffer.entries()[i].data;
    done += n;
    if (n < batch.size()) break;
  }
  return done;
}

size_t Vcpu::set_msrs(std::span<const kvm_msr_entry> entries) {
  size_t done = 0;
  while (done < entries.size()) {
    std::span<const kvm_msr_entry> batch =
        entries.subspan(done, std::min(kMsrBatch, entries.size() - done));
    MsrBuffer buffer(batch.size());
    std::memcpy(buffer.entries(), batch.data(), batch.size() * sizeof(kvm_msr_entry));
    auto n = static_cast<size_t>(checked_ioctl(fd_, KVM_SET_MSRS, "KVM_SET_MSRS", buffer.head()));
    n = std::min(n, batch.size());
    done += n;
    if (n < batch.size()) break;
  }
  return done;
}

// Get and set of one fixed-size structure each.
#define KAGAMI_VCPU_STATE(type, getter, setter, get_ioctl, set_ioctl) \
  type Vcpu::getter() const {                                         \
    type value{};                                                     \
    checked_ioctl(fd_, get_ioctl, #get_ioctl, &value);                \
    return value;                                                     \
  }                                                                   \
  void Vcpu::setter(const type& value) {                              \
    type copy = value;                                                \
    checked_ioctl(fd_, set_ioctl, #set_ioctl, &copy);                 \
  }

KAGAMI_VCPU_STATE(kvm_xsave, xsave, set_xsave, KVM_GET_XSAVE, KVM_SET_XSAVE)
KAGAMI_VCPU_STATE(kvm_fpu, fpu, set_fpu, KVM_GET_FPU, KVM_SET_FPU)
KAGAMI_VCPU_STATE(kvm_xcrs, xcrs, set_xcrs, KVM_GET_XCRS, KVM_SET_XCRS)
KAGAMI_VCPU_STATE(kvm_vcpu_events, vcpu_events, set_vcpu_events, KVM_GET_VCPU_EVENTS,
                  KVM_SET_VCPU_EVENTS)
KAGAMI_VCPU_STATE(kvm_mp_state, mp_state, set_mp_state, KVM_GET_MP_STATE, KVM_SET_MP_STATE)
KAGAMI_VCPU_STATE(kvm_debugregs, debugregs, set_debugregs, KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS)

#undef KAGAMI_VCPU_STATE

}  // namespace kagami
