// MMIO emulation of STOS and MOVS, with and without REP: one element per exit, rCX/rSI/rDI and DF.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "emulate_harness.hpp"

namespace kagami::test {
namespace {

constexpr uint64_t kRax = 0x1122334455667788;
constexpr uint64_t kMmioLinear = 0xfeb00000;  // outside the harness RAM

struct SizedCase {
  Encoded insn;
  unsigned size;
};

const SizedCase kStos[] = {
    {{{0xaa}, "stosb"}, 1},
    {{{0x66, 0xab}, "stosw"}, 2},
    {{{0xab}, "stosl"}, 4},
    {{{0x48, 0xab}, "stosq"}, 8},
};

const SizedCase kRepStos[] = {
    {{{0xf3, 0xaa}, "rep stosb"}, 1},
    {{{0x66, 0xf3, 0xab}, "rep stosw"}, 2},
    {{{0xf3, 0xab}, "rep stosl"}, 4},
    {{{0xf3, 0x48, 0xab}, "rep stosq"}, 8},
};

const SizedCase kMovs[] = {
    {{{0xa4}, "movsb"}, 1},
    {{{0x66, 0xa5}, "movsw"}, 2},
    {{{0xa5}, "movsl"}, 4},
    {{{0x48, 0xa5}, "movsq"}, 8},
};

uint64_t mask(unsigned size) {
  return size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

TEST(EmulateString, StosWritesRaxAndStepsRdiByDf) {
  for (bool df : {false, true}) {
    for (const SizedCase& c : kStos) {
      SCOPED_TRACE(testing::Message() << c.insn.text << " df=" << df);
      EmulHarness h;
      h.regs.gpr[KAGAMI_RAX] = kRax;
      h.regs.gpr[KAGAMI_RDI] = 0x5000;
      h.regs.gpr[KAGAMI_RCX] = 7;
      h.regs.rip = 0x100;
      if (df) h.regs.rflags |= KAGAMI_FLAG_DF;
      ASSERT_EQ(h.start(c.insn.bytes, 64), KAGAMI_EMUL_MMIO_EXIT);
      EXPECT_TRUE(h.emul.mmio.is_write);
      EXPECT_EQ(h.emul.mmio.gpa, kMmioGpa);
      EXPECT_EQ(h.emul.mmio.len, c.size);
      EXPECT_EQ(h.written(), kRax & mask(c.size));
      EXPECT_EQ(h.regs.gpr[KAGAMI_RDI], df ? 0x5000 - c.size : 0x5000 + c.size);
      EXPECT_EQ(h.regs.gpr[KAGAMI_RCX], 7u);  // no REP: the count is not used
      EXPECT_EQ(h.regs.rip, 0x100 + c.insn.bytes.size());
      EXPECT_EQ(kagami_emulate_complete(&h.emul, nullptr, 0), KAGAMI_EMUL_DONE);
    }
  }
}

// The guest re-executes a REP instruction after every element, as it faults on each one.
TEST(EmulateString, RepStosIsOneElementPerExitUntilRcxIsZero) {
  for (const SizedCase& c : kRepStos) {
    SCOPED_TRACE(c.insn.text);
    EmulHarness h;
    h.regs.gpr[KAGAMI_RAX] = kRax;
    h.regs.gpr[KAGAMI_RDI] = 0x5000;
    h.regs.gpr[KAGAMI_RCX] = 3;
    h.regs.rip = 0x100;
    for (uint64_t left = 3; left > 0; --left) {
      ASSERT_EQ(h.start(c.insn.bytes, 64), KAGAMI_EMUL_MMIO_EXIT);
      EXPECT_EQ(h.emul.mmio.len, c.size);
      EXPECT_EQ(h.written(), kRax & mask(c.size));
      EXPECT_EQ(h.regs.gpr[KAGAMI_RCX], left - 1);
      EXPECT_EQ(h.regs.gpr[KAGAMI_RDI], 0x5000 + (4 - left) * c.size);
      // RIP stays on the instruction until the last element.
      EXPECT_EQ(h.regs.rip, left == 1 ? 0x100 + c.insn.bytes.size() : 0x100);
      ASSERT_EQ(kagami_emulate_complete(&h.emul, nullptr, 0), KAGAMI_EMUL_DONE);
    }
  }
}

TEST(EmulateString, RepWithZeroCountOnlyAdvancesRip) {
  for (const Encoded& e :
       {Encoded{{0xf3, 0xab}, "rep stosl"}, Encoded{{0xf3, 0xa4}, "rep movsb"}}) {
    SCOPED_TRACE(e.text);
    EmulHarness h;
    h.regs.gpr[KAGAMI_RCX] = 0;
    h.regs.gpr[KAGAMI_RDI] = 0x5000;
    h.regs.gpr[KAGAMI_RSI] = kRamBase;
    h.regs.rip = 0x100;
    EXPECT_EQ(h.start(e.bytes, 64), KAGAMI_EMUL_DONE);
    EXPECT_EQ(h.regs.rip, 0x102u);
    EXPECT_EQ(h.regs.gpr[KAGAMI_RDI], 0x5000u);
    EXPECT_EQ(h.regs.gpr[KAGAMI_RSI], kRamBase);
    EXPECT_EQ(h.ram_reads, 0);
  }
}

TEST(EmulateString, Addr32RepStosUsesEcxAndEdiAndClearsTheirUpperHalves) {
  const Bytes addr32_rep_stosl = {0x67, 0xf3, 0xab};  // addr32 rep stosl
  EmulHarness h;
  h.regs.gpr[KAGAMI_RDI] = 0x1fffffffc;
  h.regs.gpr[KAGAMI_RCX] = 0x100000001;
  ASSERT_EQ(h.start(addr32_rep_stosl, 64), KAGAMI_EMUL_MMIO_EXIT);
  EXPECT_EQ(h.regs.gpr[KAGAMI_RCX], 0u);
  EXPECT_EQ(h.regs.gpr[KAGAMI_RDI], 0u);
  EXPECT_EQ(h.regs.rip, 3u);
  // With ECX = 0 (the upper half of RCX set) nothing is stored.
  EmulHarness zero;
  zero.regs.gpr[KAGAMI_RCX] = 0x100000000;
  EXPECT_EQ(zero.start(addr32_rep_stosl, 64), KAGAMI_EMUL_DONE);
  EXPECT_EQ(zero.regs.gpr[KAGAMI_RCX], 0x100000000u);
}

TEST(EmulateString, SixteenBitRepStosWrapsDiAndKeepsTheUpperBits) {
  const Bytes rep_stosb = {0xf3, 0xaa};  // rep stosb (16-bit)
  EmulHarness h;
  h.regs.gpr[KAGAMI_RDI] = 0xabcd0000ffff;
  h.regs.gpr[KAGAMI_RCX] = 0x12340002;
  h.regs.gpr[KAGAMI_RAX] = 0x5a;
  ASSERT_EQ(h.start(rep_stosb, 16), KAGAMI_EMUL_MMIO_EXIT);
  EXPECT_EQ(h.written(), 0x5au);
  EXPECT_EQ(h.regs.gpr[KAGAMI_RDI], 0xabcd00000000u);
  EXPECT_EQ(h.regs.gpr[KAGAMI_RCX], 0x12340001u);
  EXPECT_EQ(h.regs.rip, 0u);
  uint64_t linear = 0;
  ASSERT_EQ(kagami_insn_linear_addr(&h.emul.insn, &h.regs, &linear), 0);
  EXPECT_EQ(linear, 0u);  // ES base 0 + DI
}

TEST(EmulateString, MovsFromRamToMmioIsAWriteExit) {
  for (bool df : {false, true}) {
    for (const SizedCase& c : kMovs) {
      SCOPED_TRACE(testing::Message() << c.insn.text << " df=" << df);
      EmulHarness h;
      for (size_t i = 0; i < h.ram.size(); ++i) h.ram[i] = static_cast<uint8_t>(i * 3 + 1);
      h.regs.gpr[KAGAMI_RSI] = kRamBase + 0x80;
      h.regs.gpr[KAGAMI_RDI] = kMmioLinear;
      if (df) h.regs.rflags |= KAGAMI_FLAG_DF;
      ASSERT_EQ(h.start(c.insn.bytes, 64), KAGAMI_EMUL_MMIO_EXIT);
      EXPECT_TRUE(h.emul.mmio.is_write);
      EXPECT_EQ(h.emul.mmio.gpa, kMmioGpa);
      EXPECT_EQ(h.emul.mmio.len, c.size);
      EXPECT_EQ(h.written(), h.ram_value(kRamBase + 0x80, c.size));
      uint64_t step = df ? -uint64_t{c.size} : c.size;
      EXPECT_EQ(h.regs.gpr[KAGAMI_RSI], kRamBase + 0x80 + step);
      EXPECT_EQ(h.regs.gpr[KAGAMI_RDI], kMmioLinear + step);
      EXPECT_EQ(h.regs.rip, c.insn.bytes.size());
      EXPECT_EQ(h.ram_writes, 0);
    }
  }
}

TEST(EmulateString, MovsFromMmioToRamIsAReadExitThenARamWrite) {
  for (const SizedCase& c : kMovs) {
    SCOPED_TRACE(c.insn.text);
    EmulHarness h;
    h.regs.gpr[KAGAMI_RSI] = kMmioLinear;
    h.regs.gpr[KAGAMI_RDI] = kRamBase + 0x40;
    ASSERT_EQ(h.start(c.insn.bytes, 64), KAGAMI_EMUL_MMIO_EXIT);
    EXPECT_FALSE(h.emul.mmio.is_write);
    EXPECT_EQ(h.emul.mmio.len, c.size);
    EXPECT_EQ(h.regs.rip, 0u);
    EXPECT_EQ(h.regs.gpr[KAGAMI_RSI], kMmioLinear);
    ASSERT_EQ(h.complete(0x0102030405060708), KAGAMI_EMUL_DONE);
    EXPECT_EQ(h.ram_value(kRamBase + 0x40, c.size), 0x0102030405060708 & mask(c.size));
    EXPECT_EQ(h.ram_value(kRamBase + 0x40 + c.size, 1), 0u);  // nothing beyond the element
    EXPECT_EQ(h.regs.gpr[KAGAMI_RSI], kMmioLinear + c.size);
    EXPECT_EQ(h.regs.gpr[KAGAMI_RDI], kRamBase + 0x40 + c.size);
    EXPECT_EQ(h.regs.rip, c.insn.bytes.size());
  }
}

TEST(EmulateString, RepMovsqBackwardsFromMmio) {
  const Bytes rep_movsq = {0xf3, 0x48, 0xa5};  // rep movsq
  EmulHarness h;
  h.regs.gpr[KAGAMI_RSI] = kMmioLinear + 8;
  h.regs.gpr[KAGAMI_RDI] = kRamBase + 0x108;
  h.regs.gpr[KAGAMI_RCX] = 2;
  h.regs.rflags |= KAGAMI_FLAG_DF;
  h.regs.rip = 0x40;
  ASSERT_EQ(h.start(rep_movsq, 64), KAGAMI_EMUL_MMIO_EXIT);
  ASSERT_EQ(h.complete(0x1111111111111111), KAGAMI_EMUL_DONE);
  EXPECT_EQ(h.regs.rip, 0x40u);
  EXPECT_EQ(h.regs.gpr[KAGAMI_RCX], 1u);
  ASSERT_EQ(h.start(rep_movsq, 64), KAGAMI_EMUL_MMIO_EXIT);
  ASSERT_EQ(h.complete(0x2222222222222222), KAGAMI_EMUL_DONE);
  EXPECT_EQ(h.regs.rip, 0x43u);
  EXPECT_EQ(h.regs.gpr[KAGAMI_RCX], 0u);
  EXPECT_EQ(h.ram_value(kRamBase + 0x108, 8), 0x1111111111111111u);
  EXPECT_EQ(h.ram_value(kRamBase + 0x100, 8), 0x2222222222222222u);
  EXPECT_EQ(h.regs.gpr[KAGAMI_RSI], kMmioLinear - 8);
  EXPECT_EQ(h.regs.gpr[KAGAMI_RDI], kRamBase + 0xf8);
}

TEST(EmulateString, MovsSourceSegmentOverrideAndLegacySegmentBases) {
  // 64-bit: FS base applies to the source; ES:RDI has no base.
  const Bytes fs_rep_movsl = {0x64, 0xf3, 0xa5};  // rep movsl %fs:(%rsi),%es:(%rdi)
  EmulHarness h;
  h.regs.seg_base[KAGAMI_SEG_FS] = kRamBase;
  h.regs.seg_base[KAGAMI_SEG_ES] = 0x123000;  // ignored in 64-bit mode
  h.regs.gpr[KAGAMI_RSI] = 0x20;
  h.regs.gpr[KAGAMI_RDI] = kMmioLinear;
  h.regs.gpr[KAGAMI_RCX] = 1;
  h.ram[0x20] = 0xef;
  h.ram[0x21] = 0xbe;
  ASSERT_EQ(h.start(fs_rep_movsl, 64), KAGAMI_EMUL_MMIO_EXIT);
  EXPECT_TRUE(h.emul.mmio.is_write);
  EXPECT_EQ(h.written(), 0xbeefu);
  // 32-bit: DS base for the source, ES base for the destination.
  const Bytes rep_movsw = {0x66, 0xf3, 0xa5};  // rep movsw (32-bit)
  EmulHarness p;
  p.regs.seg_base[KAGAMI_SEG_DS] = 0xfe000000;
  p.regs.seg_base[KAGAMI_SEG_ES] = kRamBase - 0x1000;
  p.regs.gpr[KAGAMI_RSI] = 0x10;
  p.regs.gpr[KAGAMI_RDI] = 0x1010;
  p.regs.gpr[KAGAMI_RCX] = 5;
  ASSERT_EQ(p.start(rep_movsw, 32), KAGAMI_EMUL_MMIO_EXIT);
  EXPECT_FALSE(p.emul.mmio.is_write);
  ASSERT_EQ(p.complete(0xcafe), KAGAMI_EMUL_DONE);
  EXPECT_EQ(p.ram_value(kRamBase + 0x10, 2), 0xcafeu);
  EXPECT_EQ(p.regs.gpr[KAGAMI_RCX], 4u);
  EXPECT_EQ(p.regs.gpr[KAGAMI_RSI], 0x12u);
  EXPECT_EQ(p.regs.gpr[KAGAMI_RDI], 0x1012u);
}

TEST(EmulateString, MovsErrorsLeaveTheGuestUntouched) {
  const Bytes movsb = {0xa4};
  // The page walk of the RAM side faults: the error is returned, nothing changes.
  EmulHarness h;
  kagami_emul_ops faulting{[](void*, uint64_t, void*, unsigned) { return -EFAULT; },
                           [](void*, uint64_t, const void*, unsigned) { return -EFAULT; }};
  h.emul.ops = &faulting;
  h.regs.gpr[KAGAMI_RSI] = 0x10;
  EXPECT_EQ(h.start(movsb, 64), -EFAULT);
  EXPECT_EQ(h.regs.rip, 0u);
  EXPECT_EQ(h.regs.gpr[KAGAMI_RSI], 0x10u);
  EXPECT_EQ(h.emul.state, KAGAMI_EMUL_IDLE);
  // No RAM callbacks at all: refused.
  h.emul.ops = nullptr;
  EXPECT_EQ(h.start(movsb, 64), -EINVAL);
  // MMIO to MMIO is not supported: refused when the destination turns out not to be RAM.
  EmulHarness both;
  both.regs.gpr[KAGAMI_RSI] = kMmioLinear;
  both.regs.gpr[KAGAMI_RDI] = kMmioLinear + 0x100;
  ASSERT_EQ(both.start(movsb, 64), KAGAMI_EMUL_MMIO_EXIT);
  EXPECT_EQ(both.complete(0x12), -EINVAL);
  EXPECT_EQ(both.regs.rip, 0u);
  EXPECT_EQ(both.regs.gpr[KAGAMI_RSI], kMmioLinear);
}

}  // namespace
}  // namespace kagami::test
