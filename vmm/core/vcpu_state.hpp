// One vCPU's complete state as a plain value: captured from the hypervisor, written to and read
// from a state node, applied back in the order KVM needs.
//
// Node fields: the general registers by name (rax ... r15, rip, rflags); the control registers
// and EFER by name; segments, descriptor tables, XSAVE (or FPU), XCRs, events, LAPIC and debug
// registers as the KVM ABI's own structures (the same on both ends of a migration); MSRs as
// (index u32, value u64) big-endian pairs; mp-state as u32.
#pragma once

#include <optional>
#include <vector>

#include "kagami/hypervisor.hpp"
#include "kagami/state.hpp"

namespace kagami {

// What a vCPU's state consists of on this hypervisor: its optional parts and its MSRs.
struct VcpuStateLayout {
  bool xsave = false;      // KVM_CAP_XSAVE, else the legacy FPU state
  bool xcrs = false;       // KVM_CAP_XCRS
  bool lapic = false;      // an in-kernel local APIC
  bool debugregs = false;  // KVM_CAP_DEBUGREGS
  std::vector<uint32_t> msrs;

  // The hypervisor's MSR index list filtered to the MSRs `vcpu` reads and takes back. Probes by
  // writing values back: only on a vCPU that has not run yet (its CPUID already set).
  static VcpuStateLayout probe(const Hypervisor& hypervisor, const Vm& vm, Vcpu& vcpu, bool lapic);
};

struct VcpuState {
  kvm_regs regs{};
  kvm_sregs sregs{};
  std::optional<kvm_xsave> xsave;
  std::optional<kvm_fpu> fpu;
  std::optional<kvm_xcrs> xcrs;
  std::vector<kvm_msr_entry> msrs;
  kvm_vcpu_events events{};
  kvm_mp_state mp_state{};
  std::optional<kvm_lapic_state> lapic;
  std::optional<kvm_debugregs> debugregs;
};

// Reads everything from a vCPU that is out of KVM_RUN.
VcpuState capture_vcpu_state(const Vcpu& vcpu, const VcpuStateLayout& layout);
void write_vcpu_state(StateWriter& out, const VcpuState& state);
// Reads and checks every field (presence, size, bounds, MSRs this layout has) before returning;
// throws StateError naming the first bad one.
VcpuState read_vcpu_state(const StateReader& in, const VcpuStateLayout& layout);
// Puts the state into a vCPU out of KVM_RUN, in QEMU's kvm_arch_put_registers order: regs,
// XSAVE, XCRs, sregs, MSRs, events, MP state, LAPIC, then TSC_DEADLINE (which the LAPIC's mode
// governs), debug registers. Throws StateError when the hypervisor refuses an MSR.
void apply_vcpu_state(Vcpu& vcpu, const VcpuState& state);

}  // namespace kagami
