// The machine as a migration source and destination: dirty logging, throttle, memory handover.
#include <algorithm>

#include "core/machine.hpp"
#include "core/vcpu_thread.hpp"
#include "core/vcpu_throttle.hpp"

namespace kagami {
namespace {

constexpr uint64_t kPage = kMigrationPageSize;

// ORs a slot's bitmap (bit n = page n of the slot) into the machine's (bit n = page n of the
// host mapping), the slot starting at page `first`.
void merge_slot_bitmap(std::span<const uint64_t> slot, uint64_t pages, uint64_t first,
                       std::vector<uint64_t>& bitmap) {
  if (first % 64 == 0) {
    for (uint64_t w = 0; w < (pages + 63) / 64; w++) bitmap[first / 64 + w] |= slot[w];
    return;
  }
  for (uint64_t n = 0; n < pages; n++)
    if (slot[n / 64] >> (n % 64) & 1) bitmap[(first + n) / 64] |= 1ull << ((first + n) % 64);
}

}  // namespace

void Machine::start_dirty_log() {
  std::lock_guard guard(dirty_lock_);
  if (dirty_logging_) return;
  // With manual protection, GET_DIRTY_LOG only reads and CLEAR_DIRTY_LOG re-protects the pages
  // collected; without it GET does both (and holds the MMU lock over the whole slot).
  if (!manual_dirty_protect_ && (vm_->check_extension(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) &
                                 KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)) {
    vm_->enable_cap(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE);
    manual_dirty_protect_ = true;
  }
  memory_.start_dirty_tracking();
  add_memory_slots(true);  // write-protects every page: all count as clean from here
  dirty_logging_ = true;
}

void Machine::collect_dirty(std::vector<uint64_t>& bitmap) {
  std::lock_guard guard(dirty_lock_);
  const uint64_t words = (memory_.size() / kPage + 63) / 64;
  if (bitmap.size() < words) bitmap.resize(words);
  if (!dirty_logging_) return;
  uint32_t slot = 0;
  for (const RamRegion& r : memory_.regions()) {
    const uint64_t pages = r.size / kPage;
    std::vector<uint64_t> slot_bits((pages + 63) / 64);
    vm_->get_dirty_log(slot, slot_bits);
    bool any = std::any_of(slot_bits.begin(), slot_bits.end(), [](uint64_t w) { return w != 0; });
    // Re-protect before the caller reads the pages: a write after this shows up next time.
    if (manual_dirty_protect_ && any)
      vm_->clear_dirty_log(slot, 0, static_cast<uint32_t>(pages), slot_bits);
    merge_slot_bitmap(slot_bits, pages, r.offset / kPage, bitmap);
    slot++;
  }
  memory_.take_dirty(bitmap);
}

void Machine::stop_dirty_log() {
  std::lock_guard guard(dirty_lock_);
  if (!dirty_logging_) return;
  add_memory_slots(false);
  memory_.stop_dirty_tracking();
  dirty_logging_ = false;
}

void Machine::set_throttle(unsigned percent) {
  {
    // Lifting the throttle wakes vCPUs still sleeping their share (throttle_sleep).
    std::lock_guard guard(state_lock_);
    throttling_ = percent > 0;
  }
  state_changed_.notify_all();
  std::lock_guard guard(throttle_lock_);
  if (!throttle_) {
    // Only while the vCPU threads run: the throttle's thread walks threads_.
    if (percent == 0 || !throttle_allowed_) return;
    throttle_ = std::make_unique<VcpuThrottle>([this](uint64_t ns) {
      for (auto& t : threads_) t->throttle(ns);
    });
  }
  throttle_->set_percent(percent);
}

void Machine::migrated_away(const std::string& destination) {
  set_throttle(0);
  request_stop({MachineExit::Reason::kMigrated, kExitOk, "migrated to " + destination});
}

// The KVM slots are deleted and added again around the change of mapping, so no stale
// translation of the old pages can survive in the hypervisor.
void Machine::adopt_memory(int memfd) {
  if (!threads_.empty()) throw std::logic_error("adopt_memory: the machine is already running");
  for (uint32_t slot = 0; slot < memory_.regions().size(); slot++)
    vm_->delete_user_memory_region(slot);
  try {
    memory_.adopt(memfd);
  } catch (...) {
    add_memory_slots(false);
    throw;
  }
  add_memory_slots(false);
}

void Machine::discard() {
  if (!threads_.empty()) throw std::logic_error("discard: the machine is already running");
  for (uint32_t slot = 0; slot < memory_.regions().size(); slot++)
    vm_->delete_user_memory_region(slot);
  try {
    memory_.discard();
  } catch (...) {
    add_memory_slots(false);
    throw;
  }
  add_memory_slots(false);
  if (!initial_state_.empty()) apply_state(initial_state_);
}

}  // namespace kagami
