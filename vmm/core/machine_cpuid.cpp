// The guest's CPUID: the hypervisor's supported leaves with kagami's topology and brand.
#include <cpuid.h>

#include <cstring>

#include "core/machine.hpp"

namespace kagami {
namespace {

// KVM reports the brand-string leaves (0x80000002..4) as zeros; guests print them and
// some check them. Pass the host's through, as QEMU's -cpu host does.
void fill_brand_string(kvm_cpuid_entry2& e) {
  if (e.eax | e.ebx | e.ecx | e.edx) return;
  unsigned a, b, c, d;
  if (!__get_cpuid(e.function, &a, &b, &c, &d) || (a | b | c | d) == 0) {
    // No brand on the host either: name the virtual CPU after us.
    char brand[48] = "kagami virtual CPU";
    std::memcpy(&a, brand + 16 * (e.function - 0x80000002) + 0, 4);
    std::memcpy(&b, brand + 16 * (e.function - 0x80000002) + 4, 4);
    std::memcpy(&c, brand + 16 * (e.function - 0x80000002) + 8, 4);
    std::memcpy(&d, brand + 16 * (e.function - 0x80000002) + 12, 4);
  }
  e.eax = a;
  e.ebx = b;
  e.ecx = c;
  e.edx = d;
}

}  // namespace

// The topology kagami presents: one socket of `cpus` cores, one thread each; APIC ID = index.
std::vector<kvm_cpuid_entry2> Machine::guest_cpuid(unsigned vcpu_id) const {
  std::vector<kvm_cpuid_entry2> entries = hypervisor_.supported_cpuid();
  const unsigned cpus = config_.cpus;
  const bool tsc_deadline =
      interrupts_ && hypervisor_.check_extension(KVM_CAP_TSC_DEADLINE_TIMER) > 0;
  unsigned core_bits = 0;
  while ((1u << core_bits) < cpus) core_bits++;
  for (kvm_cpuid_entry2& e : entries) {
    switch (e.function) {
      case 0x1:  // initial APIC ID, logical processor count, "running on a hypervisor"
        e.ebx = (e.ebx & 0x0000ffff) | (vcpu_id << 24) | ((cpus & 0xff) << 16);
        e.ecx |= 1u << 31;
        // KVM leaves TSC-deadline out of KVM_GET_SUPPORTED_CPUID although its in-kernel local
        // APIC has it: the VMM announces it (as QEMU does) when KVM_CAP_TSC_DEADLINE_TIMER says so.
        if (tsc_deadline) e.ecx |= 1u << 24;
        if (cpus > 1)
          e.edx |= 1u << 28;  // HTT: the count in EBX is valid
        else
          e.edx &= ~(1u << 28);
        break;
      case 0x4:  // Intel: cores per package, no sharing of the caches beyond one core
        if (e.eax & 0x1f) e.eax = (e.eax & 0x03ffc3ff) | ((cpus - 1) << 26);
        break;
      case 0xb:  // x2APIC topology: level 0 threads (1), level 1 cores
      case 0x1f:
        if (e.index == 0) {
          e.eax = 0;
          e.ebx = 1;
          e.ecx = 1u << 8;
        } else if (e.index == 1) {
          e.eax = core_bits;
          e.ebx = cpus;
          e.ecx = 1 | (2u << 8);
        } else {
          e.eax = e.ebx = 0;
          e.ecx = e.index;
        }
        e.edx = vcpu_id;
        break;
      case 0x80000001:  // CmpLegacy: the cores of leaf 1 are cores, not threads
        if (cpus > 1)
          e.ecx |= 1u << 1;
        else
          e.ecx &= ~(1u << 1);
        break;
      case 0x80000008:  // AMD: cores per package and the APIC ID bits that number them
        e.ecx = (e.ecx & ~0xf0ffu) | (core_bits << 12) | (cpus - 1);
        break;
      case 0x80000002:
      case 0x80000003:
      case 0x80000004: fill_brand_string(e); break;
      default: break;
    }
  }
  return entries;
}

}  // namespace kagami
