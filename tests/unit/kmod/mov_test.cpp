// MMIO emulation of MOV, MOV moffs, MOVZX, MOVSX and MOVSXD: the exit descriptor and completion.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "emulate_harness.hpp"

namespace kagami::test {
namespace {

// Initial value of every GPR: distinct bytes per register, so partial writes show.
constexpr uint64_t pattern(int reg) {
  return 0x8877665544332211 + reg * 0x0101010101010101;
}

void fill_pattern(kagami_emul_regs& regs) {
  for (int i = 0; i < KAGAMI_NR_GPRS; ++i) regs.gpr[i] = pattern(i);
  regs.rip = 0x1000;
  regs.rflags = 0x202 | KAGAMI_FLAG_CF | KAGAMI_FLAG_ZF;
}

struct StoreCase {
  int mode;
  Encoded insn;
  unsigned len;
  uint64_t data;
};

constexpr uint64_t P(int reg) {
  return pattern(reg);
}

const std::vector<StoreCase> kStores = {
    {64, {{0x88, 0x18}, "mov %bl,(%rax)"}, 1, P(KAGAMI_RBX) & 0xff},
    {64, {{0x88, 0x38}, "mov %bh,(%rax)"}, 1, (P(KAGAMI_RBX) >> 8) & 0xff},
    {64, {{0x40, 0x88, 0x30}, "mov %sil,(%rax)"}, 1, P(KAGAMI_RSI) & 0xff},
    {64, {{0x44, 0x88, 0x10}, "mov %r10b,(%rax)"}, 1, P(KAGAMI_R10) & 0xff},
    {64, {{0x66, 0x89, 0x08}, "mov %cx,(%rax)"}, 2, P(KAGAMI_RCX) & 0xffff},
    {64, {{0x89, 0x10}, "mov %edx,(%rax)"}, 4, P(KAGAMI_RDX) & 0xffffffff},
    {64, {{0x4c, 0x89, 0x18}, "mov %r11,(%rax)"}, 8, P(KAGAMI_R11)},
    {64, {{0xc6, 0x00, 0xab}, "movb $0xab,(%rax)"}, 1, 0xab},
    {64, {{0x66, 0xc7, 0x00, 0xef, 0xbe}, "movw $0xbeef,(%rax)"}, 2, 0xbeef},
    {64, {{0xc7, 0x00, 0xef, 0xbe, 0xad, 0xde}, "movl $0xdeadbeef,(%rax)"}, 4, 0xdeadbeef},
    {64,
     {{0x48, 0xc7, 0x00, 0xef, 0xbe, 0xad, 0xde}, "movq $-0x21524111,(%rax)"},
     8,
     0xffffffffdeadbeef},
    {64, {{0x48, 0xc7, 0x00, 0x78, 0x56, 0x34, 0x12}, "movq $0x12345678,(%rax)"}, 8, 0x12345678},
    {64,
     {{0xa2, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, "movabs %al,0x1000"},
     1,
     P(KAGAMI_RAX) & 0xff},
    {64,
     {{0x66, 0xa3, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, "movabs %ax,0x1000"},
     2,
     P(KAGAMI_RAX) & 0xffff},
    {64,
     {{0xa3, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, "movabs %eax,0x1000"},
     4,
     P(KAGAMI_RAX) & 0xffffffff},
    {64,
     {{0x48, 0xa3, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, "movabs %rax,0x1000"},
     8,
     P(KAGAMI_RAX)},
    {32, {{0x88, 0x18}, "mov %bl,(%eax)"}, 1, P(KAGAMI_RBX) & 0xff},
    {32, {{0x88, 0x38}, "mov %bh,(%eax)"}, 1, (P(KAGAMI_RBX) >> 8) & 0xff},
    {32, {{0x66, 0x89, 0x08}, "mov %cx,(%eax)"}, 2, P(KAGAMI_RCX) & 0xffff},
    {32, {{0x89, 0x10}, "mov %edx,(%eax)"}, 4, P(KAGAMI_RDX) & 0xffffffff},
    {32, {{0xc7, 0x00, 0xef, 0xbe, 0xad, 0xde}, "movl $0xdeadbeef,(%eax)"}, 4, 0xdeadbeef},
    {32, {{0xa3, 0x00, 0x10, 0x00, 0x00}, "mov %eax,0x1000"}, 4, P(KAGAMI_RAX) & 0xffffffff},
    {16, {{0x88, 0x1f}, "mov %bl,(%bx)"}, 1, P(KAGAMI_RBX) & 0xff},
    {16, {{0x89, 0x0f}, "mov %cx,(%bx)"}, 2, P(KAGAMI_RCX) & 0xffff},
    {16, {{0x66, 0x89, 0x0f}, "mov %ecx,(%bx)"}, 4, P(KAGAMI_RCX) & 0xffffffff},
    {16, {{0xc7, 0x07, 0xef, 0xbe}, "movw $0xbeef,(%bx)"}, 2, 0xbeef},
    {16, {{0x66, 0xc7, 0x07, 0xef, 0xbe, 0xad, 0xde}, "movl $0xdeadbeef,(%bx)"}, 4, 0xdeadbeef},
};

TEST(EmulateMov, StoresExitWithTheDataAndAdvanceRip) {
  for (const StoreCase& c : kStores) {
    SCOPED_TRACE(testing::Message() << c.mode << "-bit " << c.insn.text);
    EmulHarness h;
    fill_pattern(h.regs);
    const kagami_emul_regs before = h.regs;
    ASSERT_EQ(h.start(c.insn.bytes, c.mode), KAGAMI_EMUL_MMIO_EXIT);
    EXPECT_EQ(h.emul.mmio.gpa, kMmioGpa);
    EXPECT_TRUE(h.emul.mmio.is_write);
    EXPECT_EQ(h.emul.mmio.len, c.len);
    EXPECT_EQ(h.written(), c.data) << std::hex << h.written();
    // The write is committed at the exit: RIP past the instruction, nothing else changed.
    EXPECT_EQ(h.regs.rip, before.rip + c.insn.bytes.size());
    EXPECT_EQ(h.regs.rflags, before.rflags);
    for (int i = 0; i < KAGAMI_NR_GPRS; ++i) EXPECT_EQ(h.regs.gpr[i], before.gpr[i]) << i;
    EXPECT_EQ(kagami_emulate_complete(&h.emul, nullptr, 0), KAGAMI_EMUL_DONE);
    EXPECT_EQ(h.regs.rip, before.rip + c.insn.bytes.size());
  }
}

struct LoadCase {
  int mode;
  Encoded insn;
  unsigned len;     // bytes read from MMIO
  uint64_t value;   // what userspace returns
  int reg;          // the register written
  uint64_t result;  // its whole 64-bit value afterwards
};

const std::vector<LoadCase> kLoads = {
    {64, {{0x8a, 0x18}, "mov (%rax),%bl"}, 1, 0xa5, KAGAMI_RBX, (P(KAGAMI_RBX) & ~0xffull) | 0xa5},
    {64,
     {{0x8a, 0x20}, "mov (%rax),%ah"},
     1,
     0xa5,
     KAGAMI_RAX,
     (P(KAGAMI_RAX) & ~0xff00ull) | 0xa500},
    {64,
     {{0x40, 0x8a, 0x38}, "mov (%rax),%dil"},
     1,
     0xa5,
     KAGAMI_RDI,
     (P(KAGAMI_RDI) & ~0xffull) | 0xa5},
    {64,
     {{0x44, 0x8a, 0x08}, "mov (%rax),%r9b"},
     1,
     0xa5,
     KAGAMI_R9,
     (P(KAGAMI_R9) & ~0xffull) | 0xa5},
    {64,
     {{0x66, 0x8b, 0x08}, "mov (%rax),%cx"},
     2,
     0xa5b6,
     KAGAMI_RCX,
     (P(KAGAMI_RCX) & ~0xffffull) | 0xa5b6},
    {64, {{0x8b, 0x10}, "mov (%rax),%edx"}, 4, 0xa5b6c7d8, KAGAMI_RDX, 0xa5b6c7d8},
    {64,
     {{0x4c, 0x8b, 0x18}, "mov (%rax),%r11"},
     8,
     0xa5b6c7d8e9fa0b1c,
     KAGAMI_R11,
     0xa5b6c7d8e9fa0b1c},
    {64,
     {{0xa0, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, "movabs 0x1000,%al"},
     1,
     0xa5,
     KAGAMI_RAX,
     (P(KAGAMI_RAX) & ~0xffull) | 0xa5},
    {64,
     {{0x66, 0xa1, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, "movabs 0x1000,%ax"},
     2,
     0xa5b6,
     KAGAMI_RAX,
     (P(KAGAMI_RAX) & ~0xffffull) | 0xa5b6},
    {64,
     {{0xa1, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, "movabs 0x1000,%eax"},
     4,
     0xa5b6c7d8,
     KAGAMI_RAX,
     0xa5b6c7d8},
    {64,
     {{0x48, 0xa1, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, "movabs 0x1000,%rax"},
     8,
     0x0123456789abcdef,
     KAGAMI_RAX,
     0x0123456789abcdef},
    {64,
     {{0x66, 0x0f, 0xb6, 0x08}, "movzbw (%rax),%cx"},
     1,
     0x85,
     KAGAMI_RCX,
     (P(KAGAMI_RCX) & ~0xffffull) | 0x85},
    {64, {{0x0f, 0xb6, 0x08}, "movzbl (%rax),%ecx"}, 1, 0x85, KAGAMI_RCX, 0x85},
    {64, {{0x48, 0x0f, 0xb6, 0x08}, "movzbq (%rax),%rcx"}, 1, 0x85, KAGAMI_RCX, 0x85},
    {64, {{0x0f, 0xb7, 0x08}, "movzwl (%rax),%ecx"}, 2, 0x8586, KAGAMI_RCX, 0x8586},
    {64, {{0x48, 0x0f, 0xb7, 0x08}, "movzwq (%rax),%rcx"}, 2, 0x8586, KAGAMI_RCX, 0x8586},
    {64,
     {{0x66, 0x0f, 0xb7, 0x08}, "movzww (%rax),%cx (.byte)"},
     2,
     0x8586,
     KAGAMI_RCX,
     (P(KAGAMI_RCX) & ~0xffffull) | 0x8586},
    {64,
     {{0x66, 0x0f, 0xbe, 0x08}, "movsbw (%rax),%cx"},
     1,
     0x85,
     KAGAMI_RCX,
     (P(KAGAMI_RCX) & ~0xffffull) | 0xff85},
    {64, {{0x0f, 0xbe, 0x08}, "movsbl (%rax),%ecx"}, 1, 0x85, KAGAMI_RCX, 0xffffff85},
    {64, {{0x48, 0x0f, 0xbe, 0x08}, "movsbq (%rax),%rcx"}, 1, 0x85, KAGAMI_RCX, 0xffffffffffffff85},
    {64, {{0x48, 0x0f, 0xbe, 0x08}, "movsbq (%rax),%rcx"}, 1, 0x75, KAGAMI_RCX, 0x75},
    {64, {{0x0f, 0xbf, 0x08}, "movswl (%rax),%ecx"}, 2, 0x8586, KAGAMI_RCX, 0xffff8586},
    {64,
     {{0x48, 0x0f, 0xbf, 0x08}, "movswq (%rax),%rcx"},
     2,
     0x8586,
     KAGAMI_RCX,
     0xffffffffffff8586},
    {64, {{0x48, 0x0f, 0xbf, 0x08}, "movswq (%rax),%rcx"}, 2, 0x7586, KAGAMI_RCX, 0x7586},
    {64, {{0x48, 0x63, 0x08}, "movslq (%rax),%rcx"}, 4, 0x85868788, KAGAMI_RCX, 0xffffffff85868788},
    {64, {{0x48, 0x63, 0x08}, "movslq (%rax),%rcx"}, 4, 0x75868788, KAGAMI_RCX, 0x75868788},
    {64,
     {{0x63, 0x08}, "movsxd (%rax),%ecx (no REX.W: a 32-bit move)"},
     4,
     0x85868788,
     KAGAMI_RCX,
     0x85868788},
    {64, {{0x44, 0x0f, 0xb6, 0x20}, "movzbl (%rax),%r12d"}, 1, 0x85, KAGAMI_R12, 0x85},
    {64, {{0x0f, 0xb6, 0x28}, "movzbl (%rax),%ebp"}, 1, 0x85, KAGAMI_RBP, 0x85},
    {64, {{0x0f, 0xbe, 0x20}, "movsbl (%rax),%esp"}, 1, 0x85, KAGAMI_RSP, 0xffffff85},
    {32,
     {{0x8a, 0x28}, "mov (%eax),%ch"},
     1,
     0xa5,
     KAGAMI_RCX,
     (P(KAGAMI_RCX) & ~0xff00ull) | 0xa500},
    {32, {{0x8b, 0x08}, "mov (%eax),%ecx"}, 4, 0xa5b6c7d8, KAGAMI_RCX, 0xa5b6c7d8},
    {32,
     {{0xa0, 0x00, 0x10, 0x00, 0x00}, "mov 0x1000,%al"},
     1,
     0xa5,
     KAGAMI_RAX,
     (P(KAGAMI_RAX) & ~0xffull) | 0xa5},
    {32, {{0x0f, 0xb6, 0x08}, "movzbl (%eax),%ecx"}, 1, 0x85, KAGAMI_RCX, 0x85},
    {32, {{0x0f, 0xbf, 0x08}, "movswl (%eax),%ecx"}, 2, 0x8586, KAGAMI_RCX, 0xffff8586},
    {16,
     {{0x8a, 0x37}, "mov (%bx),%dh"},
     1,
     0xa5,
     KAGAMI_RDX,
     (P(KAGAMI_RDX) & ~0xff00ull) | 0xa500},
    {16,
     {{0x8b, 0x0f}, "mov (%bx),%cx"},
     2,
     0xa5b6,
     KAGAMI_RCX,
     (P(KAGAMI_RCX) & ~0xffffull) | 0xa5b6},
    {16, {{0x66, 0x8b, 0x0f}, "mov (%bx),%ecx"}, 4, 0xa5b6c7d8, KAGAMI_RCX, 0xa5b6c7d8},
    {16,
     {{0xa1, 0x00, 0x10}, "mov 0x1000,%ax"},
     2,
     0xa5b6,
     KAGAMI_RAX,
     (P(KAGAMI_RAX) & ~0xffffull) | 0xa5b6},
    {16,
     {{0x0f, 0xb6, 0x0f}, "movzbw (%bx),%cx"},
     1,
     0x85,
     KAGAMI_RCX,
     (P(KAGAMI_RCX) & ~0xffffull) | 0x85},
    {16, {{0x66, 0x0f, 0xbe, 0x0f}, "movsbl (%bx),%ecx"}, 1, 0x85, KAGAMI_RCX, 0xffffff85},
};

TEST(EmulateMov, LoadsExitThenWriteTheRegisterOnCompletion) {
  for (const LoadCase& c : kLoads) {
    SCOPED_TRACE(testing::Message() << c.mode << "-bit " << c.insn.text);
    EmulHarness h;
    fill_pattern(h.regs);
    const kagami_emul_regs before = h.regs;
    ASSERT_EQ(h.start(c.insn.bytes, c.mode), KAGAMI_EMUL_MMIO_EXIT);
    EXPECT_EQ(h.emul.mmio.gpa, kMmioGpa);
    EXPECT_FALSE(h.emul.mmio.is_write);
    EXPECT_EQ(h.emul.mmio.len, c.len);
    // Nothing changes until the data is there.
    EXPECT_EQ(h.regs.rip, before.rip);
    for (int i = 0; i < KAGAMI_NR_GPRS; ++i) EXPECT_EQ(h.regs.gpr[i], before.gpr[i]) << i;
    ASSERT_EQ(h.complete(c.value), KAGAMI_EMUL_DONE);
    EXPECT_EQ(h.regs.gpr[c.reg], c.result) << std::hex << h.regs.gpr[c.reg];
    for (int i = 0; i < KAGAMI_NR_GPRS; ++i) {
      if (i == c.reg) continue;
      EXPECT_EQ(h.regs.gpr[i], before.gpr[i]) << i;
    }
    EXPECT_EQ(h.regs.rip, before.rip + c.insn.bytes.size());
    EXPECT_EQ(h.regs.rflags, before.rflags);
  }
}

TEST(EmulateMov, CompletionChecksTheLengthAndTheState) {
  EmulHarness h;
  const Bytes load = {0x8b, 0x10};  // mov (%rax),%edx
  uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  // Nothing pending yet.
  EXPECT_EQ(kagami_emulate_complete(&h.emul, data, 4), -EINVAL);
  ASSERT_EQ(h.start(load, 64), KAGAMI_EMUL_MMIO_EXIT);
  // A second start while a read is pending is refused.
  EXPECT_EQ(kagami_emulate_mmio(&h.emul, kMmioGpa), -EINVAL);
  EXPECT_EQ(kagami_emulate_complete(&h.emul, data, 2), -EINVAL);
  EXPECT_EQ(kagami_emulate_complete(&h.emul, nullptr, 4), -EINVAL);
  EXPECT_EQ(h.regs.rip, 0u);
  EXPECT_EQ(kagami_emulate_complete(&h.emul, data, 4), KAGAMI_EMUL_DONE);
  EXPECT_EQ(h.regs.gpr[KAGAMI_RDX], 0x04030201u);
  EXPECT_EQ(h.regs.rip, 2u);
  EXPECT_EQ(kagami_emulate_complete(&h.emul, data, 4), -EINVAL);
  // An undecoded instruction is refused without touching anything.
  EmulHarness fresh;
  EXPECT_EQ(kagami_emulate_mmio(&fresh.emul, kMmioGpa), -EINVAL);
}

TEST(EmulateMov, RipWrapsAtTheCodeSize) {
  const Bytes store16 = {0x89, 0x0f};  // mov %cx,(%bx)
  EmulHarness h16;
  h16.regs.rip = 0xffff;
  ASSERT_EQ(h16.start(store16, 16), KAGAMI_EMUL_MMIO_EXIT);
  EXPECT_EQ(h16.regs.rip, 1u);
  const Bytes store32 = {0x89, 0x10};  // mov %edx,(%eax)
  EmulHarness h32;
  h32.regs.rip = 0xffffffff;
  ASSERT_EQ(h32.start(store32, 32), KAGAMI_EMUL_MMIO_EXIT);
  EXPECT_EQ(h32.regs.rip, 1u);
  EmulHarness h64;
  h64.regs.rip = 0xffffffff;
  ASSERT_EQ(h64.start(store32, 64), KAGAMI_EMUL_MMIO_EXIT);
  EXPECT_EQ(h64.regs.rip, 0x100000001u);
}

// The guest-physical address is the fault's, whatever the linear address of the operand.
TEST(EmulateMov, TheExitCarriesTheFaultingGpa) {
  EmulHarness h;
  const Bytes rip_relative = {0x8b, 0x05, 0x00, 0x01, 0x00, 0x00};  // mov 0x100(%rip),%eax
  ASSERT_EQ(h.decode(rip_relative, 64), 0);
  ASSERT_EQ(kagami_emulate_mmio(&h.emul, 0xfee00030), KAGAMI_EMUL_MMIO_EXIT);
  EXPECT_EQ(h.emul.mmio.gpa, 0xfee00030u);
  EXPECT_EQ(h.emul.mmio.len, 4u);
}

}  // namespace
}  // namespace kagami::test
