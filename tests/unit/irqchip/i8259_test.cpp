// 8259A pair: initialization, priorities, EOI forms, cascade, ELCR, spurious IRQs, hostile writes.
#include "irqchip/i8259.hpp"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <vector>

#include "bus_access.hpp"

namespace kagami {
namespace {

using testing::inb;
using testing::outb;

constexpr uint16_t kMasterCmd = 0x20, kMasterData = 0x21, kSlaveCmd = 0xa0, kSlaveData = 0xa1,
                   kElcrMaster = 0x4d0, kElcrSlave = 0x4d1;
constexpr uint8_t kEoi = 0x20, kReadIrr = 0x0a, kReadIsr = 0x0b;

class I8259Test : public ::testing::Test {
 protected:
  I8259Test() {
    pic.attach(io);
    pic.set_output_callback([this](bool level) { output_changes.push_back(level); });
  }

  // Linux's init_8259A: vectors 0x30 and 0x38, cascade on IRQ 2, 8086 mode.
  void init(uint8_t icw4 = 0x01) {
    outb(io, kMasterCmd, 0x11);
    outb(io, kMasterData, 0x30);
    outb(io, kMasterData, 0x04);
    outb(io, kMasterData, icw4);
    outb(io, kSlaveCmd, 0x11);
    outb(io, kSlaveData, 0x38);
    outb(io, kSlaveData, 0x02);
    outb(io, kSlaveData, icw4);
    outb(io, kMasterData, 0x00);
    outb(io, kSlaveData, 0x00);
  }
  uint8_t master_isr() {
    outb(io, kMasterCmd, kReadIsr);
    return inb(io, kMasterCmd);
  }
  uint8_t slave_isr() {
    outb(io, kSlaveCmd, kReadIsr);
    return inb(io, kSlaveCmd);
  }
  uint8_t master_irr() {
    outb(io, kMasterCmd, kReadIrr);
    return inb(io, kMasterCmd);
  }
  void raise(unsigned irq) { pic.irq(irq).set_level(true); }
  void lower(unsigned irq) { pic.irq(irq).set_level(false); }

