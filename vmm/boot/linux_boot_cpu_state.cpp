// The machine state of the Linux 64-bit boot protocol: GDT, identity page tables, vCPU registers.
#include "linux_boot_cpu_state.hpp"

#include "kagami/le_bytes.hpp"

namespace kagami {
namespace {

constexpr uint64_t kPageSize = 0x1000;
constexpr uint64_t kLargePageSize = 2ull << 20;
constexpr uint64_t kGiB = 1ull << 30;

// Page table entry bits.
constexpr uint64_t kPresent = 1u << 0;
constexpr uint64_t kWritable = 1u << 1;
constexpr uint64_t kLargePage = 1u << 7;  // PS in a page directory entry: a 2 MiB page

// Segment descriptor type and flags as KVM's kvm_segment spells them.
constexpr uint8_t kCodeExecuteReadAccessed = 0xb;
constexpr uint8_t kDataReadWriteAccessed = 0x3;
constexpr uint8_t kBusyTss64 = 0xb;

constexpr uint64_t kCr0Pe = 1u << 0;
constexpr uint64_t kCr0Et = 1u << 4;
constexpr uint64_t kCr0Pg = 1u << 31;
constexpr uint64_t kCr4Pae = 1u << 5;
constexpr uint64_t kEferLme = 1u << 8;
constexpr uint64_t kEferLma = 1u << 10;

// A GDT descriptor: base 0, limit 0xfffff in 4 KiB units (4 GiB), present, DPL 0, code or data.
// access = P | DPL | S | type; flags = G | D/B | L.
constexpr uint64_t descriptor(uint8_t access, uint8_t flags) {
  return 0xffffull | (uint64_t{access} << 40) | (0xfull << 48) | (uint64_t{flags} << 52);
}
constexpr uint8_t kAccessPresentCodeOrData = 0x90;  // P = 1, DPL = 0, S = 1
constexpr uint8_t kFlagsGranularity = 0x8;
constexpr uint8_t kFlagsDefault32 = 0x4;  // D/B
constexpr uint8_t kFlagsLong = 0x2;       // L

void put_le64(std::vector<uint8_t>& bytes, uint64_t offset, uint64_t value) {
  store_le(std::span(bytes).subspan(offset, 8), value);
}

kvm_segment boot_segment(uint16_t selector, uint8_t type, bool long_mode) {
  kvm_segment s{};
  s.base = 0;
  s.limit = 0xffffffff;
  s.selector = selector;
  s.type = type;
  s.present = 1;
  s.dpl = 0;
  s.db = long_mode ? 0 : 1;  // D must be 0 when L is 1
  s.s = 1;
  s.l = long_mode ? 1 : 0;
  s.g = 1;
  return s;
}

}  // namespace

std::vector<uint8_t> linux_boot_gdt() {
  std::vector<uint8_t> gdt(4 * 8, 0);
  put_le64(gdt, kLinuxBootCs,
           descriptor(kAccessPresentCodeOrData | kCodeExecuteReadAccessed,
                      kFlagsGranularity | kFlagsLong));
  put_le64(gdt, kLinuxBootDs,
           descriptor(kAccessPresentCodeOrData | kDataReadWriteAccessed,
                      kFlagsGranularity | kFlagsDefault32));
  return gdt;
}

std::vector<uint8_t> linux_identity_page_tables(uint64_t base) {
  std::vector<uint8_t> tables(kLinuxPageTablesSize, 0);
  const uint64_t pdpt = base + kPageSize;
  const uint64_t first_pd = base + 2 * kPageSize;
  put_le64(tables, 0, pdpt | kPresent | kWritable);
  const uint64_t directories = kLinuxIdentityMapEnd / kGiB;
  for (uint64_t gib = 0; gib < directories; ++gib) {
    const uint64_t pd = first_pd + gib * kPageSize;
    put_le64(tables, kPageSize + gib * 8, pd | kPresent | kWritable);
    for (uint64_t i = 0; i < 512; ++i) {
      const uint64_t address = gib * kGiB + i * kLargePageSize;
      put_le64(tables, pd - base + i * 8, address | kPresent | kWritable | kLargePage);
    }
  }
  return tables;
}

kvm_regs linux_entry_regs(const LinuxEntry& entry) {
  kvm_regs regs{};
  regs.rip = entry.entry;
  regs.rsi = entry.zero_page_addr;
  regs.rsp = entry.stack_top;
  regs.rflags = 0x2;
  return regs;
}

void set_linux_entry_sregs(const LinuxEntry& entry, kvm_sregs& sregs) {
  sregs.cs = boot_segment(kLinuxBootCs, kCodeExecuteReadAccessed, true);
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss =
      boot_segment(kLinuxBootDs, kDataReadWriteAccessed, false);
  sregs.tr.base = 0;
  sregs.tr.limit = 0xffff;
  sregs.tr.selector = 0;
  sregs.tr.type = kBusyTss64;
  sregs.tr.present = 1;
  sregs.tr.s = 0;
  sregs.tr.unusable = 0;
  sregs.gdt.base = entry.gdt_base;
  sregs.gdt.limit = entry.gdt_limit;
  sregs.idt.base = 0;
  sregs.idt.limit = 0;
  sregs.cr0 = kCr0Pe | kCr0Et | kCr0Pg;
  sregs.cr3 = entry.page_table_root;
  sregs.cr4 = kCr4Pae;
  sregs.efer = kEferLme | kEferLma;
}

}  // namespace kagami
