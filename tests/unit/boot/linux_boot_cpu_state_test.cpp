// The 64-bit entry state of the Linux loader: page tables walked as the CPU would, GDT, registers.
#include "linux_boot_cpu_state.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "bzimage_builder.hpp"
#include "e820.hpp"
#include "guest_reader.hpp"

namespace kagami::test {
namespace {

constexpr uint64_t kPresent = 1, kWritable = 2, kLargePage = 0x80;
constexpr uint64_t kAddressMask = 0x000f'ffff'ffff'f000;

struct Loaded {
  GuestMemory memory{64 * kMiB};
  LinuxEntry entry;
  Loaded() {
    entry = load_linux(memory, "bzImage", build_bzimage({}), pattern(0x3000, 4), "console=ttyS0",
                       pc_memory_map(memory), 0xf0000);
  }
};

// A 4-level walk of a 48-bit virtual address from CR3, as the MMU does it; nothing when a level
// is not present. Requires writable at every level and a 2 MiB page at the directory level.
std::optional<uint64_t> translate(const GuestMemory& memory, uint64_t cr3, uint64_t va) {
  uint64_t table = cr3 & kAddressMask;
  for (int level = 3; level >= 1; --level) {
    const uint64_t index = (va >> (12 + 9 * level)) & 0x1ff;
    const uint64_t pte = guest_le(memory, table + index * 8, 8);
    if (!(pte & kPresent)) return std::nullopt;
    EXPECT_TRUE(pte & kWritable) << "level " << level << " entry for " << va;
    if (level == 1) {
      EXPECT_TRUE(pte & kLargePage) << "a 2 MiB page";
      return (pte & kAddressMask & ~0x1fffffull) | (va & 0x1fffff);
    }
    EXPECT_FALSE(pte & kLargePage) << "no 1 GiB pages: level " << level;
    table = pte & kAddressMask;
  }
  return std::nullopt;
}

TEST(LinuxBootCpuState, PageTablesIdentityMapTheFirst4GiB) {
  Loaded loaded;
  const uint64_t cr3 = loaded.entry.page_table_root;
  for (uint64_t va : {0x0ull, 0x7000ull, 0x20000ull, 0x1000200ull, 0x1fffffull, 0x200000ull,
                      0x3ffd123ull, 0xbfffffffull, 0xc0000000ull, 0xfec00000ull, 0xfee00000ull,
                      0xffffffffull, 0x7fffffffull, 0x40000000ull, 0x80000000ull})
    EXPECT_EQ(translate(loaded.memory, cr3, va), va) << std::hex << va;
  for (uint64_t va = 0; va < (4ull << 30); va += 2 * kMiB + 0x1234)
    ASSERT_EQ(translate(loaded.memory, cr3, va), va) << std::hex << va;
}

TEST(LinuxBootCpuState, NothingAbove4GiBIsMapped) {
  Loaded loaded;
  const uint64_t cr3 = loaded.entry.page_table_root;
  EXPECT_EQ(translate(loaded.memory, cr3, 4ull << 30), std::nullopt);
  EXPECT_EQ(translate(loaded.memory, cr3, 1ull << 39), std::nullopt);
  EXPECT_EQ(translate(loaded.memory, cr3, 0xffff'ffff'8100'0000), std::nullopt);
}

TEST(LinuxBootCpuState, PageTablesDoNotOverlapTheOtherBootStructures) {
  Loaded loaded;
  const LinuxEntry& e = loaded.entry;
  const uint64_t tables_end = e.page_table_root + kLinuxPageTablesSize;
  EXPECT_EQ(e.page_table_root % 0x1000, 0u);
  EXPECT_LE(tables_end, 0x9fc00u);
  struct Range {
    uint64_t start, end;
  };
  for (Range r :
       {Range{e.zero_page_addr, e.zero_page_addr + 0x1000},
        Range{e.cmdline_addr, e.cmdline_addr + kLinuxCmdlineAreaSize},
        Range{e.gdt_base, e.gdt_base + e.gdt_limit + 1u}, Range{e.stack_top - 0x1000, e.stack_top}})
    EXPECT_TRUE(r.end <= e.page_table_root || r.start >= tables_end) << std::hex << r.start;
}

// A GDT descriptor's fields, decoded from its 8 bytes as the CPU reads them.
struct Descriptor {
  uint64_t base, limit;
  unsigned type, s, dpl, present, l, db, g;
};

Descriptor decode(uint64_t d) {
  return {((d >> 16) & 0xffffff) | ((d >> 56) << 24), (d & 0xffff) | (((d >> 48) & 0xf) << 16),
          static_cast<unsigned>((d >> 40) & 0xf),     static_cast<unsigned>((d >> 44) & 1),
          static_cast<unsigned>((d >> 45) & 3),       static_cast<unsigned>((d >> 47) & 1),
          static_cast<unsigned>((d >> 53) & 1),       static_cast<unsigned>((d >> 54) & 1),
          static_cast<unsigned>((d >> 55) & 1)};
}

// The cached segment KVM gets must be what the CPU would load from the GDT for that selector.
void expect_matches(const kvm_segment& s, const Descriptor& d) {
  EXPECT_EQ(s.base, d.base);
  EXPECT_EQ(s.limit, d.g ? (d.limit << 12) | 0xfff : d.limit);
  EXPECT_EQ(s.type, d.type);
  EXPECT_EQ(s.s, d.s);
  EXPECT_EQ(s.dpl, d.dpl);
  EXPECT_EQ(s.present, d.present);
  EXPECT_EQ(s.l, d.l);
  EXPECT_EQ(s.db, d.db);
  EXPECT_EQ(s.g, d.g);
}

TEST(LinuxBootCpuState, GdtHasBootCsAndBootDs) {
  Loaded loaded;
  const LinuxEntry& e = loaded.entry;
  ASSERT_GE(e.gdt_limit + 1u, 0x20u);
  EXPECT_EQ(guest_le(loaded.memory, e.gdt_base, 8), 0u) << "null descriptor";
  Descriptor cs = decode(guest_le(loaded.memory, e.gdt_base + 0x10, 8));
  EXPECT_EQ(cs.present, 1u);
  EXPECT_EQ(cs.s, 1u);
  EXPECT_EQ(cs.type & 0xa, 0xau) << "code, readable";
  EXPECT_EQ(cs.l, 1u);
  EXPECT_EQ(cs.db, 0u) << "D must be clear with L set";
  EXPECT_EQ(cs.dpl, 0u);
  Descriptor ds = decode(guest_le(loaded.memory, e.gdt_base + 0x18, 8));
  EXPECT_EQ(ds.present, 1u);
  EXPECT_EQ(ds.type & 0xa, 0x2u) << "data, writable";
  EXPECT_EQ(ds.base, 0u);
  EXPECT_EQ(ds.limit, 0xfffffu);
  EXPECT_EQ(ds.g, 1u) << "4 GiB flat";
  EXPECT_EQ(ds.db, 1u);

  kvm_sregs sregs{};
  set_linux_entry_sregs(e, sregs);
  expect_matches(sregs.cs, cs);
  for (const kvm_segment* seg : {&sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss})
    expect_matches(*seg, ds);
}

TEST(LinuxBootCpuState, RegistersAtTheEntryPoint) {
  Loaded loaded;
  kvm_regs regs = linux_entry_regs(loaded.entry);
  EXPECT_EQ(regs.rip, 0x1000200u);
  EXPECT_EQ(regs.rsi, 0x7000u);
  EXPECT_EQ(regs.rflags, 0x2u) << "interrupts off";
  EXPECT_EQ(regs.rsp, loaded.entry.stack_top);
  EXPECT_EQ(regs.rsp % 16, 0u);
  EXPECT_EQ(regs.rax | regs.rbx | regs.rcx | regs.rdx | regs.rdi | regs.rbp, 0u);
}

TEST(LinuxBootCpuState, SpecialRegistersForLongMode) {
  Loaded loaded;
  kvm_sregs sregs{};
  sregs.apic_base = 0xfee00900;
  sregs.interrupt_bitmap[0] = 0x5;
  set_linux_entry_sregs(loaded.entry, sregs);
  EXPECT_EQ(sregs.cr0, 0x80000011u) << "PE | ET | PG";
  EXPECT_EQ(sregs.cr4, 0x20u) << "PAE";
  EXPECT_EQ(sregs.efer, 0x500u) << "LME | LMA";
  EXPECT_EQ(sregs.cr3, 0x9000u);
  EXPECT_EQ(sregs.cs.selector, 0x10u);
  EXPECT_EQ(sregs.ds.selector, 0x18u);
  EXPECT_EQ(sregs.ss.selector, 0x18u);
  EXPECT_EQ(sregs.es.selector, 0x18u);
  EXPECT_EQ(sregs.gdt.base, 0x1000u);
  EXPECT_EQ(sregs.gdt.limit, 0x1fu);
  EXPECT_EQ(sregs.tr.type, 0xbu) << "long mode needs a busy 64-bit TSS";
  EXPECT_EQ(sregs.tr.present, 1u);
  EXPECT_EQ(sregs.apic_base, 0xfee00900u) << "left as KVM made it";
  EXPECT_EQ(sregs.interrupt_bitmap[0], 0x5u);
}

TEST(LinuxBootCpuState, StandaloneTablesMatchWhatTheLoaderWrote) {
  Loaded loaded;
  EXPECT_EQ(guest_bytes(loaded.memory, kLinuxPageTablesAddr, kLinuxPageTablesSize),
            linux_identity_page_tables(kLinuxPageTablesAddr));
  EXPECT_EQ(guest_bytes(loaded.memory, kLinuxGdtAddr, 32), linux_boot_gdt());
}

}  // namespace
}  // namespace kagami::test
