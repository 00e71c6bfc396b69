// 8259A pair saved state: a pair with requests pending and in service goes on identically in a
// fresh pair; re-asserted inputs change nothing; malformed states are refused and change nothing.
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "bus_access.hpp"
#include "irqchip/i8259.hpp"
#include "state_checks.hpp"

namespace kagami {
namespace {

using testing::inb;
using testing::outb;

constexpr uint16_t kMasterCmd = 0x20, kMasterData = 0x21, kSlaveCmd = 0xa0, kSlaveData = 0xa1,
                   kElcrSlave = 0x4d1;

struct Pic {
  Pic() {
    pic.attach(io);
    pic.set_output_callback([this](bool level) { outputs.push_back(level); });
  }
  Bus io{"io"};
  I8259Pair pic;
  std::vector<bool> outputs;
};

// Linux's init (vectors 0x30/0x38), IRQ 11 level-triggered by ELCR, IRQ 5 masked, priorities
// rotated by OCW2 (IRQ 2 highest); IRQ 3 in service, then IRQs 5 (masked), 8 and 11 requested.
void drive(Pic& p) {
  for (auto [cmd, data, base, wiring] : {std::tuple{kMasterCmd, kMasterData, 0x30, 0x04},
                                         std::tuple{kSlaveCmd, kSlaveData, 0x38, 0x02}}) {
    outb(p.io, cmd, 0x11);
    outb(p.io, data, static_cast<uint8_t>(base));
    outb(p.io, data, static_cast<uint8_t>(wiring));
    outb(p.io, data, 0x01);
  }
  outb(p.io, kElcrSlave, 0x08);
  outb(p.io, kMasterData, 0x20);
  outb(p.io, kMasterCmd, 0xc1);  // lowest priority: IRQ 1
  p.pic.irq(3).set_level(true);
  p.pic.acknowledge();
  p.pic.irq(5).set_level(true);
  p.pic.irq(8).set_level(true);
  p.pic.irq(11).set_level(true);
  outb(p.io, kSlaveCmd, 0x0b);  // read ISR on the slave's command port
}

std::vector<int> continue_with(Pic& p) {
  std::vector<int> seen;
  for (uint16_t port : {kMasterCmd, kMasterData, kSlaveCmd, kSlaveData})
    seen.push_back(inb(p.io, port));
  for (int round = 0; round < 6; ++round) {
    std::optional<uint8_t> vector = p.pic.acknowledge();
    seen.push_back(vector ? *vector : -1);
    outb(p.io, kSlaveCmd, 0x20);
    outb(p.io, kMasterCmd, 0x20);
    if (round == 2) outb(p.io, kMasterData, 0x00);  // unmask IRQ 5
    seen.push_back(p.pic.output());
  }
  p.pic.irq(11).set_level(false);
  p.pic.irq(3).set_level(false);
  p.pic.irq(3).set_level(true);
  seen.push_back(p.pic.acknowledge().value_or(0));
  return seen;
}

TEST(I8259StateTest, ContinuesIdenticallyInAFreshPair) {
  Pic original;
  drive(original);
  ASSERT_TRUE(original.pic.output());

  Pic copy;
  testing::StateNode tree = testing::copy_state(original.pic, copy.pic);
  EXPECT_EQ(copy.outputs, std::vector<bool>{true}) << "INT is reported once";
  // The devices behind the inputs re-assert their levels after the load: nothing changes.
  for (unsigned irq : {3, 5, 8, 11}) copy.pic.irq(irq).set_level(true);
  EXPECT_TRUE(testing::save(copy.pic) == tree);
  EXPECT_EQ(continue_with(copy), continue_with(original));
}

TEST(I8259StateTest, RoundTripsThroughTheFdtStateTree) {
  Pic original;
  drive(original);
  Pic copy;
  testing::copy_state_through_fdt(original.pic, copy.pic, "pic");
  EXPECT_EQ(continue_with(copy), continue_with(original));
}

TEST(I8259StateTest, RefusesMalformedStatesAndStaysAsItWas) {
  Pic original;
  drive(original);
  testing::StateNode tree = testing::save(original.pic);
  Pic target;
  outb(target.io, kMasterData, 0x5a);  // IMR of an uninitialized chip
  using namespace testing;
  expect_each_refused(target.pic, tree,
                      {{without("slave", "isr"), "slave/isr"},
                       {without_node("master"), "master"},
                       {resized("master", "irr", 8), "master/irr"},
                       {set_u32("master", "priority-add", 8), "priority-add"},
                       {set_u32("slave", "init-state", 4), "init-state"},
                       {set_u32("master", "vector-base", 0x31), "vector-base"},
                       {set_u32("master", "elcr", 0x01), "elcr"},  // IRQ 0: edge only
                       {set_u32("slave", "poll", 3), "poll"}});
  EXPECT_EQ(inb(target.io, kMasterData), 0x5a);
  EXPECT_TRUE(target.outputs.empty());
}

}  // namespace
}  // namespace kagami
