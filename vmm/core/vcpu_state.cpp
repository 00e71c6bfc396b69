// One vCPU's state: capture, write, read with checks, apply in KVM's order.
#include "core/vcpu_state.hpp"

#include <endian.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace kagami {
namespace {

constexpr uint32_t kMsrTsc = 0x10;
constexpr uint32_t kMsrTscDeadline = 0x6e0;
constexpr size_t kMsrRecord = 12;  // index u32, value u64
constexpr size_t kMaxMsrs = 4096;
constexpr uint32_t kMaxMpState = 10;  // KVM_MP_STATE_SUSPENDED, the last one defined

struct RegField {
  const char* name;
  __u64 kvm_regs::*member;
};
constexpr RegField kRegFields[] = {
    {"rax", &kvm_regs::rax}, {"rbx", &kvm_regs::rbx}, {"rcx", &kvm_regs::rcx},
    {"rdx", &kvm_regs::rdx}, {"rsi", &kvm_regs::rsi}, {"rdi", &kvm_regs::rdi},
    {"rsp", &kvm_regs::rsp}, {"rbp", &kvm_regs::rbp}, {"r8", &kvm_regs::r8},
    {"r9", &kvm_regs::r9},   {"r10", &kvm_regs::r10}, {"r11", &kvm_regs::r11},
    {"r12", &kvm_regs::r12}, {"r13", &kvm_regs::r13}, {"r14", &kvm_regs::r14},
    {"r15", &kvm_regs::r15}, {"rip", &kvm_regs::rip}, {"rflags", &kvm_regs::rflags},
};

struct SregField {
  const char* name;
  __u64 kvm_sregs::*member;
};
constexpr SregField kSregFields[] = {
    {"cr0", &kvm_sregs::cr0},
    {"cr2", &kvm_sregs::cr2},
    {"cr3", &kvm_sregs::cr3},
    {"cr4", &kvm_sregs::cr4},
    {"cr8", &kvm_sregs::cr8},
    {"efer", &kvm_sregs::efer},
    {"apic-base", &kvm_sregs::apic_base},
};

struct SegmentField {
  const char* name;
  kvm_segment kvm_sregs::*member;
};
constexpr SegmentField kSegmentFields[] = {
    {"cs", &kvm_sregs::cs}, {"ds", &kvm_sregs::ds},   {"es", &kvm_sregs::es},
    {"fs", &kvm_sregs::fs}, {"gs", &kvm_sregs::gs},   {"ss", &kvm_sregs::ss},
    {"tr", &kvm_sregs::tr}, {"ldt", &kvm_sregs::ldt},
};

// A KVM ABI structure as one field: its bytes, exactly its size.
template <typename T>
void put_struct(StateWriter& out, std::string_view name, const T& value) {
  out.bytes(name, {reinterpret_cast<const uint8_t*>(&value), sizeof(T)});
}

template <typename T>
T get_struct(const StateReader& in, std::string_view name) {
  T value{};
  in.bytes(name, {reinterpret_cast<uint8_t*>(&value), sizeof(T)});
  return value;
}

std::string hex(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof(text), "0x%x", value);
  return text;
}

std::vector<uint8_t> encode_msrs(const std::vector<kvm_msr_entry>& msrs) {
  std::vector<uint8_t> bytes(msrs.size() * kMsrRecord);
  for (size_t i = 0; i < msrs.size(); i++) {
    uint32_t index = htobe32(msrs[i].index);
    uint64_t value = htobe64(msrs[i].data);
    std::memcpy(&bytes[i * kMsrRecord], &index, 4);
    std::memcpy(&bytes[i * kMsrRecord + 4], &value, 8);
  }
  return bytes;
}

