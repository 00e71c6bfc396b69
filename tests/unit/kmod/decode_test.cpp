// x86 decoder of the MMIO emulator: lengths, sizes, prefixes, every addressing mode, bad input.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <vector>

#include "emulate_harness.hpp"

namespace kagami::test {
namespace {

// Registers with recognisable values: gpr[i] = (i + 1) * 0x100, distinct segment bases.
kagami_emul_regs address_regs() {
  kagami_emul_regs regs{};
  for (int i = 0; i < KAGAMI_NR_GPRS; ++i) regs.gpr[i] = (i + 1) * 0x100;
  regs.rip = 0x400000;
  regs.seg_base[KAGAMI_SEG_ES] = 0x10000;
  regs.seg_base[KAGAMI_SEG_CS] = 0x20000;
  regs.seg_base[KAGAMI_SEG_SS] = 0x30000;
  regs.seg_base[KAGAMI_SEG_DS] = 0x40000;
  regs.seg_base[KAGAMI_SEG_FS] = 0x7f0000000000;
  regs.seg_base[KAGAMI_SEG_GS] = 0xffff888000000000;
  return regs;
}

struct AddressCase {
  int mode;
  Encoded insn;
  uint64_t linear;  // with address_regs()
  int seg;
  unsigned op_size;
};

// Bytes from `as`; expected linear addresses worked out by hand from address_regs().
const std::vector<AddressCase> kAddressCases = {
    {64, {{0x89, 0x00}, "mov %eax,(%rax)"}, 0x100, KAGAMI_SEG_DS, 4},
    {64, {{0x89, 0x45, 0x12}, "mov %eax,0x12(%rbp)"}, 0x612, KAGAMI_SEG_SS, 4},
    {64, {{0x89, 0x44, 0x24, 0xf0}, "mov %eax,-0x10(%rsp)"}, 0x4f0, KAGAMI_SEG_SS, 4},
    {64,
     {{0x89, 0x86, 0x78, 0x56, 0x34, 0x12}, "mov %eax,0x12345678(%rsi)"},
     0x12345d78,
     KAGAMI_SEG_DS,
     4},
    {64, {{0x89, 0x04, 0x8b}, "mov %eax,(%rbx,%rcx,4)"}, 0xc00, KAGAMI_SEG_DS, 4},
    {64, {{0x89, 0x44, 0xcb, 0x10}, "mov %eax,0x10(%rbx,%rcx,8)"}, 0x1410, KAGAMI_SEG_DS, 4},
    {64, {{0x41, 0x89, 0x04, 0x24}, "mov %eax,(%r12)"}, 0xd00, KAGAMI_SEG_DS, 4},
    {64, {{0x41, 0x89, 0x45, 0x00}, "mov %eax,(%r13)"}, 0xe00, KAGAMI_SEG_DS, 4},
    {64, {{0x42, 0x89, 0x04, 0x60}, "mov %eax,(%rax,%r12,2)"}, 0x1b00, KAGAMI_SEG_DS, 4},
    {64,
     {{0x89, 0x04, 0x4d, 0x00, 0x10, 0x00, 0x00}, "mov %eax,0x1000(,%rcx,2)"},
     0x1400,
     KAGAMI_SEG_DS,
     4},
    {64, {{0x89, 0x04, 0x25, 0x34, 0x12, 0x00, 0x00}, "mov %eax,0x1234"}, 0x1234, KAGAMI_SEG_DS, 4},
    {64,
     {{0x89, 0x05, 0x00, 0x01, 0x00, 0x00}, "mov %eax,0x100(%rip)"},
     0x400106,
     KAGAMI_SEG_DS,
     4},
    {64,
     {{0x89, 0x05, 0xe0, 0xff, 0xff, 0xff}, "mov %eax,-0x20(%rip)"},
     0x3fffe6,
     KAGAMI_SEG_DS,
     4},
    {64, {{0x67, 0x41, 0x89, 0x00}, "mov %eax,(%r8d)"}, 0x900, KAGAMI_SEG_DS, 4},
    {64, {{0x64, 0x89, 0x00}, "mov %eax,%fs:(%rax)"}, 0x7f0000000100, KAGAMI_SEG_FS, 4},
    {64,
     {{0x65, 0x89, 0x43, 0x08}, "mov %eax,%gs:0x8(%rbx)"},
     0xffff888000000408,
     KAGAMI_SEG_GS,
     4},
    {64, {{0x3e, 0x89, 0x00}, "ds mov %eax,(%rax)"}, 0x100, KAGAMI_SEG_DS, 4},
    {64, {{0x4f, 0x89, 0x0c, 0xf7}, "mov %r9,(%r15,%r14,8)"}, 0x8800, KAGAMI_SEG_DS, 8},
    {64, {{0x67, 0x89, 0x40, 0xff}, "mov %eax,-1(%eax)"}, 0xff, KAGAMI_SEG_DS, 4},
    {64,
     {{0x65, 0x4b, 0xc7, 0x84, 0xb5, 0x78, 0x56, 0x34, 0x12, 0xff, 0xff, 0xff, 0xff},
      "movq $-1,%gs:0x12345678(%r13,%r14,4)"},
     0xffff888000000000 + 0xe00 + 0xf00 * 4 + 0x12345678,
     KAGAMI_SEG_GS,
     8},
    {64,
     {{0x48, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11},
      "movabs 0x1122334455667788,%rax"},
     0x1122334455667788,
     KAGAMI_SEG_DS,
     8},
    {64,
     {{0x67, 0xa3, 0x78, 0x56, 0x34, 0x12}, "addr32 movabs %eax,0x12345678"},
     0x12345678,
     KAGAMI_SEG_DS,
     4},
    {32, {{0x89, 0x00}, "mov %eax,(%eax)"}, 0x40100, KAGAMI_SEG_DS, 4},
    {32, {{0x89, 0x44, 0x73, 0x10}, "mov %eax,0x10(%ebx,%esi,2)"}, 0x41210, KAGAMI_SEG_DS, 4},
    {32, {{0x89, 0x1d, 0x34, 0x12, 0x00, 0x00}, "mov %ebx,0x1234"}, 0x41234, KAGAMI_SEG_DS, 4},
    {32, {{0x89, 0x04, 0x24}, "mov %eax,(%esp)"}, 0x30500, KAGAMI_SEG_SS, 4},
    {32, {{0x89, 0x45, 0x08}, "mov %eax,0x8(%ebp)"}, 0x30608, KAGAMI_SEG_SS, 4},
    {32, {{0x26, 0x89, 0x03}, "mov %eax,%es:(%ebx)"}, 0x10400, KAGAMI_SEG_ES, 4},
    {32, {{0x67, 0x89, 0x00}, "mov %eax,(%bx,%si)"}, 0x40b00, KAGAMI_SEG_DS, 4},
    {32, {{0xa3, 0x34, 0x12, 0x00, 0x00}, "mov %eax,0x1234"}, 0x41234, KAGAMI_SEG_DS, 4},
    {32, {{0x66, 0x89, 0x00}, "mov %ax,(%eax)"}, 0x40100, KAGAMI_SEG_DS, 2},
    {32,
     {{0x64, 0x66, 0xc7, 0x84, 0x58, 0x78, 0x56, 0x34, 0x12, 0x34, 0x12},
      "movw $0x1234,%fs:0x12345678(%eax,%ebx,2)"},
     0x12345f78,
     KAGAMI_SEG_FS,
     2},  // 0x7f0000000000 + 0x12345f78 wraps at 4 GiB
    {16, {{0x89, 0x00}, "mov %ax,(%bx,%si)"}, 0x40b00, KAGAMI_SEG_DS, 2},
    {16, {{0x89, 0x01}, "mov %ax,(%bx,%di)"}, 0x40c00, KAGAMI_SEG_DS, 2},
    {16, {{0x89, 0x02}, "mov %ax,(%bp,%si)"}, 0x30d00, KAGAMI_SEG_SS, 2},
    {16, {{0x89, 0x03}, "mov %ax,(%bp,%di)"}, 0x30e00, KAGAMI_SEG_SS, 2},
    {16, {{0x89, 0x04}, "mov %ax,(%si)"}, 0x40700, KAGAMI_SEG_DS, 2},
    {16, {{0x89, 0x05}, "mov %ax,(%di)"}, 0x40800, KAGAMI_SEG_DS, 2},
    {16, {{0x89, 0x46, 0x12}, "mov %ax,0x12(%bp)"}, 0x30612, KAGAMI_SEG_SS, 2},
    {16, {{0x89, 0x07}, "mov %ax,(%bx)"}, 0x40400, KAGAMI_SEG_DS, 2},
    {16, {{0x89, 0x1e, 0x34, 0x12}, "mov %bx,0x1234"}, 0x41234, KAGAMI_SEG_DS, 2},
    {16, {{0x89, 0x80, 0x34, 0x12}, "mov %ax,0x1234(%bx,%si)"}, 0x41d34, KAGAMI_SEG_DS, 2},
    {16, {{0x89, 0x41, 0xfe}, "mov %ax,-2(%bx,%di)"}, 0x40bfe, KAGAMI_SEG_DS, 2},
    {16, {{0x67, 0x66, 0x89, 0x00}, "mov %eax,(%eax)"}, 0x40100, KAGAMI_SEG_DS, 4},
    {16, {{0x66, 0x89, 0x07}, "mov %eax,(%bx)"}, 0x40400, KAGAMI_SEG_DS, 4},
    {16, {{0x2e, 0x89, 0x07}, "mov %ax,%cs:(%bx)"}, 0x20400, KAGAMI_SEG_CS, 2},
    {16, {{0xa3, 0x34, 0x12}, "mov %ax,0x1234"}, 0x41234, KAGAMI_SEG_DS, 2},
};

TEST(EmulateDecode, AddressingModesGiveLengthSizeAndLinearAddress) {
  for (const AddressCase& c : kAddressCases) {
    SCOPED_TRACE(testing::Message() << c.mode << "-bit " << c.insn.text);
    kagami_insn insn;
    ASSERT_EQ(kagami_decode(&insn, c.insn.bytes.data(), c.insn.bytes.size(), c.mode), 0);
    EXPECT_EQ(insn.length, c.insn.bytes.size());
    EXPECT_EQ(insn.op_size, c.op_size);
    EXPECT_EQ(insn.mem_seg, c.seg);
    kagami_emul_regs regs = address_regs();
    uint64_t linear = 0;
    ASSERT_EQ(kagami_insn_linear_addr(&insn, &regs, &linear), 0);
    EXPECT_EQ(linear, c.linear) << std::hex << linear;
  }
}

TEST(EmulateDecode, AddressArithmeticWrapsAtTheAddressSize) {
  kagami_insn insn;
  kagami_emul_regs regs{};
  uint64_t linear = 0;
  // 16-bit: bx + si wraps at 64 KiB before the segment base is added.
  const Bytes bx_si = {0x89, 0x00};  // mov %ax,(%bx,%si)
  ASSERT_EQ(kagami_decode(&insn, bx_si.data(), bx_si.size(), 16), 0);
  regs.gpr[KAGAMI_RBX] = 0xffff;
  regs.gpr[KAGAMI_RSI] = 0x2;
  regs.seg_base[KAGAMI_SEG_DS] = 0x40000;
  ASSERT_EQ(kagami_insn_linear_addr(&insn, &regs, &linear), 0);
  EXPECT_EQ(linear, 0x40001u);
  // 64-bit with addr32: -1(%eax) with eax = 0 is 0xffffffff, the upper half of rax ignored.
  const Bytes eax_minus_1 = {0x67, 0x89, 0x40, 0xff};  // mov %eax,-1(%eax)
  ASSERT_EQ(kagami_decode(&insn, eax_minus_1.data(), eax_minus_1.size(), 64), 0);
  regs.gpr[KAGAMI_RAX] = 0x500000000;
  ASSERT_EQ(kagami_insn_linear_addr(&insn, &regs, &linear), 0);
  EXPECT_EQ(linear, 0xffffffffu);
  // 32-bit: segment base + offset wraps at 4 GiB.
  const Bytes eax = {0x89, 0x00};  // mov %eax,(%eax)
  ASSERT_EQ(kagami_decode(&insn, eax.data(), eax.size(), 32), 0);
  regs.gpr[KAGAMI_RAX] = 0xfffffff0;
  regs.seg_base[KAGAMI_SEG_DS] = 0x20;
  ASSERT_EQ(kagami_insn_linear_addr(&insn, &regs, &linear), 0);
  EXPECT_EQ(linear, 0x10u);
}

TEST(EmulateDecode, OperandSizeFollowsModePrefixAndRexW) {
  struct Case {
    int mode;
    Encoded insn;
    unsigned op_size, addr_size;
  };
  const Case cases[] = {
      {64, {{0x88, 0x00}, "mov %al,(%rax)"}, 1, 8},
      {64, {{0x66, 0x89, 0x00}, "mov %ax,(%rax)"}, 2, 8},
      {64, {{0x89, 0x00}, "mov %eax,(%rax)"}, 4, 8},
      {64, {{0x48, 0x89, 0x00}, "mov %rax,(%rax)"}, 8, 8},
      {64, {{0x66, 0x48, 0x89, 0x00}, "data16 mov %rax,(%rax): REX.W wins"}, 8, 8},
      {64, {{0x48, 0x66, 0x89, 0x00}, "REX before a legacy prefix is ignored"}, 2, 8},
      {64, {{0x67, 0x89, 0x00}, "mov %eax,(%eax)"}, 4, 4},
      {32, {{0x66, 0x89, 0x00}, "mov %ax,(%eax)"}, 2, 4},
      {32, {{0x89, 0x00}, "mov %eax,(%eax)"}, 4, 4},
      {32, {{0x67, 0x89, 0x00}, "mov %eax,(%bx,%si)"}, 4, 2},
      {16, {{0x89, 0x07}, "mov %ax,(%bx)"}, 2, 2},
      {16, {{0x66, 0x89, 0x07}, "mov %eax,(%bx)"}, 4, 2},
      {16, {{0x67, 0x66, 0x89, 0x00}, "mov %eax,(%eax)"}, 4, 4},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << c.mode << "-bit " << c.insn.text);
    kagami_insn insn;
    ASSERT_EQ(kagami_decode(&insn, c.insn.bytes.data(), c.insn.bytes.size(), c.mode), 0);
    EXPECT_EQ(insn.op_size, c.op_size);
    EXPECT_EQ(insn.addr_size, c.addr_size);
    EXPECT_EQ(insn.length, c.insn.bytes.size());
  }
}

// In 32-bit mode 40-4F are INC/DEC, not REX: not supported, never taken as a prefix.
TEST(EmulateDecode, RexIsAnOpcodeOutside64BitMode) {
  const Bytes rex_w_mov = {0x48, 0x89, 0x00};
  kagami_insn insn;
  EXPECT_EQ(kagami_decode(&insn, rex_w_mov.data(), rex_w_mov.size(), 32), -EINVAL);
  EXPECT_EQ(kagami_decode(&insn, rex_w_mov.data(), rex_w_mov.size(), 64), 0);
}

// Sweep every one-byte opcode (with a ModRM of (%rax) and zero bytes after it).
std::set<int> decodable_one_byte_opcodes(int mode) {
  const std::set<int> prefixes = {0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3};
  std::set<int> ok;
  for (int op = 0; op < 256; ++op) {
    if (prefixes.count(op) || op == 0x0f || (mode == 64 && (op & 0xf0) == 0x40)) continue;
    Bytes bytes(15, 0);
    bytes[0] = static_cast<uint8_t>(op);
    kagami_insn insn;
    if (kagami_decode(&insn, bytes.data(), bytes.size(), mode) == 0) ok.insert(op);
  }
  return ok;
}

std::set<int> expected_one_byte_opcodes(int mode) {
  std::set<int> ok;
  for (int op = 0; op < 0x40; ++op)
    if ((op & 7) < 4) ok.insert(op);
  for (int op : {0x80, 0x81, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0xa0,
                 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xaa, 0xab, 0xc6, 0xc7, 0xf6, 0xf7})
    ok.insert(op);
  if (mode == 64) ok.insert(0x63);
  return ok;
}

TEST(EmulateDecode, OnlySupportedOneByteOpcodesDecode) {
  for (int mode : {16, 32, 64}) {
    SCOPED_TRACE(mode);
    EXPECT_EQ(decodable_one_byte_opcodes(mode), expected_one_byte_opcodes(mode));
  }
}

TEST(EmulateDecode, OnlyMovzxAndMovsxOfTheTwoByteOpcodesDecode) {
  std::set<int> ok;
  for (int op = 0; op < 256; ++op) {
    Bytes bytes(15, 0);
    bytes[0] = 0x0f;
    bytes[1] = static_cast<uint8_t>(op);
    kagami_insn insn;
    if (kagami_decode(&insn, bytes.data(), bytes.size(), 64) == 0) ok.insert(op);
  }
  EXPECT_EQ(ok, (std::set<int>{0xb6, 0xb7, 0xbe, 0xbf}));
}

TEST(EmulateDecode, RefusesWhatItCannotEmulate) {
  const Encoded refused[] = {
      {{0x89, 0xc0}, "mov %eax,%eax: no memory operand"},
      {{0xc6, 0x08, 0x01}, "c6 /1: not a MOV"},
      {{0xc7, 0xf8, 0x00, 0x00, 0x00, 0x00}, "xbegin"},
      {{0xf6, 0x10}, "notb (%rax)"},
      {{0xf7, 0x18}, "negl (%rax)"},
      {{0xf0, 0x89, 0x00}, "lock mov %eax,(%rax)"},
      {{0xf0, 0x39, 0x00}, "lock cmp %eax,(%rax)"},
      {{0xf0, 0x83, 0x38, 0x01}, "lock cmpl $1,(%rax)"},
      {{0xf0, 0x03, 0x00}, "lock add (%rax),%eax"},
      {{0xf0, 0x85, 0x00}, "lock test %eax,(%rax)"},
      {{0xf0, 0xa4}, "lock movsb"},
      {{0xf3, 0x89, 0x00}, "rep mov %eax,(%rax) (xrelease)"},
      {{0xf2, 0xa4}, "repnz movsb"},
      {{0xf2, 0xab}, "repnz stos"},
      {{0x66, 0x63, 0x00}, "movsxd with data16"},
      {{0x04, 0x01}, "add $1,%al: no memory operand"},
      {{0x8c, 0x00}, "mov %es,(%rax)"},
      {{0xa6}, "cmpsb"},
      {{0xac}, "lodsb"},
      {{0x82, 0x00, 0x01}, "82 alias of 80: invalid in 64-bit mode"},
  };
  for (const Encoded& e : refused) {
    SCOPED_TRACE(e.text);
    Bytes bytes = e.bytes;
    bytes.resize(15, 0);
    kagami_insn insn;
    EXPECT_EQ(kagami_decode(&insn, bytes.data(), bytes.size(), 64), -EINVAL);
    EXPECT_EQ(insn.length, 0);
  }
  kagami_insn insn;
  const Bytes mov = {0x89, 0x00};
  EXPECT_EQ(kagami_decode(&insn, mov.data(), mov.size(), 8), -EINVAL);
  // An unsupported group member is refused as such, not as "more bytes needed" for an immediate.
  const Bytes notb = {0xf6, 0x10};  // notb (%rax)
  EXPECT_EQ(kagami_decode(&insn, notb.data(), notb.size(), 64), -EINVAL);
  const Bytes c6_slash1 = {0xc6, 0x08};
  EXPECT_EQ(kagami_decode(&insn, c6_slash1.data(), c6_slash1.size(), 64), -EINVAL);
}

// Valid encodings used to check that every truncation is refused without reading past the end.
const std::vector<Encoded> kValidEncodings = {
    {{0x88, 0x00}, "mov %al,(%rax)"},
    {{0x89, 0x44, 0x24, 0xf0}, "mov %eax,-0x10(%rsp)"},
    {{0x89, 0x04, 0x4d, 0x00, 0x10, 0x00, 0x00}, "mov %eax,0x1000(,%rcx,2)"},
    {{0x89, 0x05, 0x00, 0x01, 0x00, 0x00}, "mov %eax,0x100(%rip)"},
    {{0xf0, 0x48, 0x83, 0x68, 0x10, 0xfe}, "lock subq $-2,0x10(%rax)"},
    {{0xc7, 0x84, 0xd8, 0xf0, 0xff, 0xff, 0x7f, 0x78, 0x56, 0x34, 0x12},
     "movl $0x12345678,0x7ffffff0(%rax,%rbx,8)"},
    {{0x65, 0x4b, 0xc7, 0x84, 0xb5, 0x78, 0x56, 0x34, 0x12, 0xff, 0xff, 0xff, 0xff},
     "movq $-1,%gs:0x12345678(%r13,%r14,4)"},
    {{0x48, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11},
     "movabs 0x1122334455667788,%rax"},
    {{0x0f, 0xb6, 0x00}, "movzbl (%rax),%eax"},
    {{0x48, 0x63, 0x00}, "movslq (%rax),%rax"},
    {{0xf3, 0x48, 0xab}, "rep stos %rax,%es:(%rdi)"},
    {{0x66, 0x81, 0x00, 0x34, 0x12}, "addw $0x1234,(%rax)"},
    {{0xf6, 0x00, 0x80}, "testb $0x80,(%rax)"},
};

TEST(EmulateDecode, EveryTruncationIsRefusedWithoutOverreading) {
  for (const Encoded& e : kValidEncodings) {
    SCOPED_TRACE(e.text);
    kagami_insn insn;
    ASSERT_EQ(kagami_decode(&insn, e.bytes.data(), e.bytes.size(), 64), 0);
    ASSERT_EQ(insn.length, e.bytes.size());
    for (size_t n = 0; n < e.bytes.size(); ++n) {
      // An exact-size heap copy: ASan reports any read past the end.
      std::vector<uint8_t> prefix(e.bytes.begin(), e.bytes.begin() + n);
      prefix.shrink_to_fit();
      EXPECT_EQ(kagami_decode(&insn, prefix.data(), n, 64), -ENODATA) << "avail " << n;
      EXPECT_EQ(insn.length, 0);
      EXPECT_EQ(insn.avail, n);
    }
  }
}

TEST(EmulateDecode, FifteenByteLimit) {
  // 13 operand-size prefixes + mov %ax,(%rax) = 15 bytes: valid.
  Bytes fifteen(13, 0x66);
  fifteen.insert(fifteen.end(), {0x89, 0x00});
  kagami_insn insn;
  ASSERT_EQ(kagami_decode(&insn, fifteen.data(), fifteen.size(), 64), 0);
  EXPECT_EQ(insn.length, 15);
  EXPECT_EQ(insn.op_size, 2);
  // One more prefix: 16 bytes, refused as too long whether or not the bytes are there.
  Bytes sixteen(14, 0x66);
  sixteen.insert(sixteen.end(), {0x89, 0x00});
  EXPECT_EQ(kagami_decode(&insn, sixteen.data(), sixteen.size(), 64), -EINVAL);
  EXPECT_EQ(kagami_decode(&insn, sixteen.data(), 15, 64), -EINVAL);
  EXPECT_EQ(insn.avail, 15);
  // Fifteen prefixes and no opcode at all.
  Bytes prefixes_only(15, 0x2e);
  EXPECT_EQ(kagami_decode(&insn, prefixes_only.data(), prefixes_only.size(), 64), -EINVAL);
}

TEST(EmulateDecode, CopyBytesForAnInternalErrorReport) {
  kagami_insn insn;
  uint8_t out[16] = {};
  const Bytes mov_and_more = {0x89, 0x00, 0x90, 0x90};  // mov %eax,(%rax); nop; nop
  ASSERT_EQ(kagami_decode(&insn, mov_and_more.data(), mov_and_more.size(), 64), 0);
  EXPECT_EQ(kagami_insn_copy_bytes(&insn, out, sizeof(out)), 2u);
  EXPECT_EQ(out[0], 0x89);
  EXPECT_EQ(out[1], 0x00);
  // Refused: all bytes given (up to 15) are reported.
  Bytes unknown(20, 0x90);
  unknown[0] = 0x0f;
  unknown[1] = 0x0b;  // ud2
  EXPECT_EQ(kagami_decode(&insn, unknown.data(), unknown.size(), 64), -EINVAL);
  EXPECT_EQ(kagami_insn_copy_bytes(&insn, out, sizeof(out)), 15u);
  EXPECT_EQ(out[0], 0x0f);
  EXPECT_EQ(out[1], 0x0b);
  EXPECT_EQ(kagami_insn_copy_bytes(&insn, out, 4), 4u);
}

}  // namespace
}  // namespace kagami::test
