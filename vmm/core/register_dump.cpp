// Human-readable vCPU register dumps for fatal exits.
#include "core/register_dump.hpp"

#include <cinttypes>
#include <cstdio>

namespace kagami {
namespace {

void append(std::string& out, const char* fmt, auto... args) {
  char line[256];
  std::snprintf(line, sizeof(line), fmt, args...);
  out += line;
}

void append_segment(std::string& out, const char* name, const kvm_segment& s) {
  append(out, "%-3s=%04x %016" PRIx64 " %08x type=%x dpl=%u db=%u l=%u g=%u present=%u\n", name,
         s.selector, static_cast<uint64_t>(s.base), s.limit, s.type, s.dpl, s.db, s.l, s.g,
         s.present);
}

}  // namespace

std::string format_registers(const Vcpu& vcpu) {
  std::string out;
  append(out, "vCPU %u registers:\n", vcpu.id());
  try {
    kvm_regs r = vcpu.regs();
    append(out, "RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n", r.rax, r.rbx, r.rcx, r.rdx);
    append(out, "RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n", r.rsi, r.rdi, r.rbp, r.rsp);
    append(out, "R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n", r.r8, r.r9, r.r10, r.r11);
    append(out, "R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n", r.r12, r.r13, r.r14, r.r15);
    append(out, "RIP=%016llx RFL=%08llx\n", r.rip, r.rflags);
  } catch (const std::exception& e) {
    append(out, "(general registers unavailable: %s)\n", e.what());
  }
  try {
    kvm_sregs s = vcpu.sregs();
    append_segment(out, "CS", s.cs);
    append_segment(out, "DS", s.ds);
    append_segment(out, "ES", s.es);
    append_segment(out, "FS", s.fs);
    append_segment(out, "GS", s.gs);
    append_segment(out, "SS", s.ss);
    append_segment(out, "TR", s.tr);
    append_segment(out, "LDT", s.ldt);
    append(out, "GDT=     %016llx %08x\n", s.gdt.base, s.gdt.limit);
    append(out, "IDT=     %016llx %08x\n", s.idt.base, s.idt.limit);
    append(out, "CR0=%08llx CR2=%016llx CR3=%016llx CR4=%08llx\n", s.cr0, s.cr2, s.cr3, s.cr4);
    append(out, "CR8=%016llx EFER=%016llx APIC_BASE=%016llx\n", s.cr8, s.efer, s.apic_base);
  } catch (const std::exception& e) {
    append(out, "(system registers unavailable: %s)\n", e.what());
  }
  return out;
}

}  // namespace kagami
