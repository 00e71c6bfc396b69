// MMIO emulation of the ALU operations, TEST and XCHG, checked against the host CPU running them.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "emulate_harness.hpp"

namespace kagami::test {
namespace {

// The oracle: the same operation on the host CPU, flags in and out through PUSHF/POPF. The stack
// pointer skips the red zone first, as the compiler may keep data there.
#define KAGAMI_HOST_ALU(mnemonic)                                             \
  asm volatile("lea -128(%%rsp), %%rsp\n\tpush %[fin]\n\tpopf\n\t" mnemonic   \
               " %[b], %[a]\n\tpushf\n\tpop %[fout]\n\tlea 128(%%rsp), %%rsp" \
               : [a] "+q"(a), [fout] "=&r"(fout)                              \
               : [b] "q"(b), [fin] "r"(fin)                                   \
               : "cc", "memory")

template <typename T>
uint64_t host_alu_typed(int op, T& a, T b, uint64_t fin) {
  uint64_t fout = 0;
  switch (op) {
    case KAGAMI_ALU_ADD: KAGAMI_HOST_ALU("add"); break;
    case KAGAMI_ALU_OR: KAGAMI_HOST_ALU("or"); break;
    case KAGAMI_ALU_ADC: KAGAMI_HOST_ALU("adc"); break;
    case KAGAMI_ALU_SBB: KAGAMI_HOST_ALU("sbb"); break;
    case KAGAMI_ALU_AND: KAGAMI_HOST_ALU("and"); break;
    case KAGAMI_ALU_SUB: KAGAMI_HOST_ALU("sub"); break;
    case KAGAMI_ALU_XOR: KAGAMI_HOST_ALU("xor"); break;
    case KAGAMI_ALU_CMP: KAGAMI_HOST_ALU("cmp"); break;
    default: KAGAMI_HOST_ALU("test"); break;
  }
  return fout;
}

struct HostResult {
  uint64_t value;  // a op b (a unchanged for CMP and TEST)
  uint64_t flags;
};

// a op b at size bytes on the host, with CF = cf beforehand.
HostResult host_alu(int op, unsigned size, uint64_t a, uint64_t b, bool cf) {
  const uint64_t fin = 0x2 | (cf ? KAGAMI_FLAG_CF : 0);
  HostResult r{};
  switch (size) {
    case 1: {
      uint8_t x = static_cast<uint8_t>(a);
      r.flags = host_alu_typed<uint8_t>(op, x, static_cast<uint8_t>(b), fin);
      r.value = x;
      break;
    }
    case 2: {
      uint16_t x = static_cast<uint16_t>(a);
      r.flags = host_alu_typed<uint16_t>(op, x, static_cast<uint16_t>(b), fin);
      r.value = x;
      break;
    }
    case 4: {
      uint32_t x = static_cast<uint32_t>(a);
      r.flags = host_alu_typed<uint32_t>(op, x, static_cast<uint32_t>(b), fin);
      r.value = x;
      break;
    }
    default: {
      uint64_t x = a;
      r.flags = host_alu_typed<uint64_t>(op, x, b, fin);
      r.value = x;
      break;
    }
  }
  return r;
}

uint64_t mask(unsigned size) {
  return size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

bool is_logical(int op) {
  return op == KAGAMI_ALU_OR || op == KAGAMI_ALU_AND || op == KAGAMI_ALU_XOR ||
         op == KAGAMI_ALU_TEST;
}

// AF is undefined after the logical operations: not compared there.
uint64_t compared_flags(int op) {
  return KAGAMI_FLAGS_ARITH & ~(is_logical(op) ? uint64_t{KAGAMI_FLAG_AF} : 0);
}

// Operand values that reach every carry, overflow, parity and zero edge, at each size.
std::vector<uint64_t> edge_values(unsigned size) {
  const uint64_t m = mask(size), sign = 1ull << (8 * size - 1);
  std::vector<uint64_t> v = {0,
                             1,
                             2,
                             0x0f,
                             0x10,
                             0x7f,
                             0x80,
                             0xff,
                             sign - 1,
                             sign,
                             sign + 1,
                             m - 1,
                             m,
                             0x5a5a5a5a5a5a5a5a,
                             0xa5a5a5a5a5a5a5a5,
                             0x0123456789abcdef,
                             0xfedcba9876543210};
  for (uint64_t& x : v) x &= m;
  return v;
}

enum Form {
  kStore,  // op %reg,(mem): memory is the destination
  kLoad,   // op (mem),%reg: the register is the destination
  kImm,    // op $imm,(mem)
};

struct AluCase {
  Encoded insn;
  int op;
  unsigned size;
  Form form;
  int64_t imm;
};

// Bytes from `as`; the register operand is always RCX (CL, CX, ECX, RCX), memory at (%rax).
const std::vector<AluCase> kAluCases = {
    {{{0x00, 0x08}, "addb %cl,(%rax)"}, KAGAMI_ALU_ADD, 1, kStore, 0},
    {{{0x66, 0x01, 0x08}, "addw %cx,(%rax)"}, KAGAMI_ALU_ADD, 2, kStore, 0},
    {{{0x01, 0x08}, "addl %ecx,(%rax)"}, KAGAMI_ALU_ADD, 4, kStore, 0},
    {{{0x48, 0x01, 0x08}, "addq %rcx,(%rax)"}, KAGAMI_ALU_ADD, 8, kStore, 0},
    {{{0x08, 0x08}, "orb %cl,(%rax)"}, KAGAMI_ALU_OR, 1, kStore, 0},
    {{{0x66, 0x09, 0x08}, "orw %cx,(%rax)"}, KAGAMI_ALU_OR, 2, kStore, 0},
    {{{0x09, 0x08}, "orl %ecx,(%rax)"}, KAGAMI_ALU_OR, 4, kStore, 0},
    {{{0x48, 0x09, 0x08}, "orq %rcx,(%rax)"}, KAGAMI_ALU_OR, 8, kStore, 0},
    {{{0x10, 0x08}, "adcb %cl,(%rax)"}, KAGAMI_ALU_ADC, 1, kStore, 0},
    {{{0x66, 0x11, 0x08}, "adcw %cx,(%rax)"}, KAGAMI_ALU_ADC, 2, kStore, 0},
    {{{0x11, 0x08}, "adcl %ecx,(%rax)"}, KAGAMI_ALU_ADC, 4, kStore, 0},
    {{{0x48, 0x11, 0x08}, "adcq %rcx,(%rax)"}, KAGAMI_ALU_ADC, 8, kStore, 0},
    {{{0x18, 0x08}, "sbbb %cl,(%rax)"}, KAGAMI_ALU_SBB, 1, kStore, 0},
    {{{0x66, 0x19, 0x08}, "sbbw %cx,(%rax)"}, KAGAMI_ALU_SBB, 2, kStore, 0},
    {{{0x19, 0x08}, "sbbl %ecx,(%rax)"}, KAGAMI_ALU_SBB, 4, kStore, 0},
    {{{0x48, 0x19, 0x08}, "sbbq %rcx,(%rax)"}, KAGAMI_ALU_SBB, 8, kStore, 0},
    {{{0x20, 0x08}, "andb %cl,(%rax)"}, KAGAMI_ALU_AND, 1, kStore, 0},
    {{{0x66, 0x21, 0x08}, "andw %cx,(%rax)"}, KAGAMI_ALU_AND, 2, kStore, 0},
    {{{0x21, 0x08}, "andl %ecx,(%rax)"}, KAGAMI_ALU_AND, 4, kStore, 0},
    {{{0x48, 0x21, 0x08}, "andq %rcx,(%rax)"}, KAGAMI_ALU_AND, 8, kStore, 0},
    {{{0x28, 0x08}, "subb %cl,(%rax)"}, KAGAMI_ALU_SUB, 1, kStore, 0},
    {{{0x66, 0x29, 0x08}, "subw %cx,(%rax)"}, KAGAMI_ALU_SUB, 2, kStore, 0},
    {{{0x29, 0x08}, "subl %ecx,(%rax)"}, KAGAMI_ALU_SUB, 4, kStore, 0},
    {{{0x48, 0x29, 0x08}, "subq %rcx,(%rax)"}, KAGAMI_ALU_SUB, 8, kStore, 0},
    {{{0x30, 0x08}, "xorb %cl,(%rax)"}, KAGAMI_ALU_XOR, 1, kStore, 0},
    {{{0x66, 0x31, 0x08}, "xorw %cx,(%rax)"}, KAGAMI_ALU_XOR, 2, kStore, 0},
    {{{0x31, 0x08}, "xorl %ecx,(%rax)"}, KAGAMI_ALU_XOR, 4, kStore, 0},
    {{{0x48, 0x31, 0x08}, "xorq %rcx,(%rax)"}, KAGAMI_ALU_XOR, 8, kStore, 0},
    {{{0x38, 0x08}, "cmpb %cl,(%rax)"}, KAGAMI_ALU_CMP, 1, kStore, 0},
    {{{0x66, 0x39, 0x08}, "cmpw %cx,(%rax)"}, KAGAMI_ALU_CMP, 2, kStore, 0},
    {{{0x39, 0x08}, "cmpl %ecx,(%rax)"}, KAGAMI_ALU_CMP, 4, kStore, 0},
    {{{0x48, 0x39, 0x08}, "cmpq %rcx,(%rax)"}, KAGAMI_ALU_CMP, 8, kStore, 0},
    {{{0x02, 0x08}, "addb (%rax),%cl"}, KAGAMI_ALU_ADD, 1, kLoad, 0},
    {{{0x66, 0x03, 0x08}, "addw (%rax),%cx"}, KAGAMI_ALU_ADD, 2, kLoad, 0},
    {{{0x03, 0x08}, "addl (%rax),%ecx"}, KAGAMI_ALU_ADD, 4, kLoad, 0},
    {{{0x48, 0x03, 0x08}, "addq (%rax),%rcx"}, KAGAMI_ALU_ADD, 8, kLoad, 0},
    {{{0x0a, 0x08}, "orb (%rax),%cl"}, KAGAMI_ALU_OR, 1, kLoad, 0},
    {{{0x66, 0x0b, 0x08}, "orw (%rax),%cx"}, KAGAMI_ALU_OR, 2, kLoad, 0},
    {{{0x0b, 0x08}, "orl (%rax),%ecx"}, KAGAMI_ALU_OR, 4, kLoad, 0},
    {{{0x48, 0x0b, 0x08}, "orq (%rax),%rcx"}, KAGAMI_ALU_OR, 8, kLoad, 0},
    {{{0x12, 0x08}, "adcb (%rax),%cl"}, KAGAMI_ALU_ADC, 1, kLoad, 0},
    {{{0x66, 0x13, 0x08}, "adcw (%rax),%cx"}, KAGAMI_ALU_ADC, 2, kLoad, 0},
    {{{0x13, 0x08}, "adcl (%rax),%ecx"}, KAGAMI_ALU_ADC, 4, kLoad, 0},
    {{{0x48, 0x13, 0x08}, "adcq (%rax),%rcx"}, KAGAMI_ALU_ADC, 8, kLoad, 0},
    {{{0x1a, 0x08}, "sbbb (%rax),%cl"}, KAGAMI_ALU_SBB, 1, kLoad, 0},
    {{{0x66, 0x1b, 0x08}, "sbbw (%rax),%cx"}, KAGAMI_ALU_SBB, 2, kLoad, 0},
    {{{0x1b, 0x08}, "sbbl (%rax),%ecx"}, KAGAMI_ALU_SBB, 4, kLoad, 0},
    {{{0x48, 0x1b, 0x08}, "sbbq (%rax),%rcx"}, KAGAMI_ALU_SBB, 8, kLoad, 0},
    {{{0x22, 0x08}, "andb (%rax),%cl"}, KAGAMI_ALU_AND, 1, kLoad, 0},
    {{{0x66, 0x23, 0x08}, "andw (%rax),%cx"}, KAGAMI_ALU_AND, 2, kLoad, 0},
    {{{0x23, 0x08}, "andl (%rax),%ecx"}, KAGAMI_ALU_AND, 4, kLoad, 0},
    {{{0x48, 0x23, 0x08}, "andq (%rax),%rcx"}, KAGAMI_ALU_AND, 8, kLoad, 0},
    {{{0x2a, 0x08}, "subb (%rax),%cl"}, KAGAMI_ALU_SUB, 1, kLoad, 0},
    {{{0x66, 0x2b, 0x08}, "subw (%rax),%cx"}, KAGAMI_ALU_SUB, 2, kLoad, 0},
    {{{0x2b, 0x08}, "subl (%rax),%ecx"}, KAGAMI_ALU_SUB, 4, kLoad, 0},
    {{{0x48, 0x2b, 0x08}, "subq (%rax),%rcx"}, KAGAMI_ALU_SUB, 8, kLoad, 0},
    {{{0x32, 0x08}, "xorb (%rax),%cl"}, KAGAMI_ALU_XOR, 1, kLoad, 0},
    {{{0x66, 0x33, 0x08}, "xorw (%rax),%cx"}, KAGAMI_ALU_XOR, 2, kLoad, 0},
    {{{0x33, 0x08}, "xorl (%rax),%ecx"}, KAGAMI_ALU_XOR, 4, kLoad, 0},
    {{{0x48, 0x33, 0x08}, "xorq (%rax),%rcx"}, KAGAMI_ALU_XOR, 8, kLoad, 0},
    {{{0x3a, 0x08}, "cmpb (%rax),%cl"}, KAGAMI_ALU_CMP, 1, kLoad, 0},
    {{{0x66, 0x3b, 0x08}, "cmpw (%rax),%cx"}, KAGAMI_ALU_CMP, 2, kLoad, 0},
    {{{0x3b, 0x08}, "cmpl (%rax),%ecx"}, KAGAMI_ALU_CMP, 4, kLoad, 0},
    {{{0x48, 0x3b, 0x08}, "cmpq (%rax),%rcx"}, KAGAMI_ALU_CMP, 8, kLoad, 0},
    {{{0x80, 0x00, 0x81}, "addb $0x81,(%rax)"}, KAGAMI_ALU_ADD, 1, kImm, 0x81},
    {{{0x66, 0x81, 0x00, 0x34, 0x12}, "addw $0x1234,(%rax)"}, KAGAMI_ALU_ADD, 2, kImm, 0x1234},
    {{{0x81, 0x00, 0x21, 0x43, 0x65, 0x87}, "addl $0x87654321,(%rax)"},
     KAGAMI_ALU_ADD,
     4,
     kImm,
     0x87654321},
    {{{0x48, 0x81, 0x00, 0x21, 0x43, 0x65, 0x87}, "addq $-0x789abcdf,(%rax)"},
     KAGAMI_ALU_ADD,
     8,
     kImm,
     -0x789abcdf},
    {{{0x66, 0x83, 0x00, 0xfd}, "addw $-3,(%rax)"}, KAGAMI_ALU_ADD, 2, kImm, -0x3},
    {{{0x83, 0x00, 0x7f}, "addl $0x7f,(%rax)"}, KAGAMI_ALU_ADD, 4, kImm, 0x7f},
    {{{0x48, 0x83, 0x00, 0x80}, "addq $-0x80,(%rax)"}, KAGAMI_ALU_ADD, 8, kImm, -0x80},
    {{{0x80, 0x08, 0x81}, "orb $0x81,(%rax)"}, KAGAMI_ALU_OR, 1, kImm, 0x81},
    {{{0x66, 0x81, 0x08, 0x34, 0x12}, "orw $0x1234,(%rax)"}, KAGAMI_ALU_OR, 2, kImm, 0x1234},
    {{{0x81, 0x08, 0x21, 0x43, 0x65, 0x87}, "orl $0x87654321,(%rax)"},
     KAGAMI_ALU_OR,
     4,
     kImm,
     0x87654321},
    {{{0x48, 0x81, 0x08, 0x21, 0x43, 0x65, 0x87}, "orq $-0x789abcdf,(%rax)"},
     KAGAMI_ALU_OR,
     8,
     kImm,
     -0x789abcdf},
    {{{0x66, 0x83, 0x08, 0xfd}, "orw $-3,(%rax)"}, KAGAMI_ALU_OR, 2, kImm, -0x3},
    {{{0x83, 0x08, 0x7f}, "orl $0x7f,(%rax)"}, KAGAMI_ALU_OR, 4, kImm, 0x7f},
    {{{0x48, 0x83, 0x08, 0x80}, "orq $-0x80,(%rax)"}, KAGAMI_ALU_OR, 8, kImm, -0x80},
    {{{0x80, 0x10, 0x81}, "adcb $0x81,(%rax)"}, KAGAMI_ALU_ADC, 1, kImm, 0x81},
    {{{0x66, 0x81, 0x10, 0x34, 0x12}, "adcw $0x1234,(%rax)"}, KAGAMI_ALU_ADC, 2, kImm, 0x1234},
    {{{0x81, 0x10, 0x21, 0x43, 0x65, 0x87}, "adcl $0x87654321,(%rax)"},
     KAGAMI_ALU_ADC,
     4,
     kImm,
     0x87654321},
    {{{0x48, 0x81, 0x10, 0x21, 0x43, 0x65, 0x87}, "adcq $-0x789abcdf,(%rax)"},
     KAGAMI_ALU_ADC,
     8,
     kImm,
     -0x789abcdf},
    {{{0x66, 0x83, 0x10, 0xfd}, "adcw $-3,(%rax)"}, KAGAMI_ALU_ADC, 2, kImm, -0x3},
    {{{0x83, 0x10, 0x7f}, "adcl $0x7f,(%rax)"}, KAGAMI_ALU_ADC, 4, kImm, 0x7f},
    {{{0x48, 0x83, 0x10, 0x80}, "adcq $-0x80,(%rax)"}, KAGAMI_ALU_ADC, 8, kImm, -0x80},
    {{{0x80, 0x18, 0x81}, "sbbb $0x81,(%rax)"}, KAGAMI_ALU_SBB, 1, kImm, 0x81},
    {{{0x66, 0x81, 0x18, 0x34, 0x12}, "sbbw $0x1234,(%rax)"}, KAGAMI_ALU_SBB, 2, kImm, 0x1234},
    {{{0x81, 0x18, 0x21, 0x43, 0x65, 0x87}, "sbbl $0x87654321,(%rax)"},
     KAGAMI_ALU_SBB,
     4,
     kImm,
     0x87654321},
    {{{0x48, 0x81, 0x18, 0x21, 0x43, 0x65, 0x87}, "sbbq $-0x789abcdf,(%rax)"},
     KAGAMI_ALU_SBB,
     8,
     kImm,
     -0x789abcdf},
    {{{0x66, 0x83, 0x18, 0xfd}, "sbbw $-3,(%rax)"}, KAGAMI_ALU_SBB, 2, kImm, -0x3},
    {{{0x83, 0x18, 0x7f}, "sbbl $0x7f,(%rax)"}, KAGAMI_ALU_SBB, 4, kImm, 0x7f},
    {{{0x48, 0x83, 0x18, 0x80}, "sbbq $-0x80,(%rax)"}, KAGAMI_ALU_SBB, 8, kImm, -0x80},
    {{{0x80, 0x20, 0x81}, "andb $0x81,(%rax)"}, KAGAMI_ALU_AND, 1, kImm, 0x81},
    {{{0x66, 0x81, 0x20, 0x34, 0x12}, "andw $0x1234,(%rax)"}, KAGAMI_ALU_AND, 2, kImm, 0x1234},
    {{{0x81, 0x20, 0x21, 0x43, 0x65, 0x87}, "andl $0x87654321,(%rax)"},
     KAGAMI_ALU_AND,
     4,
     kImm,
     0x87654321},
    {{{0x48, 0x81, 0x20, 0x21, 0x43, 0x65, 0x87}, "andq $-0x789abcdf,(%rax)"},
     KAGAMI_ALU_AND,
     8,
     kImm,
     -0x789abcdf},
    {{{0x66, 0x83, 0x20, 0xfd}, "andw $-3,(%rax)"}, KAGAMI_ALU_AND, 2, kImm, -0x3},
    {{{0x83, 0x20, 0x7f}, "andl $0x7f,(%rax)"}, KAGAMI_ALU_AND, 4, kImm, 0x7f},
    {{{0x48, 0x83, 0x20, 0x80}, "andq $-0x80,(%rax)"}, KAGAMI_ALU_AND, 8, kImm, -0x80},
    {{{0x80, 0x28, 0x81}, "subb $0x81,(%rax)"}, KAGAMI_ALU_SUB, 1, kImm, 0x81},
    {{{0x66, 0x81, 0x28, 0x34, 0x12}, "subw $0x1234,(%rax)"}, KAGAMI_ALU_SUB, 2, kImm, 0x1234},
    {{{0x81, 0x28, 0x21, 0x43, 0x65, 0x87}, "subl $0x87654321,(%rax)"},
     KAGAMI_ALU_SUB,
     4,
     kImm,
     0x87654321},
    {{{0x48, 0x81, 0x28, 0x21, 0x43, 0x65, 0x87}, "subq $-0x789abcdf,(%rax)"},
     KAGAMI_ALU_SUB,
     8,
     kImm,
     -0x789abcdf},
    {{{0x66, 0x83, 0x28, 0xfd}, "subw $-3,(%rax)"}, KAGAMI_ALU_SUB, 2, kImm, -0x3},
    {{{0x83, 0x28, 0x7f}, "subl $0x7f,(%rax)"}, KAGAMI_ALU_SUB, 4, kImm, 0x7f},
    {{{0x48, 0x83, 0x28, 0x80}, "subq $-0x80,(%rax)"}, KAGAMI_ALU_SUB, 8, kImm, -0x80},
    {{{0x80, 0x30, 0x81}, "xorb $0x81,(%rax)"}, KAGAMI_ALU_XOR, 1, kImm, 0x81},
    {{{0x66, 0x81, 0x30, 0x34, 0x12}, "xorw $0x1234,(%rax)"}, KAGAMI_ALU_XOR, 2, kImm, 0x1234},
    {{{0x81, 0x30, 0x21, 0x43, 0x65, 0x87}, "xorl $0x87654321,(%rax)"},
     KAGAMI_ALU_XOR,
     4,
     kImm,
     0x87654321},
    {{{0x48, 0x81, 0x30, 0x21, 0x43, 0x65, 0x87}, "xorq $-0x789abcdf,(%rax)"},
     KAGAMI_ALU_XOR,
     8,
     kImm,
     -0x789abcdf},
    {{{0x66, 0x83, 0x30, 0xfd}, "xorw $-3,(%rax)"}, KAGAMI_ALU_XOR, 2, kImm, -0x3},
    {{{0x83, 0x30, 0x7f}, "xorl $0x7f,(%rax)"}, KAGAMI_ALU_XOR, 4, kImm, 0x7f},
    {{{0x48, 0x83, 0x30, 0x80}, "xorq $-0x80,(%rax)"}, KAGAMI_ALU_XOR, 8, kImm, -0x80},
    {{{0x80, 0x38, 0x81}, "cmpb $0x81,(%rax)"}, KAGAMI_ALU_CMP, 1, kImm, 0x81},
    {{{0x66, 0x81, 0x38, 0x34, 0x12}, "cmpw $0x1234,(%rax)"}, KAGAMI_ALU_CMP, 2, kImm, 0x1234},
    {{{0x81, 0x38, 0x21, 0x43, 0x65, 0x87}, "cmpl $0x87654321,(%rax)"},
     KAGAMI_ALU_CMP,
     4,
     kImm,
     0x87654321},
    {{{0x48, 0x81, 0x38, 0x21, 0x43, 0x65, 0x87}, "cmpq $-0x789abcdf,(%rax)"},
     KAGAMI_ALU_CMP,
     8,
     kImm,
     -0x789abcdf},
    {{{0x66, 0x83, 0x38, 0xfd}, "cmpw $-3,(%rax)"}, KAGAMI_ALU_CMP, 2, kImm, -0x3},
    {{{0x83, 0x38, 0x7f}, "cmpl $0x7f,(%rax)"}, KAGAMI_ALU_CMP, 4, kImm, 0x7f},
    {{{0x48, 0x83, 0x38, 0x80}, "cmpq $-0x80,(%rax)"}, KAGAMI_ALU_CMP, 8, kImm, -0x80},
};

constexpr uint64_t kRcxUpper = 0xdeadbeef00000000;
constexpr uint64_t kOtherFlags = 0x202 | KAGAMI_FLAG_DF;  // IF and DF must survive

// Emulate one case with memory = mem, the register operand = reg and CF = cf.
void check_against_host(const AluCase& c, uint64_t mem, uint64_t reg, bool cf) {
  EmulHarness h;
  const uint64_t m = mask(c.size);
  h.regs.gpr[KAGAMI_RCX] = (c.size == 8 ? 0 : kRcxUpper) | reg;
  h.regs.rflags = kOtherFlags | (cf ? KAGAMI_FLAG_CF : 0) | KAGAMI_FLAG_AF;
  h.regs.rip = 0x1000;
  ASSERT_EQ(h.start(c.insn.bytes, 64), KAGAMI_EMUL_MMIO_EXIT);
  ASSERT_FALSE(h.emul.mmio.is_write);
  ASSERT_EQ(h.emul.mmio.len, c.size);
  const uint64_t operand = c.form == kImm ? static_cast<uint64_t>(c.imm) & m : reg;
  const HostResult host = c.form == kLoad ? host_alu(c.op, c.size, reg, mem, cf)
                                          : host_alu(c.op, c.size, mem, operand, cf);
  const bool writes_memory = c.form != kLoad && c.op != KAGAMI_ALU_CMP;
  ASSERT_EQ(h.complete(mem), writes_memory ? KAGAMI_EMUL_MMIO_EXIT : KAGAMI_EMUL_DONE);
  if (writes_memory) {
    EXPECT_TRUE(h.emul.mmio.is_write);
    EXPECT_EQ(h.emul.mmio.gpa, kMmioGpa);
    EXPECT_EQ(h.emul.mmio.len, c.size);
    EXPECT_EQ(h.written(), host.value);
    EXPECT_EQ(kagami_emulate_complete(&h.emul, nullptr, 0), KAGAMI_EMUL_DONE);
  }
  uint64_t rcx = (c.size == 8 ? 0 : kRcxUpper) | reg;
  if (c.form == kLoad && c.op != KAGAMI_ALU_CMP) {
    rcx = c.size == 4 ? host.value : (rcx & ~m) | host.value;  // 32-bit writes zero the top
  }
  EXPECT_EQ(h.regs.gpr[KAGAMI_RCX], rcx);
  EXPECT_EQ(h.regs.rflags & compared_flags(c.op), host.flags & compared_flags(c.op))
      << std::hex << "emulated " << h.regs.rflags << " host " << host.flags;
  EXPECT_EQ(h.regs.rflags & ~uint64_t{KAGAMI_FLAGS_ARITH}, kOtherFlags);
  EXPECT_EQ(h.regs.rip, 0x1000 + c.insn.bytes.size());
}

TEST(EmulateAlu, EveryOperationSizeAndFormMatchesTheHostCpu) {
  for (const AluCase& c : kAluCases) {
    SCOPED_TRACE(c.insn.text);
    const std::vector<uint64_t> values = edge_values(c.size);
    for (uint64_t mem : values) {
      for (uint64_t reg : c.form == kImm ? std::vector<uint64_t>{0} : values) {
        for (bool cf : {false, true}) {
          SCOPED_TRACE(testing::Message()
                       << std::hex << "mem " << mem << " reg " << reg << " cf " << cf);
          check_against_host(c, mem, reg, cf);
          if (HasFatalFailure() || HasFailure()) return;
        }
      }
    }
  }
}

// kagami_alu() directly on random operands, against the host, for every operation and size.
TEST(EmulateAlu, RandomOperandsMatchTheHostCpu) {
  uint64_t seed = 0x9e3779b97f4a7c15;
  auto next = [&seed] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  for (int op = KAGAMI_ALU_ADD; op <= KAGAMI_ALU_TEST; ++op) {
    for (unsigned size : {1u, 2u, 4u, 8u}) {
      for (int i = 0; i < 2000; ++i) {
        const uint64_t a = next() & mask(size), b = next() & mask(size);
        const bool cf = next() & 1;
        uint64_t rflags = 0x2 | (cf ? KAGAMI_FLAG_CF : 0);
        const uint64_t res = kagami_alu(op, a, b, size, &rflags);
        const HostResult host = host_alu(op, size, a, b, cf);
        if (op != KAGAMI_ALU_CMP && op != KAGAMI_ALU_TEST) {
          ASSERT_EQ(res, host.value);
        }
        ASSERT_EQ(rflags & compared_flags(op), host.flags & compared_flags(op))
            << "op " << op << " size " << size << std::hex << " a " << a << " b " << b;
      }
    }
  }
}

TEST(EmulateAlu, TestSetsFlagsOnlyAndMatchesTheHostCpu) {
  struct TestCase {
    Encoded insn;
    unsigned size;
    bool imm;
    uint64_t imm_value;
  };
  const TestCase cases[] = {
      {{{0x84, 0x08}, "test %cl,(%rax)"}, 1, false, 0},
      {{{0x66, 0x85, 0x08}, "test %cx,(%rax)"}, 2, false, 0},
      {{{0x85, 0x08}, "test %ecx,(%rax)"}, 4, false, 0},
      {{{0x48, 0x85, 0x08}, "test %rcx,(%rax)"}, 8, false, 0},
      {{{0xf6, 0x00, 0x81}, "testb $0x81,(%rax)"}, 1, true, 0x81},
      {{{0x66, 0xf7, 0x00, 0x01, 0x80}, "testw $0x8001,(%rax)"}, 2, true, 0x8001},
      {{{0xf7, 0x00, 0x01, 0x00, 0x00, 0x80}, "testl $0x80000001,(%rax)"}, 4, true, 0x80000001},
      {{{0x48, 0xf7, 0x00, 0x01, 0x00, 0x00, 0x80}, "testq $-0x7fffffff,(%rax)"},
       8,
       true,
       0xffffffff80000001},
  };
  for (const TestCase& c : cases) {
    SCOPED_TRACE(c.insn.text);
    for (uint64_t mem : edge_values(c.size)) {
      const uint64_t reg = 0x8000000000000081 & mask(c.size);
      EmulHarness h;
      h.regs.gpr[KAGAMI_RCX] = reg;
      h.regs.rflags = 0x2 | KAGAMI_FLAG_CF | KAGAMI_FLAG_OF;
      ASSERT_EQ(h.start(c.insn.bytes, 64), KAGAMI_EMUL_MMIO_EXIT);
      EXPECT_EQ(h.emul.mmio.len, c.size);
      ASSERT_EQ(h.complete(mem), KAGAMI_EMUL_DONE);
      const HostResult host =
          host_alu(KAGAMI_ALU_TEST, c.size, mem, c.imm ? c.imm_value & mask(c.size) : reg, true);
      EXPECT_EQ(h.regs.rflags & compared_flags(KAGAMI_ALU_TEST),
                host.flags & compared_flags(KAGAMI_ALU_TEST));
      EXPECT_EQ(h.regs.gpr[KAGAMI_RCX], reg);
      EXPECT_EQ(h.regs.rip, c.insn.bytes.size());
    }
  }
}

TEST(EmulateAlu, XchgReadsThenWritesTheOldRegister) {
  struct XchgCase {
    Encoded insn;
    unsigned size;
    int reg;
    uint64_t reg_before, reg_after, written;  // memory reads 0x8899aabbccddeeff (truncated)
  };
  const XchgCase cases[] = {
      {{{0x86, 0x08}, "xchg %cl,(%rax)"},
       1,
       KAGAMI_RCX,
       0x1122334455667788,
       0x11223344556677ff,
       0x88},
      {{{0x86, 0x28}, "xchg %ch,(%rax)"},
       1,
       KAGAMI_RCX,
       0x1122334455667788,
       0x112233445566ff88,
       0x77},
      {{{0x66, 0x87, 0x08}, "xchg %cx,(%rax)"},
       2,
       KAGAMI_RCX,
       0x1122334455667788,
       0x112233445566eeff,
       0x7788},
      {{{0x87, 0x08}, "xchg %ecx,(%rax)"},
       4,
       KAGAMI_RCX,
       0x1122334455667788,
       0xccddeeff,
       0x55667788},
      {{{0x48, 0x87, 0x08}, "xchg %rcx,(%rax)"},
       8,
       KAGAMI_RCX,
       0x1122334455667788,
       0x8899aabbccddeeff,
       0x1122334455667788},
      {{{0xf0, 0x4c, 0x87, 0x08}, "lock xchg %r9,(%rax)"},
       8,
       KAGAMI_R9,
       0x1122334455667788,
       0x8899aabbccddeeff,
       0x1122334455667788},
  };
  for (const XchgCase& c : cases) {
    SCOPED_TRACE(c.insn.text);
    EmulHarness h;
    h.regs.gpr[c.reg] = c.reg_before;
    h.regs.rflags = 0x2 | KAGAMI_FLAG_ZF;
    ASSERT_EQ(h.start(c.insn.bytes, 64), KAGAMI_EMUL_MMIO_EXIT);
    EXPECT_FALSE(h.emul.mmio.is_write);
    EXPECT_EQ(h.emul.mmio.len, c.size);
    ASSERT_EQ(h.complete(0x8899aabbccddeeff), KAGAMI_EMUL_MMIO_EXIT);
    EXPECT_TRUE(h.emul.mmio.is_write);
    EXPECT_EQ(h.emul.mmio.gpa, kMmioGpa);
    EXPECT_EQ(h.emul.mmio.len, c.size);
    EXPECT_EQ(h.written(), c.written);
    EXPECT_EQ(h.regs.gpr[c.reg], c.reg_after) << std::hex << h.regs.gpr[c.reg];
    EXPECT_EQ(h.regs.rip, c.insn.bytes.size());
    EXPECT_EQ(h.regs.rflags, 0x2u | KAGAMI_FLAG_ZF);  // XCHG leaves the flags alone
    EXPECT_EQ(kagami_emulate_complete(&h.emul, nullptr, 0), KAGAMI_EMUL_DONE);
  }
}

// LOCK, other modes and displacements go through the same paths.
TEST(EmulateAlu, LockedAndLegacyModeForms) {
  struct Case {
    int mode;
    Encoded insn;
    unsigned size;
    uint64_t mem, rcx, written;
  };
  const Case cases[] = {
      {64, {{0xf0, 0x01, 0x08}, "lock addl %ecx,(%rax)"}, 4, 0xfffffffe, 3, 1},
      {64, {{0xf0, 0x80, 0x48, 0x10, 0x01}, "lock orb $1,0x10(%rax)"}, 1, 0x80, 0, 0x81},
      {16, {{0x01, 0x0f}, "addw %cx,(%bx)"}, 2, 0xfff0, 0x20, 0x10},
      {16, {{0x80, 0x0f, 0x01}, "orb $1,(%bx)"}, 1, 0x40, 0, 0x41},
      {32, {{0x83, 0x20, 0xf0}, "andl $0xfffffff0,(%eax)"}, 4, 0x12345678, 0, 0x12345670},
      {32, {{0x29, 0x48, 0x10}, "subl %ecx,0x10(%eax)"}, 4, 5, 6, 0xffffffff},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.insn.text);
    EmulHarness h;
    h.regs.gpr[KAGAMI_RCX] = c.rcx;
    ASSERT_EQ(h.start(c.insn.bytes, c.mode), KAGAMI_EMUL_MMIO_EXIT);
    EXPECT_EQ(h.emul.mmio.len, c.size);
    ASSERT_EQ(h.complete(c.mem), KAGAMI_EMUL_MMIO_EXIT);
    EXPECT_EQ(h.written(), c.written);
    EXPECT_EQ(h.regs.rip, c.insn.bytes.size());
  }
}

}  // namespace
}  // namespace kagami::test
