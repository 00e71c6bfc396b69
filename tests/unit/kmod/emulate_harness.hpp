// Test harness for the kmod x86 MMIO emulator: guest registers, a fake RAM, one instruction at a
// time.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

extern "C" {
#include "emulate.h"
}

namespace kagami::test {

using Bytes = std::vector<uint8_t>;

// Instruction bytes assembled by the host `as`, with the assembly they came from.
struct Encoded {
  Bytes bytes;
  const char* text;
};

inline constexpr uint64_t kMmioGpa = 0xfebc1234;
inline constexpr uint64_t kRamBase = 0x100000;  // linear addresses of the fake guest RAM
inline constexpr uint64_t kRamSize = 0x1000;

// Little-endian value of the first len bytes.
inline uint64_t le_value(const uint8_t* data, unsigned len) {
  uint64_t v = 0;
  for (unsigned i = len; i-- > 0;) v = (v << 8) | data[i];
  return v;
}

// One vCPU's registers and RAM around a struct kagami_emul; linear [kRamBase, +kRamSize) is RAM.
class EmulHarness {
 public:
  EmulHarness() {
    emul.regs = &regs;
    emul.ops = &ops_;
    emul.ctx = this;
    regs.rflags = 0x2;
  }

  int decode(const Bytes& bytes, int mode) {
    return kagami_decode(&emul.insn, bytes.data(), static_cast<unsigned>(bytes.size()), mode);
  }

  // Decode (which must succeed) and start emulating an access that faulted at kMmioGpa.
  int start(const Bytes& bytes, int mode) {
    int ret = decode(bytes, mode);
    EXPECT_EQ(ret, 0) << "decode failed";
    if (ret) return ret;
    return kagami_emulate_mmio(&emul, kMmioGpa);
  }

  // Answer the pending read with value, as userspace would.
  int complete(uint64_t value) {
    uint8_t data[8];
    for (unsigned i = 0; i < 8; ++i) data[i] = static_cast<uint8_t>(value >> (8 * i));
    return kagami_emulate_complete(&emul, data, emul.mmio.len);
  }

  uint64_t written() const { return le_value(emul.mmio.data, emul.mmio.len); }
  uint64_t ram_value(uint64_t linear, unsigned len) const {
    return le_value(&ram[linear - kRamBase], len);
  }

  kagami_emul_regs regs{};
  kagami_emul emul{};
  std::vector<uint8_t> ram = std::vector<uint8_t>(kRamSize);
  int ram_reads = 0, ram_writes = 0;

 private:
  static uint8_t* ram_at(void* ctx, uint64_t linear, unsigned len) {
    auto* h = static_cast<EmulHarness*>(ctx);
    if (linear < kRamBase || linear + len > kRamBase + kRamSize) return nullptr;
    return &h->ram[linear - kRamBase];
  }
  static int read_mem(void* ctx, uint64_t linear, void* buf, unsigned len) {
    uint8_t* p = ram_at(ctx, linear, len);
    if (!p) return KAGAMI_MEM_NOT_RAM;
    ++static_cast<EmulHarness*>(ctx)->ram_reads;
    std::memcpy(buf, p, len);
    return 0;
  }
  static int write_mem(void* ctx, uint64_t linear, const void* buf, unsigned len) {
    uint8_t* p = ram_at(ctx, linear, len);
    if (!p) return KAGAMI_MEM_NOT_RAM;
    ++static_cast<EmulHarness*>(ctx)->ram_writes;
    std::memcpy(p, buf, len);
    return 0;
  }

  kagami_emul_ops ops_{read_mem, write_mem};
};

}  // namespace kagami::test