std::vector<kvm_msr_entry> decode_msrs(const StateReader& in, const VcpuStateLayout& layout) {
  std::vector<uint8_t> bytes = in.bytes("msrs", kMaxMsrs * kMsrRecord);
  if (bytes.size() % kMsrRecord)
    throw StateError(in.path() + "/msrs: " + std::to_string(bytes.size()) +
                     " bytes, not a whole number of 12-byte records");
  std::vector<kvm_msr_entry> msrs(bytes.size() / kMsrRecord);
  for (size_t i = 0; i < msrs.size(); i++) {
    uint32_t index;
    uint64_t value;
    std::memcpy(&index, &bytes[i * kMsrRecord], 4);
    std::memcpy(&value, &bytes[i * kMsrRecord + 4], 8);
    msrs[i].index = be32toh(index);
    msrs[i].data = be64toh(value);
    if (std::find(layout.msrs.begin(), layout.msrs.end(), msrs[i].index) == layout.msrs.end())
      throw StateError(in.path() + "/msrs: MSR " + hex(msrs[i].index) +
                       ", which this hypervisor's vCPUs do not have");
  }
  return msrs;
}

void write_sregs(StateWriter& out, const kvm_sregs& sregs) {
  for (const SegmentField& f : kSegmentFields) put_struct(out, f.name, sregs.*f.member);
  put_struct(out, "gdt", sregs.gdt);
  put_struct(out, "idt", sregs.idt);
  for (const SregField& f : kSregFields) out.u64(f.name, sregs.*f.member);
  put_struct(out, "interrupt-bitmap", sregs.interrupt_bitmap);
}

kvm_sregs read_sregs(const StateReader& in) {
  kvm_sregs sregs{};
  for (const SegmentField& f : kSegmentFields)
    sregs.*f.member = get_struct<kvm_segment>(in, f.name);
  sregs.gdt = get_struct<kvm_dtable>(in, "gdt");
  sregs.idt = get_struct<kvm_dtable>(in, "idt");
  for (const SregField& f : kSregFields) sregs.*f.member = in.u64(f.name);
  in.bytes("interrupt-bitmap",
           {reinterpret_cast<uint8_t*>(sregs.interrupt_bitmap), sizeof(sregs.interrupt_bitmap)});
  return sregs;
}

void set_msrs_checked(Vcpu& vcpu, const std::vector<kvm_msr_entry>& msrs) {
  size_t done = vcpu.set_msrs(msrs);
  if (done < msrs.size())
    throw StateError("vCPU " + std::to_string(vcpu.id()) + ": the hypervisor refused MSR " +
                     hex(msrs[done].index) + " = " + std::to_string(msrs[done].data));
}

}  // namespace

VcpuStateLayout VcpuStateLayout::probe(const Hypervisor& hypervisor, const Vm& vm, Vcpu& vcpu,
                                       bool lapic) {
  VcpuStateLayout layout;
  layout.xsave = vm.check_extension(KVM_CAP_XSAVE) > 0;
  layout.xcrs = vm.check_extension(KVM_CAP_XCRS) > 0;
  layout.debugregs = vm.check_extension(KVM_CAP_DEBUGREGS) > 0;
  layout.lapic = lapic;
  std::vector<uint32_t> candidates;
  try {
    candidates = hypervisor.msr_index_list();
  } catch (const HypervisorError&) {
    // A hypervisor without the list still runs guests; their migration then carries the TSC
    // alone (and the description says so, so a destination that has more is told).
    candidates = {kMsrTsc};
  }
  // One at a time: KVM_GET/SET_MSRS stop at the first refusal, and there are few.
  for (uint32_t index : candidates) {
    kvm_msr_entry entry{};
    entry.index = index;
    if (vcpu.get_msrs({&entry, 1}) != 1) continue;
    if (vcpu.set_msrs({&entry, 1}) != 1) continue;
    layout.msrs.push_back(index);
  }
  return layout;
}

