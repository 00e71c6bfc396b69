// Random damage to a valid blob: the reader and the dump throw StateError or succeed, never crash.
#include <gtest/gtest.h>

#include <random>

#include "fdt_state.hpp"

namespace kagami {
namespace {

std::vector<uint8_t> rich_blob() {
  FdtStateWriter out(kStateKind);
  out.u64("kvm-clock", 123456789);
  for (int cpu = 0; cpu < 2; cpu++) {
    out.begin_node("cpu@" + std::to_string(cpu));
    out.bytes("regs", std::vector<uint8_t>(144, static_cast<uint8_t>(cpu)));
    out.u32("mp-state", 0);
    out.end_node();
  }
  out.begin_node("devices");
  out.begin_node("serial@3f8");
  out.u32("lcr", 3);
  out.string("name", "com1");
  out.end_node();
  out.end_node();
  return out.finish();
}

// Reads everything the way a machine would; any value may be refused.
void read_all(const std::vector<uint8_t>& blob) {
  FdtStateReader in(blob, kStateKind);
  in.u64("kvm-clock");
  for (int cpu = 0; cpu < 2; cpu++) {
    auto node = in.node("cpu@" + std::to_string(cpu));
    std::vector<uint8_t> regs(144);
    node->bytes("regs", regs);
    node->u32_max("mp-state", 8);
  }
  auto serial = in.node("devices")->node("serial@3f8");
  serial->u8("lcr");
  serial->string("name", 16);
}

TEST(FdtStateFuzz, RandomByteFlipsNeverCrash) {
  const std::vector<uint8_t> good = rich_blob();
  std::mt19937 random(20261123);
  unsigned accepted = 0;
  for (int round = 0; round < 5000; round++) {
    std::vector<uint8_t> blob = good;
    int flips = 1 + static_cast<int>(random() % 4);
    for (int i = 0; i < flips; i++)
      blob[random() % blob.size()] ^= static_cast<uint8_t>(1 + random() % 255);
    if (round % 7 == 0) blob.resize(random() % blob.size());
    try {
      read_all(blob);
      accepted++;
    } catch (const StateError&) {
    }
    try {
      dump_state_text(blob);
    } catch (const StateError&) {
    }
  }
  // Flips inside values pass the structural checks: the reader must have been exercised.
  EXPECT_GT(accepted, 0u);
}

}  // namespace
}  // namespace kagami
