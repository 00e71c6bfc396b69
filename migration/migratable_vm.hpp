// What live migration needs of a VM. vmm/core/Machine implements it; unit tests fake it.
//
// Pages are numbered over guest RAM's host mapping: page N is bytes [N * 4096, N * 4096 + 4096)
// of memory().host_base() (RamRegion::offset / 4096 + page within the region).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kagami/guest_memory.hpp"

namespace kagami {

inline constexpr uint64_t kMigrationPageSize = 4096;

// The parts of the machine both ends must agree on before any state moves: an FDT blob
// (vmm/state) with RAM size and layout, vCPU count, CPUID, irqchip mode and device list.
// Source and destination describe themselves the same way; migration/compat compares them.
class DescribedVm {
 public:
  virtual ~DescribedVm() = default;
  virtual std::vector<uint8_t> describe() const = 0;
  virtual GuestMemory& memory() = 0;
};

// The running VM on the source.
class MigratableVm : public virtual DescribedVm {
 public:
  // Dirty tracking of every RAM page, by the hypervisor (KVM_MEM_LOG_DIRTY_PAGES with manual
  // protection) and by the VMM for its own writes to guest RAM. After start, every page counts
  // as clean: the first pass sends all of RAM anyway.
  virtual void start_dirty_log() = 0;
  // ORs the pages written since start_dirty_log() or the previous call into `bitmap`
  // (memory().size() / 4096 bits, bit N of word N / 64), and makes them clean again (write
  // protected) before returning, so a write after this call shows up in the next one.
  virtual void collect_dirty(std::vector<uint64_t>& bitmap) = 0;
  virtual void stop_dirty_log() = 0;

  // Auto-converge: each vCPU spends `percent` (0..99) of its time out of the guest.
  virtual void set_throttle(unsigned percent) = 0;

  // Every vCPU out of KVM_RUN and parked (Machine::pause), and back.
  virtual void pause() = 0;
  virtual void resume() = 0;

  // The state of every vCPU (registers, FPU/XSAVE, XCRs, MSRs with the TSC, events, MP state,
  // in-kernel LAPIC), the VM (kvm-clock) and every device, as an FDT blob. Only while paused.
  virtual std::vector<uint8_t> save_state() = 0;

  // Migration succeeded: the destination runs the guest now. Stops this machine (the kagami
  // process exits 0 saying where the guest went).
  virtual void migrated_away(const std::string& destination) = 0;
};

// The VM being built on the destination: created from the same command line as the source's,
// with no kernel loaded and no vCPU started.
class IncomingVm : public virtual DescribedVm {
 public:
  // Local migration: guest RAM becomes the source's memfd (same size), mapped where the old
  // mapping was; nothing is copied. The source keeps its own mapping until it exits.
  // `memfd` stays the caller's (closed after the call): dup it to keep it.
  virtual void adopt_memory(int memfd) = 0;
  // Loads save_state()'s blob; throws StateError (nothing run, the VM still discardable) when
  // any part is malformed or does not fit this machine.
  virtual void load_state(std::span<const uint8_t> blob) = 0;
  // A failed attempt: forgets every page and state received (RAM reads as zeros again; an
  // adopted memfd is let go, never cleared: it is the source's RAM).
  virtual void discard() = 0;
};

}  // namespace kagami