  Bus io{"io"};
  I8259Pair pic;
  std::vector<bool> output_changes;
};

TEST_F(I8259Test, InitSequenceSetsVectorBases) {
  init();
  raise(1);
  EXPECT_TRUE(pic.output());
  EXPECT_EQ(pic.acknowledge(), 0x31);
  EXPECT_EQ(master_isr(), 0x02);
  EXPECT_FALSE(pic.output());
  outb(io, kMasterCmd, kEoi);
  EXPECT_EQ(master_isr(), 0x00);
}

TEST_F(I8259Test, Icw1ClearsImrIsrAndEdgeRequests) {
  init();
  outb(io, kMasterData, 0xff);
  raise(3);
  EXPECT_EQ(master_irr(), 0x08);
  outb(io, kMasterCmd, 0x11);
  outb(io, kMasterData, 0x20);
  outb(io, kMasterData, 0x04);
  outb(io, kMasterData, 0x01);
  EXPECT_EQ(inb(io, kMasterData), 0x00);
  EXPECT_EQ(master_irr(), 0x00);
  EXPECT_FALSE(pic.output()) << "an edge input still high must rise again";
  lower(3);
  raise(3);
  EXPECT_EQ(pic.acknowledge(), 0x23);
}

TEST_F(I8259Test, SingleModeSkipsIcw3) {
  outb(io, kMasterCmd, 0x13);  // single, ICW4 needed
  outb(io, kMasterData, 0x50);
  outb(io, kMasterData, 0x01);  // ICW4, not ICW3
  outb(io, kMasterData, 0xfd);  // OCW1 now: only IRQ 1 unmasked
  EXPECT_EQ(inb(io, kMasterData), 0xfd);
  raise(1);
  EXPECT_EQ(pic.acknowledge(), 0x51);
}

TEST_F(I8259Test, WithoutIcw4TheIcw4FunctionsAreCleared) {
  init(0x03);
  outb(io, kMasterCmd, 0x10);  // cascade, no ICW4
  outb(io, kMasterData, 0x60);
  outb(io, kMasterData, 0x04);
  outb(io, kMasterData, 0x00);  // OCW1
  raise(1);
  EXPECT_EQ(pic.acknowledge(), 0x61);
  EXPECT_EQ(master_isr(), 0x02) << "auto-EOI is off again";
}

TEST_F(I8259Test, LowestIrqHasPriorityAndBlocksLowerOnes) {
  init();
  raise(5);
  raise(3);
  EXPECT_EQ(pic.acknowledge(), 0x33);
  EXPECT_FALSE(pic.output()) << "IRQ 5 waits while IRQ 3 is in service";
  outb(io, kMasterCmd, kEoi);
  EXPECT_TRUE(pic.output());
  EXPECT_EQ(pic.acknowledge(), 0x35);
}

TEST_F(I8259Test, HigherPriorityInterruptsAnInServiceOne) {
  init();
  raise(5);
  EXPECT_EQ(pic.acknowledge(), 0x35);
  raise(3);
  EXPECT_TRUE(pic.output());
  EXPECT_EQ(pic.acknowledge(), 0x33);
  EXPECT_EQ(master_isr(), 0x28);
  outb(io, kMasterCmd, kEoi);  // ends the highest-priority one, IRQ 3
  EXPECT_EQ(master_isr(), 0x20);
}

TEST_F(I8259Test, SlaveInterruptsGoThroughTheCascade) {
  init();
  raise(10);
  EXPECT_TRUE(pic.output());
  EXPECT_EQ(pic.acknowledge(), 0x3a);
  EXPECT_EQ(master_isr(), 0x04);
  EXPECT_EQ(slave_isr(), 0x04);
  outb(io, kSlaveCmd, kEoi);
  outb(io, kMasterCmd, kEoi);
  EXPECT_EQ(master_isr(), 0);
  EXPECT_EQ(slave_isr(), 0);
}

TEST_F(I8259Test, SecondSlaveRequestFollowsTheFirstAfterBothEois) {
  init();
  raise(14);
  raise(12);
  EXPECT_EQ(pic.acknowledge(), 0x3c);
  EXPECT_FALSE(pic.output());
  outb(io, kSlaveCmd, kEoi);
  EXPECT_FALSE(pic.output()) << "the master's IRQ 2 is still in service";
  outb(io, kMasterCmd, kEoi);
  EXPECT_TRUE(pic.output());
  EXPECT_EQ(pic.acknowledge(), 0x3e);
}

TEST_F(I8259Test, ImrMasksRequestsButIrrRecordsThem) {
  init();
  outb(io, kMasterData, 0x08);
  EXPECT_EQ(inb(io, kMasterData), 0x08);
  raise(3);
  EXPECT_FALSE(pic.output());
  EXPECT_EQ(master_irr(), 0x08);
  outb(io, kMasterData, 0x00);
  EXPECT_TRUE(pic.output());
  EXPECT_EQ(pic.acknowledge(), 0x33);
}

TEST_F(I8259Test, EdgeInputNeedsANewRisingEdge) {
  init();
  raise(4);
  EXPECT_EQ(pic.acknowledge(), 0x34);
  outb(io, kMasterCmd, kEoi);
  raise(4);
  EXPECT_FALSE(pic.output());
  lower(4);
  raise(4);
  EXPECT_TRUE(pic.output());
}

TEST_F(I8259Test, EdgeRequestStaysLatchedAfterTheLineFalls) {
  init();
  raise(4);
  lower(4);
  EXPECT_TRUE(pic.output());
  EXPECT_EQ(pic.acknowledge(), 0x34);
}

TEST_F(I8259Test, LevelInputFromElcrRequestsAgainAfterEoi) {
  init();
  outb(io, kElcrMaster, 0x20);
  raise(5);
  EXPECT_EQ(pic.acknowledge(), 0x35);
  outb(io, kMasterCmd, kEoi);
  EXPECT_TRUE(pic.output());
  EXPECT_EQ(pic.acknowledge(), 0x35);
  lower(5);
  outb(io, kMasterCmd, kEoi);
  EXPECT_FALSE(pic.output());
}

TEST_F(I8259Test, WithdrawnRequestMeansNoInta) {
  init();
  outb(io, kElcrMaster, 0x20);
  raise(5);
  EXPECT_TRUE(pic.output());
  lower(5);
  EXPECT_FALSE(pic.output());
  EXPECT_EQ(pic.acknowledge(), std::nullopt);
  EXPECT_EQ(master_isr(), 0);
}

TEST_F(I8259Test, WithdrawnSlaveRequestIsSpuriousIrq15) {
  init();
  outb(io, kElcrSlave, 0x02);  // IRQ 9 level, as the SCI
  raise(9);
  lower(9);  // the master's edge-triggered IRQ 2 stays latched
  EXPECT_TRUE(pic.output());
  EXPECT_EQ(pic.acknowledge(), 0x3f);
  EXPECT_EQ(slave_isr(), 0x00) << "a spurious IRQ sets no ISR bit";
  EXPECT_EQ(master_isr(), 0x04);
}

TEST_F(I8259Test, ElcrKeepsOnlyBitsThatCanBeLevel) {
  outb(io, kElcrMaster, 0xff);
  outb(io, kElcrSlave, 0xff);
  EXPECT_EQ(inb(io, kElcrMaster), 0xf8);
  EXPECT_EQ(inb(io, kElcrSlave), 0xde);
}

TEST_F(I8259Test, AutoEoiLeavesIsrClear) {
  init(0x03);
  raise(6);
  EXPECT_EQ(pic.acknowledge(), 0x36);
  EXPECT_EQ(master_isr(), 0);
  raise(7);
  EXPECT_EQ(pic.acknowledge(), 0x37);
}

TEST_F(I8259Test, SpecificEoiEndsTheNamedIrq) {
  init();
  raise(5);
  pic.acknowledge();
  raise(3);
  pic.acknowledge();
  outb(io, kMasterCmd, 0x65);  // specific EOI for IRQ 5
  EXPECT_EQ(master_isr(), 0x08);
}

TEST_F(I8259Test, SetPriorityRotatesWhoGoesFirst) {
  init();
  outb(io, kMasterCmd, 0xc4);  // IRQ 4 lowest, so IRQ 5 highest
  raise(3);
  raise(5);
  EXPECT_EQ(pic.acknowledge(), 0x35);
}

TEST_F(I8259Test, RotateOnNonSpecificEoiMakesTheServicedIrqLowest) {
  init();
  raise(3);
  EXPECT_EQ(pic.acknowledge(), 0x33);
  outb(io, kMasterCmd, 0xa0);
  raise(1);
  raise(4);
  EXPECT_EQ(pic.acknowledge(), 0x34);
}

TEST_F(I8259Test, RotateInAutoEoiMode) {
  init(0x03);
  outb(io, kMasterCmd, 0x80);
  raise(3);
  EXPECT_EQ(pic.acknowledge(), 0x33);
  raise(1);
  raise(4);
  EXPECT_EQ(pic.acknowledge(), 0x34);
}

TEST_F(I8259Test, PollCommandAcknowledgesThroughARead) {
  init();
  outb(io, kMasterData, 0xff);
  raise(6);
  outb(io, kMasterData, 0x00);
  outb(io, kMasterCmd, 0x0c);
  EXPECT_EQ(inb(io, kMasterCmd), 0x86);
  EXPECT_EQ(master_isr(), 0x40);
  EXPECT_FALSE(pic.output());
  outb(io, kMasterCmd, 0x0c);
  EXPECT_EQ(inb(io, kMasterCmd), 0x00);
}

TEST_F(I8259Test, SpecialMaskModeLetsLowerPrioritiesThrough) {
  init();
  raise(3);
  pic.acknowledge();
  raise(5);
  EXPECT_FALSE(pic.output());
  outb(io, kMasterData, 0x08);
  outb(io, kMasterCmd, 0x68);  // set special mask mode
  EXPECT_TRUE(pic.output());
  EXPECT_EQ(pic.acknowledge(), 0x35);
  outb(io, kMasterCmd, 0x48);  // clear it
}

TEST_F(I8259Test, SpecialFullyNestedModeLetsTheSlaveNest) {
  init(0x11);
  raise(12);
  EXPECT_EQ(pic.acknowledge(), 0x3c);
  raise(9);
  EXPECT_TRUE(pic.output());
  EXPECT_EQ(pic.acknowledge(), 0x39);
}

TEST_F(I8259Test, OutputCallbackReportsEveryChange) {
  init();
  raise(1);
  pic.acknowledge();
  outb(io, kMasterCmd, kEoi);
  EXPECT_EQ(output_changes, (std::vector<bool>{true, false}));
}

TEST_F(I8259Test, ResetReturnsToPowerOnState) {
  init();
  outb(io, kElcrMaster, 0x20);
  outb(io, kMasterData, 0x12);
  raise(3);
  pic.acknowledge();
  pic.reset();
  EXPECT_FALSE(pic.output());
  EXPECT_EQ(master_isr(), 0);
  EXPECT_EQ(inb(io, kMasterData), 0);
  EXPECT_EQ(inb(io, kElcrMaster), 0);
  lower(3);
  raise(3);
  EXPECT_EQ(pic.acknowledge(), 0x03) << "vector base 0 until the guest initializes the chip";
}

TEST_F(I8259Test, CascadeInputCannotBeDrivenFromOutside) {
  init();
  raise(2);
  EXPECT_FALSE(pic.output());
  EXPECT_THROW(pic.irq(16), std::out_of_range);
}

// Nothing a guest writes makes a request out of thin air: with every input low, no sequence of
// port writes raises INT or yields a vector.
TEST_F(I8259Test, HostileWritesNeverRaiseIntWithoutInputs) {
  std::mt19937 random(11);
  const uint16_t ports[] = {kMasterCmd, kMasterData, kSlaveCmd,
                            kSlaveData, kElcrMaster, kElcrSlave};
  for (int i = 0; i < 50000; ++i) {
    uint16_t port = ports[random() % 6];
    if (random() % 3 == 0) {
      inb(io, port);
    } else {
      outb(io, port, static_cast<uint8_t>(random()));
    }
    ASSERT_FALSE(pic.output()) << "after " << i;
    ASSERT_EQ(pic.acknowledge(), std::nullopt);
  }
  EXPECT_TRUE(output_changes.empty());
}

// With inputs moving too: no crash, and every vector handed out belongs to a chip's base.
TEST_F(I8259Test, HostileWritesWithActiveInputs) {
  std::mt19937 random(12);
  const uint16_t ports[] = {kMasterCmd, kMasterData, kSlaveCmd,
                            kSlaveData, kElcrMaster, kElcrSlave};
  for (int i = 0; i < 50000; ++i) {
    switch (random() % 4) {
      case 0: outb(io, ports[random() % 6], static_cast<uint8_t>(random())); break;
      case 1: inb(io, ports[random() % 6]); break;
      case 2: pic.irq(random() % 16).set_level(random() & 1); break;
      default: {
        bool output = pic.output();
        std::optional<uint8_t> vector = pic.acknowledge();
        EXPECT_EQ(vector.has_value(), output);
        break;
      }
    }
  }
}

}  // namespace
}  // namespace kagami
