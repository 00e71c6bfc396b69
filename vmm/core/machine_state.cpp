// The machine's description and state as FDT blobs: describe, save_state, load_state.
//
// State tree ("kagami-state"): /vm (cpus, memory-size, kvm-clock), /cpu@N (vcpu_state.hpp),
// /devices/<node> (each device's own fields). Description ("kagami-machine"): memory size and
// RAM regions, vCPU count and each vCPU's CPUID, irqchip mode, vCPU state layout, device nodes.
#include <endian.h>

#include <cstdio>
#include <set>

#include "cmos_rtc.hpp"
#include "core/machine.hpp"
#include "core/pc_chipset.hpp"
#include "core/pc_interrupts.hpp"
#include "fdt_state.hpp"
#include "fw_cfg.hpp"
#include "i8042.hpp"
#include "pc_testdev.hpp"
#include "serial_16550a.hpp"
#include "test_irq_device.hpp"

namespace kagami {
namespace {

std::string hex_name(const char* prefix, uint64_t value) {
  char text[48];
  std::snprintf(text, sizeof(text), "%s%llx", prefix, static_cast<unsigned long long>(value));
  return text;
}

std::vector<uint8_t> be_cells(std::initializer_list<uint32_t> cells) {
  std::vector<uint8_t> bytes;
  for (uint32_t c : cells) {
    uint32_t be = htobe32(c);
    auto* p = reinterpret_cast<const uint8_t*>(&be);
    bytes.insert(bytes.end(), p, p + 4);
  }
  return bytes;
}

// One field per leaf ("leaf-d" or "leaf-7-1" with a significant index): EAX, EBX, ECX, EDX.
void write_cpuid(StateWriter& out, const std::vector<kvm_cpuid_entry2>& entries) {
  std::set<std::string> written;
  for (const kvm_cpuid_entry2& e : entries) {
    std::string name = hex_name("leaf-", e.function);
    if (e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) name += hex_name("-", e.index);
    if (!written.insert(name).second) continue;
    out.bytes(name, be_cells({e.eax, e.ebx, e.ecx, e.edx}));
  }
}

}  // namespace

std::vector<NamedDevice> Machine::devices() const {
  std::vector<NamedDevice> list;
  if (interrupts_) interrupts_->add_devices(list);
  if (chipset_) chipset_->add_devices(list);
  list.push_back({"serial@3f8", serial_.get()});
  list.push_back({"rtc@70", rtc_.get()});
  list.push_back({"i8042@60", i8042_.get()});
  list.push_back({"fw-cfg@510", fw_cfg_.get()});
  if (testdev_) list.push_back({"testdev", testdev_.get()});
  if (test_irq_) list.push_back({"test-irq@2100", test_irq_.get()});
  return list;
}

std::vector<uint8_t> Machine::describe() const {
  FdtStateWriter out(kMachineKind);
  out.u64("memory-size", memory_.size());
  out.u32("cpus", config_.cpus);
  out.string("irqchip", interrupts_ ? "split" : "none");
  out.flag("testdev", config_.testdev);
  std::string names;
  for (const NamedDevice& d : devices()) names += (names.empty() ? "" : ",") + d.node;
  out.string("devices", names);
  for (const RamRegion& r : memory_.regions()) {
    out.begin_node(hex_name("ram@", r.gpa));
    out.u64("gpa", r.gpa);
    out.u64("size", r.size);
    out.u64("offset", r.offset);
    out.end_node();
  }
  out.begin_node("vcpu-state");
  out.flag("xsave", vcpu_layout_.xsave);
  out.flag("xcrs", vcpu_layout_.xcrs);
  out.flag("lapic", vcpu_layout_.lapic);
  out.flag("debugregs", vcpu_layout_.debugregs);
  std::vector<uint8_t> msrs;
  for (uint32_t index : vcpu_layout_.msrs) {
    std::vector<uint8_t> cell = be_cells({index});
    msrs.insert(msrs.end(), cell.begin(), cell.end());
  }
  out.bytes("msrs", msrs);
  out.end_node();
  for (unsigned id = 0; id < cpuid_.size(); id++) {
    out.begin_node("cpu@" + std::to_string(id));
    write_cpuid(out, cpuid_[id]);
    out.end_node();
  }
  return out.finish();
}

// Not running, or every vCPU parked.
bool Machine::quiescent() const {
  return threads_.empty() || paused();
}

std::vector<uint8_t> Machine::save_state() {
  if (!quiescent()) throw StateError("save_state: the machine must be paused");
  return save_state_now();
}

std::vector<uint8_t> Machine::save_state_now() const {
  FdtStateWriter out(kStateKind);
  out.begin_node("vm");
  out.u32("cpus", config_.cpus);
  out.u64("memory-size", memory_.size());
  if (vm_->check_extension(KVM_CAP_ADJUST_CLOCK) > 0) out.u64("kvm-clock", vm_->clock().clock);
  out.end_node();
  for (const auto& vcpu : vcpus_) {
    out.begin_node("cpu@" + std::to_string(vcpu->id()));
    write_vcpu_state(out, capture_vcpu_state(*vcpu, vcpu_layout_));
    out.end_node();
  }
  out.begin_node("devices");
  for (const NamedDevice& d : devices()) {
    out.begin_node(d.node);
    d.device->save_state(out);
    out.end_node();
  }
  out.end_node();
  return out.finish();
}

void Machine::load_state(std::span<const uint8_t> blob) {
  if (!quiescent()) throw StateError("load_state: the machine must be paused");
  // Everything that can be checked without touching the machine, first.
  FdtStateReader check(blob, kStateKind);
  // Devices check their own fields as they load: keep the state to go back to if one refuses.
  std::vector<uint8_t> previous = save_state_now();
  try {
    apply_state(blob);
  } catch (const std::exception& e) {
    try {
      apply_state(previous);
    } catch (const std::exception& again) {
      throw StateError(std::string(e.what()) +
                       "; and restoring the previous state failed: " + again.what());
    }
    if (dynamic_cast<const StateError*>(&e)) throw;
    throw StateError(std::string("loading the state: ") + e.what());
  }
}

// Parses and checks the machine-level parts and every vCPU before changing anything, then
// applies vCPUs, devices and the clock.
void Machine::apply_state(std::span<const uint8_t> blob) {
  FdtStateReader in(blob, kStateKind);
  auto vm = in.node("vm");
  if (uint32_t cpus = vm->u32("cpus"); cpus != config_.cpus)
    throw StateError("/vm/cpus: the state has " + std::to_string(cpus) + " vCPUs, this machine " +
                     std::to_string(config_.cpus));
  if (uint64_t size = vm->u64("memory-size"); size != memory_.size())
    throw StateError("/vm/memory-size: the state has " + std::to_string(size) +
                     " bytes of RAM, this machine " + std::to_string(memory_.size()));
  const bool adjust_clock = vm_->check_extension(KVM_CAP_ADJUST_CLOCK) > 0;
  kvm_clock_data clock{};
  if (adjust_clock) clock.clock = vm->u64("kvm-clock");
  std::vector<VcpuState> vcpus;
  for (const auto& vcpu : vcpus_)
    vcpus.push_back(read_vcpu_state(*in.node("cpu@" + std::to_string(vcpu->id())), vcpu_layout_));
  if (in.has_node("cpu@" + std::to_string(vcpus_.size())))
    throw StateError("/cpu@" + std::to_string(vcpus_.size()) + ": more vCPUs than this machine");
  auto devices_node = in.node("devices");
  const std::vector<NamedDevice> list = devices();
  for (const NamedDevice& d : list)
    if (!devices_node->has_node(d.node)) throw StateError("/devices/" + d.node + ": node missing");

  for (size_t i = 0; i < vcpus_.size(); i++) apply_vcpu_state(*vcpus_[i], vcpus[i]);
  for (const NamedDevice& d : list) d.device->load_state(*devices_node->node(d.node));
  if (adjust_clock) vm_->set_clock(clock);
}

}  // namespace kagami