VcpuState capture_vcpu_state(const Vcpu& vcpu, const VcpuStateLayout& layout) {
  VcpuState state;
  state.regs = vcpu.regs();
  state.sregs = vcpu.sregs();
  if (layout.xsave)
    state.xsave = vcpu.xsave();
  else
    state.fpu = vcpu.fpu();
  if (layout.xcrs) state.xcrs = vcpu.xcrs();
  state.msrs.resize(layout.msrs.size());
  for (size_t i = 0; i < layout.msrs.size(); i++) state.msrs[i].index = layout.msrs[i];
  size_t read = vcpu.get_msrs(state.msrs);
  if (read < state.msrs.size())
    throw StateError("vCPU " + std::to_string(vcpu.id()) + ": MSR " + hex(state.msrs[read].index) +
                     " cannot be read");
  state.events = vcpu.vcpu_events();
  state.mp_state = vcpu.mp_state();
  if (layout.lapic) state.lapic = vcpu.lapic();
  if (layout.debugregs) state.debugregs = vcpu.debugregs();
  return state;
}

void write_vcpu_state(StateWriter& out, const VcpuState& state) {
  for (const RegField& f : kRegFields) out.u64(f.name, state.regs.*f.member);
  write_sregs(out, state.sregs);
  if (state.xsave) put_struct(out, "xsave", *state.xsave);
  if (state.fpu) put_struct(out, "fpu", *state.fpu);
  if (state.xcrs) put_struct(out, "xcrs", *state.xcrs);
  out.bytes("msrs", encode_msrs(state.msrs));
  put_struct(out, "events", state.events);
  out.u32("mp-state", state.mp_state.mp_state);
  if (state.lapic) put_struct(out, "lapic", *state.lapic);
  if (state.debugregs) put_struct(out, "debugregs", *state.debugregs);
}

VcpuState read_vcpu_state(const StateReader& in, const VcpuStateLayout& layout) {
  VcpuState state;
  for (const RegField& f : kRegFields) state.regs.*f.member = in.u64(f.name);
  state.sregs = read_sregs(in);
  if (layout.xsave)
    state.xsave = get_struct<kvm_xsave>(in, "xsave");
  else
    state.fpu = get_struct<kvm_fpu>(in, "fpu");
  if (layout.xcrs) {
    state.xcrs = get_struct<kvm_xcrs>(in, "xcrs");
    if (state.xcrs->nr_xcrs > KVM_MAX_XCRS)
      throw StateError(in.path() + "/xcrs: " + std::to_string(state.xcrs->nr_xcrs) +
                       " XCRs, more than " + std::to_string(KVM_MAX_XCRS));
  }
  state.msrs = decode_msrs(in, layout);
  state.events = get_struct<kvm_vcpu_events>(in, "events");
  state.mp_state.mp_state = in.u32_max("mp-state", kMaxMpState);
  if (layout.lapic) state.lapic = get_struct<kvm_lapic_state>(in, "lapic");
  if (layout.debugregs) state.debugregs = get_struct<kvm_debugregs>(in, "debugregs");
  return state;
}

void apply_vcpu_state(Vcpu& vcpu, const VcpuState& state) {
  vcpu.set_regs(state.regs);
  if (state.xsave) vcpu.set_xsave(*state.xsave);
  if (state.fpu) vcpu.set_fpu(*state.fpu);
  if (state.xcrs) vcpu.set_xcrs(*state.xcrs);
  vcpu.set_sregs(state.sregs);
  std::vector<kvm_msr_entry> msrs, tsc_deadline;
  for (const kvm_msr_entry& e : state.msrs)
    (e.index == kMsrTscDeadline ? tsc_deadline : msrs).push_back(e);
  set_msrs_checked(vcpu, msrs);
  kvm_vcpu_events events = state.events;
  // As QEMU: the NMI and SIPI fields are meant, whatever the source's get left in flags.
  events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
  vcpu.set_vcpu_events(events);
  vcpu.set_mp_state(state.mp_state);
  if (state.lapic) vcpu.set_lapic(*state.lapic);
  set_msrs_checked(vcpu, tsc_deadline);
  if (state.debugregs) vcpu.set_debugregs(*state.debugregs);
}

}  // namespace kagami
